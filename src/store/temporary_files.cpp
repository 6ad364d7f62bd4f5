// pop3kit::store — TemporaryFiles: the temporary files to remove on a signal.
#include "pop3kit/temporary_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace pop3kit::store {

int TemporaryFiles::create(int dir_fd, std::string_view name, int flags, mode_t mode) noexcept {
  try {
    std::string path(name);
    std::lock_guard lock(mu_);
    if (closed_) {
      errno = ECANCELED;
      return -1;
    }
    files_.reserve(files_.size() + 1);  // no allocation failure once the file exists
    // Under the lock: remove_all() sees the file, or runs before it exists
    // (and then it is never created).
    const int fd = ::openat(dir_fd, path.c_str(), flags, mode);
    if (fd >= 0) files_.emplace_back(dir_fd, std::move(path));
    return fd;
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
}

void TemporaryFiles::forget(int dir_fd, std::string_view name) noexcept {
  std::lock_guard lock(mu_);
  const auto it = std::find_if(files_.begin(), files_.end(), [&](const auto& f) {
    return f.first == dir_fd && f.second == name;
  });
  if (it != files_.end()) files_.erase(it);
}

void TemporaryFiles::remove_all() noexcept {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (const auto& [dir_fd, name] : files_)
    ::unlinkat(dir_fd, name.c_str(), 0);
  files_.clear();
}

std::size_t TemporaryFiles::size() const noexcept {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace pop3kit::store
