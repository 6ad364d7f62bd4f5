# `pop3kit --version` prints the project's version (project(VERSION) in
# CMake) and nothing else, and exits 0:
#   cmake -DPOP3KIT=<binary> -DEXPECTED=<version> -P version.cmake
execute_process(COMMAND "${POP3KIT}" --version
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "pop3kit --version exited with ${status}: ${err}")
endif()
string(REGEX REPLACE "\n$" "" out "${out}")
if(NOT out STREQUAL EXPECTED)
  message(FATAL_ERROR "pop3kit --version printed '${out}', CMake's version is '${EXPECTED}'")
endif()
message(STATUS "pop3kit --version: ${out}")
