// pop3kit command — writing to standard output, binary-safe and checked.
//
// Everything the command prints on standard output goes through here, with
// write(2) on descriptor 1 and no stdio buffer: a message body is written
// byte for byte, and a failed write (EPIPE when the reader went away, ENOSPC
// when the disk is full) is seen at the write that failed, not lost in a
// buffer flushed at exit. SIGPIPE is ignored in main() so that EPIPE arrives
// as an error instead of killing the process.
#pragma once

#include <string_view>
#include <system_error>

namespace pop3kit::cli {

/// Writes all of `data` to standard output. Returns the errno of a failed
/// write, or {} on success.
std::error_code write_stdout(std::string_view data) noexcept;

/// Same, but throws Failure (exit 74) naming the problem on error.
void print_stdout(std::string_view data);

}  // namespace pop3kit::cli
