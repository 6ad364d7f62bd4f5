# Warnings as errors for pop3kit's own targets (not for consumers).
option(POP3KIT_WERROR "Treat warnings in pop3kit's own targets as errors" ON)

function(pop3kit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                                           -Wconversion -Wsign-conversion -Wno-sign-conversion)
  if(POP3KIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # GCC 12 reports false positives inside std::string once it inlines at -O3
  # (Release): -Wrestrict for "[" + s + "]" (GCC bug 105329) and
  # -Wmaybe-uninitialized for a moved-into std::string. GCC 13 fixed them.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict
                           $<$<CONFIG:Release,MinSizeRel>:-Wno-maybe-uninitialized>)
  endif()
endfunction()
