// pop3kit command — exit codes and the one exception type the command uses.
//
// Exit codes follow sysexits(3) so that cron jobs and scripts can tell "try
// again later" (75) from "fix your configuration" (78) without parsing text.
#pragma once

#include <stdexcept>
#include <string>

#include "pop3kit/error.hpp"

namespace pop3kit::cli {

/// sysexits(3) values. Spelled out here rather than taken from <sysexits.h>
/// so that the mapping is visible in one place and testable.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int usage = 64;        // EX_USAGE: bad command line or URL.
inline constexpr int no_host = 68;      // EX_NOHOST: the host name does not resolve.
inline constexpr int unavailable = 69;  // EX_UNAVAILABLE: refused, or the server said -ERR.
inline constexpr int software = 70;     // EX_SOFTWARE: a bug in pop3kit.
inline constexpr int os_error = 71;     // EX_OSERR: the system refused what pop3kit needs.
inline constexpr int cant_create = 73;  // EX_CANTCREAT: cannot create the output directory.
inline constexpr int io_error = 74;     // EX_IOERR: cannot write the output.
inline constexpr int temp_fail = 75;    // EX_TEMPFAIL: try again later.
inline constexpr int protocol = 76;     // EX_PROTOCOL: the server broke POP3.
inline constexpr int no_perm = 77;      // EX_NOPERM: login refused.
inline constexpr int config = 78;       // EX_CONFIG: missing password, unsafe or unsupported setup.
}  // namespace exit_code

/// Thrown anywhere in the command to stop with `code` and print `what()` as
/// the single error line. The library never throws; the command does, so that
/// each step reads as a straight line instead of a ladder of checks.
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// The exit code for a library error. See the EXIT STATUS part of --help,
/// which must be kept in step with this function.
int exit_code_for(const Error& error) noexcept;

/// A Failure for a library error: its exit code and its message, prefixed by
/// `context` ("RETR 3: ") when that is not empty.
Failure failure_from(const Error& error, const std::string& context = {});

/// The EXIT STATUS text shown by --help.
const char* exit_status_help() noexcept;

}  // namespace pop3kit::cli
