// The state store's per-account locks: one flock(2)ed file per account in
// a directory beside the database. See pop3kit/state.hpp.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "pop3kit/state.hpp"
#include "pop3kit/text.hpp"
#include "state_detail.hpp"

namespace pop3kit::store {

using detail::display_name;
using detail::file_error;

namespace {

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return {buf.data(), n};
}

// What the holder wrote into the lock file: its first line.
std::string read_holder(int fd) {
  std::array<char, 512> buf{};
  const ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return {};
  std::string_view text(buf.data(), static_cast<std::size_t>(n));
  text = text.substr(0, text.find('\n'));
  return sanitize(text);
}

}  // namespace

// --- AccountLock -------------------------------------------------------------

AccountLock::~AccountLock() {
  if (fd_ < 0) return;
  // Empty the holder line while still holding the lock, so that the file of
  // a free lock names nobody; closing releases the flock.
  if (::ftruncate(fd_, 0) != 0) {
    // Only the informational line is left behind; the lock goes anyway.
  }
  ::close(fd_);
}

AccountLock::AccountLock(AccountLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

AccountLock& AccountLock::operator=(AccountLock&& other) noexcept {
  if (this != &other) {
    AccountLock old(std::move(*this));
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Result<AccountLock> StateStore::lock(const AccountId& account, std::chrono::milliseconds wait) {
  // One directory beside the database, so that two databases (tests, a
  // second configuration) do not share locks, and a file per account named
  // by a hash: the key holds server-given text that is no file name.
  const std::string dir = path_ + ".locks";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return file_error(path_, "cannot create the lock directory " + sanitize(dir, 400),
                      std::strerror(errno));
  }
  const std::string hash = sha256_hex(account.key());
  if (hash.empty()) return file_error(path_, "cannot hash the account key (OpenSSL SHA-256)");
  const std::string file = dir + "/" + hash + ".lock";
  AccountLock lock;
  lock.fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock.fd_ < 0) {
    return file_error(path_, "cannot open the lock file " + sanitize(file, 400),
                      std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) {
      return file_error(path_, "cannot lock " + sanitize(file, 400), std::strerror(errno));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      std::string holder = read_holder(lock.fd_);
      if (holder.empty()) holder = "another process (lock file " + sanitize(file, 400) + ")";
      return Error(errc::temporary_failure,
                   "account " + display_name(account) + " is being fetched by " + holder);
    }
    // Polling: flock has no timeout, and a thread blocked in it could not
    // be woken at the deadline.
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        deadline - now, std::chrono::milliseconds(25)));
  }
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  const std::string line = "pid " + std::to_string(::getpid()) + " on " + sanitize(host.data()) +
                           " since " + utc_now() + "\n";
  // Best effort: the line only names the holder to whoever waits; the
  // flock is what excludes, and a full disk must not stop the fetch here.
  if (::pwrite(lock.fd_, line.data(), line.size(), 0) == static_cast<ssize_t>(line.size())) {
    if (::ftruncate(lock.fd_, static_cast<off_t>(line.size())) != 0) {
      // The line is written; a longer old one only leaves text after it.
    }
  }
  return lock;
}

}  // namespace pop3kit::store
