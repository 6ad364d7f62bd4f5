/// pop3kit — a record of the temporary files a program has open, so that it
/// can remove them when a signal ends it.
///
/// A DirectoryWriter (pop3kit/directory_writer.hpp) writes each message under
/// a temporary name and renames it when it is complete. A process ended by
/// SIGINT, SIGTERM or SIGHUP runs no destructor, so the file would stay. The
/// library installs no signal handler (that is the program's business);
/// instead a writer given a TemporaryFiles creates its files through it, and
/// the program, on such a signal, calls remove_all() and then ends itself
/// with the signal (the pop3kit command does this on a thread that waits for
/// the signals; see apps/pop3kit/signals.hpp).
///
/// remove_all() takes a mutex: call it from an ordinary thread (one that
/// waits for the signals with sigwait(2) or a signalfd), never from inside a
/// signal handler. Creating a file and recording it is one step with respect
/// to remove_all(): every file create() made is either removed by it or was
/// already forgotten, and no file is created after it.
///
/// @file
/// @ingroup fetch
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pop3kit/export.hpp"

namespace pop3kit::store {

/// The record of temporary files (see the file comment). Thread-safe.
class POP3KIT_EXPORT TemporaryFiles {
 public:
  TemporaryFiles() = default;
  TemporaryFiles(const TemporaryFiles&) = delete;
  TemporaryFiles& operator=(const TemporaryFiles&) = delete;

  /// openat(dir_fd, name, flags, mode), and records DIR_FD/NAME when that
  /// succeeds. `dir_fd` must stay open until forget(). Returns the new
  /// descriptor, or -1 with errno set; ECANCELED once remove_all() ran.
  int create(int dir_fd, std::string_view name, int flags, mode_t mode) noexcept;

  /// The caller renamed or removed DIR_FD/NAME: no longer removed by
  /// remove_all().
  void forget(int dir_fd, std::string_view name) noexcept;

  /// Removes (unlinkat) every file recorded and not forgotten, and makes
  /// every later create() fail: for a program that is about to end.
  void remove_all() noexcept;

  /// Files recorded and not forgotten.
  std::size_t size() const noexcept;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<int, std::string>> files_;
  bool closed_ = false;
};

}  // namespace pop3kit::store
