// Test helper: runs the built pop3kit binary and captures what it did.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pop3kit::test {

struct RunResult {
  int exit_code = -1;  ///< Exit status, or 128 + signal number.
  std::string out;     ///< Standard output, byte for byte.
  std::string err;     ///< Standard error.
};

/// Where the child's standard output goes.
enum class StdoutTo {
  capture,      ///< A temporary file, returned in RunResult::out.
  dev_full,     ///< /dev/full: every write fails with ENOSPC.
  closed_pipe,  ///< A pipe whose read end is closed: writes fail with EPIPE.
  closed,       ///< Not open at all (as after "pop3kit ... >&-").
  fd,           ///< RunOptions::stdout_fd (a socket or pipe of the test's).
};

struct RunOptions {
  /// Environment changes: a value sets the variable, nullopt removes it.
  /// POP3KIT_PASSWORD and POP3KIT_TOKEN are always removed first unless given here.
  std::map<std::string, std::optional<std::string>> env;
  StdoutTo stdout_to = StdoutTo::capture;
  int timeout_seconds = 60;   ///< Then the child is killed (exit 128 + 9).
  int stdout_fd = -1;         ///< With StdoutTo::fd; the caller closes it.
  bool close_stderr = false;  ///< Start with descriptor 2 closed (RunResult::err stays empty).
  bool close_stdin = false;   ///< Start with descriptor 0 closed.
  /// Standard error is a pseudo-terminal of 100 columns and 30 rows; what
  /// the child wrote to it is RunResult::err (with the terminal's CR LF).
  bool stderr_terminal = false;
};

struct TerminalCapture;

/// A pop3kit started and not yet waited for.
struct Started {
  int pid = -1;
  void* out = nullptr;  ///< The capture files (FILE*), read by finish().
  void* err = nullptr;
  std::shared_ptr<TerminalCapture> terminal;  ///< With RunOptions::stderr_terminal.
  RunOptions options;
};

/// Starts POP3KIT_BIN with `args` and returns at once.
Started start_pop3kit(const std::vector<std::string>& args, const RunOptions& options = {});
/// Waits for it (killing it after options.timeout_seconds) and collects its output.
RunResult finish_pop3kit(Started& started);

/// Runs POP3KIT_BIN (the compile definition) with `args`.
RunResult run_pop3kit(const std::vector<std::string>& args, const RunOptions& options = {});

}  // namespace pop3kit::test
