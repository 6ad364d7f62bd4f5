// pop3kit command — temporary files are removed when SIGINT, SIGTERM or
// SIGHUP ends the command.
//
// A signal's default action ends the process at once: no destructor runs,
// and a message file half written stays in the directory. While a
// CleanupOnSignal lives, those signals are blocked in every thread and
// taken by a thread of its own (a signalfd): it removes the files recorded
// in its TemporaryFiles (pop3kit/temporary_files.hpp), then restores the
// signal's default action and raises it again, so that the command ends as
// the signal would have ended it (a shell sees "killed by SIGINT", status
// 128 + N). The work happens on an ordinary thread, not in a signal
// handler, so the record can be a vector under a mutex, and a file being
// created while the signal arrives is either removed or never made.
//
// A signal ignored when the command started (nohup's SIGHUP) stays ignored.
#pragma once

#include <signal.h>

#include <thread>

#include "pop3kit/temporary_files.hpp"

namespace pop3kit::cli {

class CleanupOnSignal {
 public:
  /// Blocks the signals in the calling thread; threads started after it
  /// (the spooler) inherit that. Construct it before them. Throws Failure
  /// (exit 71) when the signal thread cannot be set up.
  explicit CleanupOnSignal(store::TemporaryFiles& files);
  /// Stops the thread and unblocks the signals: one that arrived after the
  /// files were gone takes its default action then.
  ~CleanupOnSignal();
  CleanupOnSignal(const CleanupOnSignal&) = delete;
  CleanupOnSignal& operator=(const CleanupOnSignal&) = delete;

 private:
  void run() noexcept;

  store::TemporaryFiles& files_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  sigset_t blocked_{};
  sigset_t previous_{};
  std::thread thread_;
};

}  // namespace pop3kit::cli
