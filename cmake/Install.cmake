# Install rules: libraries, public headers, a CMake package exporting the
# namespaced targets (pop3kit::proto, ::auth, ::net, ::session, ::client, the
# umbrella pop3kit::pop3kit, ::store, ::netx and ::async: each one that exists), and a
# pkg-config file.
#
#   find_package(pop3kit CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE pop3kit::pop3kit)
#
#   pkg-config --cflags --libs pop3kit
include(CMakePackageConfigHelpers)

set(POP3KIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/pop3kit" CACHE STRING
    "Where pop3kitConfig.cmake is installed, relative to the prefix")
mark_as_advanced(POP3KIT_CMAKE_DIR)

# Every library target that exists goes into the export set.
set(_pop3kit_install_targets)
set(_pop3kit_layer_targets pop3kit_proto pop3kit_auth pop3kit_net pop3kit_session pop3kit_client)
foreach(_t IN ITEMS ${_pop3kit_layer_targets} pop3kit_umbrella pop3kit_store pop3kit_netx
                  pop3kit_async)
  if(TARGET ${_t})
    list(APPEND _pop3kit_install_targets ${_t})
  endif()
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
# The umbrella's libraries for pkg-config, a library before those it uses.
set(POP3KIT_PC_LIBS)
foreach(_t IN LISTS _pop3kit_layer_targets)
  if(TARGET ${_t})
    get_target_property(_out ${_t} OUTPUT_NAME)
    list(PREPEND POP3KIT_PC_LIBS "-l${_out}")
  endif()
endforeach()
list(JOIN POP3KIT_PC_LIBS " " POP3KIT_PC_LIBS)
configure_file("${CMAKE_CURRENT_LIST_DIR}/pop3kit.pc.in" "${PROJECT_BINARY_DIR}/pop3kit.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/pop3kit.pc"
  DESTINATION ${_pop3kit_pc_dir}
  COMPONENT pop3kit_development)

unset(_pop3kit_install_targets)
unset(_pop3kit_layer_targets)
unset(_out)
unset(_pop3kit_pc_dir)
unset(_pop3kit_pc_parts)
