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
//
// A many-account fetch winds down instead (stop_gracefully()): the first
// signal asks every session to end (what was stored is made durable and
// recorded, nothing more is deleted), the summary is printed, and the
// command then ends as the signal would have; a second signal ends it at
// once, as above.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <mutex>
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

  /// From now on the first signal calls `stop` (on the signal thread: it
  /// must be quick, thread-safe and not throw) instead of ending the
  /// command; a second one ends it at once.
  void stop_gracefully(std::function<void(int)> stop);
  /// The signal that asked to stop, or 0.
  int stopped_by() const noexcept { return stopped_by_.load(); }
  /// Removes the temporary files and ends the process as the signal
  /// stopped_by() would have (its default action).
  [[noreturn]] void end_as_signalled();

 private:
  void run() noexcept;
  [[noreturn]] void die(int sig) noexcept;

  store::TemporaryFiles& files_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  sigset_t blocked_{};
  sigset_t previous_{};
  std::mutex mu_;
  std::function<void(int)> stop_;  // under mu_
  std::atomic<int> stopped_by_{0};
  std::thread thread_;
};

}  // namespace pop3kit::cli
