// pop3kit::store — the three Destination kinds and what they share.
#pragma once

#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pop3kit/delivery.hpp"
#include "pop3kit/error.hpp"

namespace pop3kit::store::detail {

/// `path` absolute and normalised (parse_destination did that).
std::unique_ptr<Destination> make_maildir(std::string path, TemporaryFiles* temporary_files);
std::unique_ptr<Destination> make_mbox(std::string path, std::chrono::milliseconds lock_wait);
std::unique_ptr<Destination> make_mda(std::string command, bool keep_crlf,
                                      std::chrono::milliseconds limit);

/// Writes are gathered into blocks of this size: one write(2) per block,
/// however small the engine's chunks (a chunk ends at every dot-stuffed line).
inline constexpr std::size_t kWriteBlock = 128 * 1024;

/// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  /// Closes and says how it went (close(2) is where NFS reports write errors).
  int close() noexcept {
    const int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

/// errc::sink_failed with "KIND PATH: WHAT: <the system's reason for err>".
Error sink_error(std::string_view kind, std::string_view path, std::string_view what, int err);

/// Writes all of `data` at `offset` (pwrite) or, with offset < 0, at the
/// file position; retries short writes and EINTR. Returns 0 or errno.
int write_all(int fd, std::string_view data, off_t offset = -1) noexcept;

/// Moves FROM_DIR/FROM to TO_DIR/TO without ever replacing a file there:
/// renameat2(RENAME_NOREPLACE), or, on a file system without it (EINVAL,
/// ENOSYS; remembered in `no_renameat2`), linkat(2) then unlinkat(2) of FROM,
/// which refuses an existing TO too. Returns 0 or errno (EEXIST when TO is
/// taken; FROM is then left where it was).
int move_no_replace(int from_dir, const char* from, int to_dir, const char* to,
                    bool& no_renameat2) noexcept;

}  // namespace pop3kit::store::detail
