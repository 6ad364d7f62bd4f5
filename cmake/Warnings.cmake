# Warnings as errors for pop3kit's own targets (not for consumers).
function(pop3kit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                                           -Wconversion -Wsign-conversion -Wno-sign-conversion)
endfunction()
