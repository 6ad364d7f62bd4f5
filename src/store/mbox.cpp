// pop3kit::store — mbox delivery, mboxrd flavour.
//
// Locks: a dot-lock (PATH.lock, created with O_EXCL), taken first as mail
// readers and delivery agents do, then an fcntl write lock (open file
// description lock, so that it conflicts with other processes' POSIX locks
// and is not dropped when this process closes some other descriptor of the
// file). Both are retried every 100 ms for DestinationOptions::lock_wait.
// A dot-lock whose modification time is more than 5 minutes old is taken as
// stale (its owner died) and removed, as liblockfile does; pop3kit touches
// its own lock at least every minute while it holds it, so a long fetch
// never looks stale.
//
// Messages are appended at the end with pwrite at tracked offsets (the
// locks make the end ours). A message that fails, or is aborted, is
// truncated away, so a reader never sees half of one.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <thread>

#include "destinations.hpp"
#include "line_ends.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::store::detail {
namespace {

constexpr std::string_view kKind = "mbox";
constexpr auto kStaleLock = std::chrono::minutes(5);
constexpr auto kTouchEvery = std::chrono::minutes(1);
constexpr auto kRetry = std::chrono::milliseconds(100);

using Clock = std::chrono::steady_clock;

// "From MAILER-DAEMON Thu Nov 24 18:22:48 1986": asctime's format, which is
// the same in every locale.
std::string from_line() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::array<char, 64> buf{};
  std::string line = "From MAILER-DAEMON ";
  if (::asctime_r(&tm, buf.data()) != nullptr) line += buf.data();
  while (!line.empty() && line.back() == '\n')
    line.pop_back();
  return line;
}

bool valid_from_line(std::string_view name) {
  return name.starts_with("From ") &&
         name.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

class Mbox final : public Destination {
 public:
  Mbox(std::string path, std::chrono::milliseconds lock_wait)
      : path_(std::move(path)),
        spec_("mbox:" + path_),
        lock_path_(path_ + ".lock"),
        lock_wait_(lock_wait) {}

  ~Mbox() override {
    abort();
    // Appended but never committed: not delivered, so taken away again.
    if (batch_open_ && fd_) ::ftruncate(fd_.get(), static_cast<off_t>(batch_start_));
    fd_.reset();
    release_dot_lock();
  }
  Mbox(const Mbox&) = delete;
  Mbox& operator=(const Mbox&) = delete;

  const std::string& spec() const noexcept override { return spec_; }
  Durability durability() const noexcept override { return Durability::batched; }

  Result<void> open() override {
    const auto deadline = Clock::now() + lock_wait_;
    if (auto r = take_dot_lock(deadline); !r) return r;
    auto r = open_file(deadline);
    if (!r) {
      fd_.reset();
      release_dot_lock();
    }
    return r;
  }

  Result<Reservation> reserve(std::string_view uid) override {
    if (auto r = usable(); !r) return std::move(r).error();
    if (!batch_open_) {
      // Every message of a batch starts with the same line, so that
      // recover() of any of them recognises the batch's start.
      struct stat st {};
      if (::fstat(fd_.get(), &st) != 0) return fail("cannot read its size", errno);
      batch_start_ = static_cast<std::uint64_t>(st.st_size);
      batch_line_ = from_line();
      batch_open_ = true;
    }
    return Reservation{std::string(uid), batch_line_, batch_start_};
  }

  Result<void> begin(const Reservation& reservation) override {
    if (auto r = usable(); !r) return r;
    if (writing_) return {Error(errc::wrong_state, "mbox " + path_ + ": a message is open")};
    if (!valid_from_line(reservation.name)) {
      return {Error(errc::invalid_argument,
                    "mbox " + path_ + ": not a From_ line: '" + reservation.name + "'")};
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return fail("cannot read its size", errno);
    start_ = static_cast<std::uint64_t>(st.st_size);
    position_ = start_;
    size_ = 0;
    last_ = '\n';
    crlf_.reset();
    quoter_.reset();
    buffer_ = reservation.name;
    buffer_ += '\n';
    writing_ = true;
    touch_lock();
    return {};
  }

  Result<void> write(std::string_view chunk) override {
    if (!writing_) return {Error(errc::wrong_state, "mbox " + path_ + ": no message is open")};
    converted_.clear();
    crlf_.feed(chunk, converted_);
    take_converted();
    if (buffer_.size() >= kWriteBlock) return flush();
    return {};
  }

  Result<Stored> end() override {
    if (!writing_) return {Error(errc::wrong_state, "mbox " + path_ + ": no message is open")};
    converted_.clear();
    crlf_.finish(converted_);
    take_converted();
    quoter_.finish(buffer_);
    if (last_ != '\n') buffer_ += '\n';  // A reader needs the line ended...
    buffer_ += '\n';                     // ...and one empty line before the next From_.
    if (auto r = flush(); !r) return std::move(r).error();
    writing_ = false;
    return Stored{std::to_string(start_), size_};
  }

  void abort() noexcept override {
    if (!writing_) return;
    writing_ = false;
    buffer_.clear();
    ::ftruncate(fd_.get(), static_cast<off_t>(start_));
  }

  Result<void> commit() override {
    if (auto r = usable(); !r) return r;
    if (writing_) return {Error(errc::wrong_state, "mbox " + path_ + ": a message is open")};
    if (!batch_open_) return {};
    if (::fdatasync(fd_.get()) != 0) {
      // What was written may be lost whatever a later fdatasync says (the
      // kernel reports a write-back error once): take the batch away and
      // refuse to go on, so that no later batch lands where recover() of
      // this one would truncate.
      broken_ = fail("cannot flush it to disk", errno);
      ::ftruncate(fd_.get(), static_cast<off_t>(batch_start_));
      return {*broken_};
    }
    if (created_) {
      // A new file's directory entry must be durable too, once.
      if (const int err = sync_parent(); err != 0) return fail("cannot flush its directory", err);
      created_ = false;
    }
    batch_open_ = false;
    touch_lock();
    return {};
  }

  Result<std::optional<Stored>> recover(const Reservation& reservation) override {
    if (auto r = usable(); !r) return std::move(r).error();
    if (!valid_from_line(reservation.name)) {
      return {Error(errc::invalid_argument,
                    "mbox " + path_ + ": not a From_ line: '" + reservation.name + "'")};
    }
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return fail("cannot read its size", errno);
    const std::string expected = reservation.name + "\n";
    if (static_cast<std::uint64_t>(st.st_size) <= reservation.offset)
      return std::optional<Stored>{};
    std::string found(expected.size(), '\0');
    const ssize_t n =
        ::pread(fd_.get(), found.data(), found.size(), static_cast<off_t>(reservation.offset));
    if (n < 0) return fail("cannot read it", errno);
    found.resize(static_cast<std::size_t>(n));
    // A batch cut inside its first From_ line (a kill between two writes, a
    // power cut) left only the start of that line: cut it too, or the next
    // batch's From_ line would be glued to it.
    if (found.size() < expected.size() &&
        static_cast<std::uint64_t>(st.st_size) - reservation.offset == found.size() &&
        expected.starts_with(found)) {
      if (::ftruncate(fd_.get(), static_cast<off_t>(reservation.offset)) != 0) {
        return fail("cannot truncate an interrupted delivery", errno);
      }
      if (::fdatasync(fd_.get()) != 0) return fail("cannot flush it to disk", errno);
      return std::optional<Stored>{};
    }
    if (found == expected) {
      // The interrupted batch is there, maybe partly: an mbox cannot show
      // that a message is complete, so all of it goes and is fetched again.
      // Unless another program appended after it (it took the lock after the
      // crash): then nothing is cut, since its mail would go too; the batch
      // stays and may be delivered twice, which loses nothing.
      auto only_ours = only_batch_after(reservation.offset, reservation.name,
                                        static_cast<std::uint64_t>(st.st_size));
      if (!only_ours) return std::move(only_ours).error();
      if (!*only_ours) return std::optional<Stored>{};
      if (::ftruncate(fd_.get(), static_cast<off_t>(reservation.offset)) != 0) {
        return fail("cannot truncate an interrupted delivery", errno);
      }
      if (::fdatasync(fd_.get()) != 0) return fail("cannot flush it to disk", errno);
    }
    return std::optional<Stored>{};
  }

 private:
  Error fail(std::string_view what, int err) const { return sink_error(kKind, path_, what, err); }

  // True when every "From " line from `offset` to `end` is `from_line`: the
  // messages there are the interrupted batch's (mboxrd quotes every "From "
  // inside a message, so a separator line is a message start).
  Result<bool> only_batch_after(std::uint64_t offset, const std::string& from_line,
                                std::uint64_t end) const {
    std::string block(kWriteBlock, '\0');
    std::string line;  // the current line's start, up to the From_ line's length
    bool at_start = true;
    for (std::uint64_t at = offset; at < end;) {
      const ssize_t n = ::pread(fd_.get(), block.data(), block.size(), static_cast<off_t>(at));
      if (n < 0) return fail("cannot read it", errno);
      if (n == 0) break;
      for (const char c : std::string_view(block.data(), static_cast<std::size_t>(n))) {
        if (c == '\n') {
          if (line.starts_with("From ") && line != from_line) return false;
          line.clear();
          at_start = true;
          continue;
        }
        if (at_start && line.size() <= from_line.size()) line += c;
        if (line.size() > from_line.size()) at_start = false;
      }
      at += static_cast<std::uint64_t>(n);
    }
    return !(line.starts_with("From ") && line != from_line);
  }

  Result<void> usable() const {
    if (broken_) return {*broken_};
    if (!fd_) return {Error(errc::wrong_state, "mbox " + path_ + ": not opened")};
    return {};
  }

  void take_converted() {
    if (converted_.empty()) return;
    size_ += converted_.size();
    last_ = converted_.back();
    quoter_.feed(converted_, buffer_);
  }

  Result<void> flush() {
    if (const int err = write_all(fd_.get(), buffer_, static_cast<off_t>(position_)); err != 0) {
      writing_ = false;
      buffer_.clear();
      std::string what = "cannot append a message";
      if (::ftruncate(fd_.get(), static_cast<off_t>(start_)) != 0) {
        what += " (and cannot truncate it away: " + std::system_category().message(errno) + ")";
      }
      return fail(what, err);
    }
    position_ += buffer_.size();
    buffer_.clear();
    return {};
  }

  // The lock appears with its holder's pid already in it (as liblockfile
  // does it): the pid is written to a file of our own, which is then
  // linked to PATH.lock. Created empty and written after, a kill in
  // between would leave a lock nobody can judge, blocking every run for
  // the stale-lock age.
  Result<void> take_dot_lock(Clock::time_point deadline) {
    const std::string mine = lock_path_ + "." + std::to_string(::getpid()) + ".new";
    ::unlink(mine.c_str());  // ours from an earlier run of this pid
    lock_fd_.reset(
        ::open(mine.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!lock_fd_) return fail("cannot create the lock " + sanitize(mine, 400), errno);
    if (const int err = write_all(lock_fd_.get(), std::to_string(::getpid()) + "\n"); err != 0) {
      lock_fd_.reset();
      ::unlink(mine.c_str());
      return fail("cannot write the lock " + sanitize(mine, 400), err);
    }
    for (;;) {
      if (::link(mine.c_str(), lock_path_.c_str()) == 0) break;
      if (errno != EEXIST) {
        const int err = errno;
        lock_fd_.reset();
        ::unlink(mine.c_str());
        return fail("cannot create the lock " + sanitize(lock_path_, 400), err);
      }
      struct stat st {};
      if (::lstat(lock_path_.c_str(), &st) == 0 &&
          (std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime) >
               kStaleLock ||
           holder_is_gone())) {
        ::unlink(lock_path_.c_str());
        continue;
      }
      if (Clock::now() >= deadline) {
        lock_fd_.reset();
        ::unlink(mine.c_str());
        return {Error(errc::temporary_failure, "mbox " + sanitize(path_, 400) +
                                                   ": locked by another program (" +
                                                   sanitize(lock_path_, 400) + " exists)")};
      }
      std::this_thread::sleep_for(kRetry);
    }
    ::unlink(mine.c_str());
    touched_ = Clock::now();
    return {};
  }

  // The lock names its holder's pid (as liblockfile and procmail write it):
  // a holder that no longer exists (a fetcher killed with SIGKILL) left a
  // stale lock, which need not block the next run for minutes. A lock
  // without a pid, or whose pid lives, is left to the age rule.
  bool holder_is_gone() const noexcept {
    UniqueFd fd(::open(lock_path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return false;
    char buf[32] = {};
    const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n <= 0) return false;
    char* end = nullptr;
    const long pid = std::strtol(buf, &end, 10);
    if (pid <= 0 || (*end != '\n' && *end != '\0')) return false;
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
  }

  void release_dot_lock() noexcept {
    if (!lock_fd_) return;
    // Only if the name is still our lock (not one that replaced it after
    // someone judged ours stale).
    struct stat mine {};
    struct stat there {};
    if (::fstat(lock_fd_.get(), &mine) == 0 && ::lstat(lock_path_.c_str(), &there) == 0 &&
        mine.st_dev == there.st_dev && mine.st_ino == there.st_ino) {
      ::unlink(lock_path_.c_str());
    }
    lock_fd_.reset();
  }

  void touch_lock() noexcept {
    if (!lock_fd_ || Clock::now() - touched_ < kTouchEvery) return;
    ::futimens(lock_fd_.get(), nullptr);
    touched_ = Clock::now();
  }

  Result<void> open_file(Clock::time_point deadline) {
    // O_NONBLOCK: a FIFO planted at PATH must not block open(); O_NOFOLLOW:
    // nor a symbolic link redirect the appends.
    constexpr int kFlags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    fd_.reset(::open(path_.c_str(), kFlags));
    if (!fd_ && errno == ENOENT) {
      fd_.reset(::open(path_.c_str(), kFlags | O_CREAT | O_EXCL, 0600));
      created_ = static_cast<bool>(fd_);
    }
    if (!fd_) return fail("cannot open it", errno);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return fail("cannot open it", errno);
    if (!S_ISREG(st.st_mode)) return fail("cannot use it", EINVAL);
    ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_NONBLOCK);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    while (::fcntl(fd_.get(), F_OFD_SETLK, &lock) != 0) {
      if (errno != EAGAIN && errno != EACCES) return fail("cannot lock it", errno);
      if (Clock::now() >= deadline) {
        return {Error(errc::temporary_failure,
                      "mbox " + sanitize(path_, 400) + ": locked by another program (fcntl)")};
      }
      std::this_thread::sleep_for(kRetry);
    }
    return {};
  }

  int sync_parent() const {
    const std::size_t slash = path_.rfind('/');
    const std::string parent = slash == 0 ? "/" : path_.substr(0, slash);
    UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return errno;
    return ::fsync(dir.get()) == 0 ? 0 : errno;
  }

  std::string path_;
  std::string spec_;
  std::string lock_path_;
  std::chrono::milliseconds lock_wait_;
  UniqueFd fd_;
  UniqueFd lock_fd_;
  Clock::time_point touched_;
  bool created_ = false;
  std::optional<Error> broken_;
  // The batch since the last commit().
  bool batch_open_ = false;
  std::uint64_t batch_start_ = 0;
  std::string batch_line_;
  // The message being written.
  bool writing_ = false;
  std::uint64_t start_ = 0;     ///< Where its From_ line starts.
  std::uint64_t position_ = 0;  ///< Where the next block goes.
  std::uint64_t size_ = 0;      ///< Its octets after CRLF -> LF, before quoting.
  char last_ = '\n';
  CrlfToLf crlf_;
  FromQuoter quoter_;
  std::string converted_;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<Destination> make_mbox(std::string path, std::chrono::milliseconds lock_wait) {
  return std::make_unique<Mbox>(std::move(path), lock_wait);
}

}  // namespace pop3kit::store::detail
