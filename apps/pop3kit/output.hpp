// pop3kit command — what the command prints: data on standard output, checked;
// reports on standard error; the message for an unknown command.
//
// Everything the command prints on standard output goes through here, with
// write(2) on descriptor 1 and no stdio buffer: a message body is written
// byte for byte, and a failed write (EPIPE when the reader went away, ENOSPC
// when the disk is full) is seen at the write that failed, not lost in a
// buffer flushed at exit. SIGPIPE is ignored in main() so that EPIPE arrives
// as an error instead of killing the process.
//
// Standard output carries data only (a listing, a message). A line that only
// says that things went well ("deleted 3 message(s)") is a report: it goes to
// standard error, and -q drops it, so that a cron job that succeeded prints
// nothing and cron mails nothing.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pop3kit::cli {

/// Writes all of `data` to standard output. Returns the errno of a failed
/// write, or {} on success.
std::error_code write_stdout(std::string_view data) noexcept;

/// A message body for standard output (retr, top): the library hands it
/// over in a chunk per dot-stuffed line, so a body of short or ".." lines
/// would cost a write(2) per line. Chunks are gathered into blocks of
/// kBlock octets, one write(2) each; flush() writes the rest. The first
/// failed write is kept and returned by every later call (nothing more is
/// written after it).
class BlockWriter {
 public:
  static constexpr std::size_t kBlock = 64 * 1024;

  explicit BlockWriter(int fd) noexcept : fd_(fd) {}
  std::error_code write(std::string_view data);
  std::error_code flush();

 private:
  int fd_;
  std::string buffer_;
  std::error_code error_;
};

/// Writes `data` to standard output, and
/// throws Failure (exit 74) naming the problem when that fails.
void print_stdout(std::string_view data);

/// Writes a report to standard error. A report that cannot be written loses
/// nothing, so a failure is ignored. Callers skip it with -q.
void print_report(std::string_view text) noexcept;

/// The error message for a subcommand name that is not one of `commands`:
/// `unknown command "lst" (did you mean list?); the commands are capa, stat, ...`
/// (the name sanitised; the suggestion only for a close one).
std::string unknown_command_message(std::string_view name,
                                    const std::vector<std::string>& commands);

/// The command in `commands` closest to `name` (at most two edits away, or a
/// prefix of it, or it a prefix of `name`), or "" when none is close.
std::string closest_command(std::string_view name, const std::vector<std::string>& commands);

}  // namespace pop3kit::cli
