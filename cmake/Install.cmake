# Install rules: two libraries, the public headers, a CMake package and a
# pkg-config file for each library.
#
#   libpop3kit       the C++ API (every layer: proto, auth, net, session,
#                    client, store), pop3kit.pc
#   libpop3kit-netx  the NetX Duo compatible C API, pop3kit-netx.pc
#
# Both are static, or shared with -DBUILD_SHARED_LIBS=ON: then
# libpop3kit.so.0 (SONAME) exports only what the public headers mark
# (POP3KIT_EXPORT, POP3KIT_NETX_API; scripts/check-exports checks it). The
# layer libraries of the tree are not installed.
#
# The CMake package exports pop3kit::pop3kit (libpop3kit) and pop3kit::netx
# (libpop3kit-netx). pop3kit::proto, ::auth, ::net, ::session, ::client and
# ::store remain for programs written against the layer targets: each is an
# INTERFACE target that links pop3kit::pop3kit.
#
#   find_package(pop3kit CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE pop3kit::pop3kit)
#
#   c++ $(pkg-config --cflags pop3kit) app.cpp $(pkg-config --libs pop3kit)
#   (add --static to the --libs for a static libpop3kit)
#
# The version in every file here is project(VERSION) of the top CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(POP3KIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/pop3kit" CACHE STRING
    "Where pop3kitConfig.cmake is installed, relative to the prefix")
mark_as_advanced(POP3KIT_CMAKE_DIR)

# The layer names of the package, onto the one library.
set(_pop3kit_install_targets pop3kit_lib pop3kit_netx_lib)
foreach(_layer IN ITEMS proto auth net session client store)
  add_library(pop3kit_export_${_layer} INTERFACE)
  set_target_properties(pop3kit_export_${_layer} PROPERTIES EXPORT_NAME ${_layer})
  target_link_libraries(pop3kit_export_${_layer} INTERFACE pop3kit_lib)
  list(APPEND _pop3kit_install_targets pop3kit_export_${_layer})
endforeach()

install(TARGETS ${_pop3kit_install_targets}
  EXPORT pop3kitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT pop3kit_development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT pop3kit_runtime
          NAMELINK_COMPONENT pop3kit_development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT pop3kit_runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The pop3kit command, when it is built.
if(TARGET pop3kit)
  install(TARGETS pop3kit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT pop3kit_runtime)
endif()

# Its manual page, pop3kit(1), and its bash completion (loaded on demand by
# bash-completion from share/bash-completion/completions/<command>).
if(TARGET pop3kit)
  install(FILES "${PROJECT_SOURCE_DIR}/doc/pop3kit.1"
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT pop3kit_runtime)
  install(FILES "${PROJECT_SOURCE_DIR}/completions/pop3kit.bash"
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    RENAME pop3kit
    COMPONENT pop3kit_runtime)
endif()

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/pop3kit"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT pop3kit_development
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(EXPORT pop3kitTargets
  NAMESPACE pop3kit::
  FILE pop3kitTargets.cmake
  DESTINATION ${POP3KIT_CMAKE_DIR}
  COMPONENT pop3kit_development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/pop3kitConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/pop3kitConfig.cmake"
  INSTALL_DESTINATION ${POP3KIT_CMAKE_DIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/pop3kitConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/pop3kitConfig.cmake"
  "${PROJECT_BINARY_DIR}/pop3kitConfigVersion.cmake"
  DESTINATION ${POP3KIT_CMAKE_DIR}
  COMPONENT pop3kit_development)

# pkg-config: paths relative to the .pc file, so an installed tree can be moved.
set(_pop3kit_pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(POP3KIT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  # One ".." per component of lib/pkgconfig (or lib/<multiarch>/pkgconfig).
  set(POP3KIT_PC_PREFIX "\${pcfiledir}")
  string(REPLACE "/" ";" _pop3kit_pc_parts "${_pop3kit_pc_dir}")
  foreach(_part IN LISTS _pop3kit_pc_parts)
    if(NOT _part STREQUAL "" AND NOT _part STREQUAL ".")
      string(APPEND POP3KIT_PC_PREFIX "/..")
    endif()
  endforeach()
endif()
foreach(_d IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(POP3KIT_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(POP3KIT_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
# pop3kit.pc carries -std=c++20, as the headers need it. What a static
# library needs besides goes into Requires.private and Libs.private, which
# pkg-config adds for --static. pop3kit-netx.pc is for C programs, so it does
# not require pop3kit (whose Cflags would bring -std=c++20 to a C compiler):
# it names libpop3kit itself, after libpop3kit-netx, so that a linker finds
# it for a library installed outside the system's directories too.
foreach(_pc IN ITEMS pop3kit pop3kit-netx)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_pc}.pc.in" "${PROJECT_BINARY_DIR}/${_pc}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${_pc}.pc"
    DESTINATION ${_pop3kit_pc_dir}
    COMPONENT pop3kit_development)
endforeach()

unset(_pop3kit_install_targets)
unset(_pop3kit_layer_targets)
unset(_pc)
unset(_layer)
unset(_pop3kit_pc_dir)
unset(_pop3kit_pc_parts)
