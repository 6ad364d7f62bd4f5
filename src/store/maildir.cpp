// pop3kit::store — Maildir delivery (https://cr.yp.to/proto/maildir.html).
//
// A message is written to tmp/NAME and ended there; commit() makes the
// batch's data durable with one syncfs(2) on the maildir's file system, then
// moves each file to new/NAME,S=SIZE (never replacing anything), then
// fsyncs new/ and tmp/. Measured on ext4 for 1000 files of 8 KB: syncfs
// 12-15 ms against 325-360 ms for fdatasync of each file (220 ms from 4
// threads); equal for a single file. So a batch costs a few disk flushes
// whatever its size.
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>
#include <vector>

#include "destinations.hpp"
#include "line_ends.hpp"

namespace pop3kit::store::detail {
namespace {

constexpr std::string_view kKind = "maildir";

// The host name part of a unique name: '/' and ':' cannot appear in it
// (the spec's escapes).
std::string host_part() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string out;
  for (const char* c = buf.data(); *c != '\0'; ++c) {
    if (*c == '/') {
      out += "\\057";
    } else if (*c == ':') {
      out += "\\072";
    } else {
      out += *c;
    }
  }
  return out;
}

// A reservation's name comes back from the state store: it is used as one
// file name inside tmp/, new/ and cur/, never as a path.
bool safe_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// "NAME,S=123" in new/, "NAME,S=123:2,FLAGS" in cur/, or NAME alone.
bool names_message(std::string_view entry, std::string_view name) {
  if (!entry.starts_with(name)) return false;
  return entry.size() == name.size() || entry[name.size()] == ',' || entry[name.size()] == ':';
}

// mkdir -p with mode 0700 for what it creates.
int make_directories(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (::mkdir(path.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  return 0;
}

class Maildir final : public Destination {
 public:
  Maildir(std::string path, TemporaryFiles* temporary_files)
      : path_(std::move(path)), spec_("maildir:" + path_), temporary_files_(temporary_files) {}
  ~Maildir() override {
    abort();
    // Ended but never committed: not delivered, so not left behind.
    for (const auto& m : ended_)
      remove_tmp(m.name);
  }
  Maildir(const Maildir&) = delete;
  Maildir& operator=(const Maildir&) = delete;

  const std::string& spec() const noexcept override { return spec_; }
  Durability durability() const noexcept override { return Durability::batched; }

  Result<void> open() override {
    if (const int err = make_directories(path_)) return fail("cannot create it", err);
    root_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_) return fail("cannot open it", errno);
    const std::array<std::pair<const char*, UniqueFd*>, 3> subs{
        {{"tmp", &tmp_}, {"new", &new_}, {"cur", &cur_}}};
    for (const auto& [sub, fd] : subs) {
      if (::mkdirat(root_.get(), sub, 0700) != 0 && errno != EEXIST) {
        return fail(std::string("cannot create ") + sub + "/", errno);
      }
      // O_NOFOLLOW: a symbolic link planted as tmp/ or new/ is refused.
      fd->reset(::openat(root_.get(), sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!*fd) return fail(std::string("cannot open ") + sub + "/", errno);
    }
    // Fail now (before a login) rather than at the first message.
    for (const char* sub : {"tmp", "new"}) {
      if (::faccessat(root_.get(), sub, W_OK | X_OK, AT_EACCESS) != 0) {
        return fail(std::string("cannot write in ") + sub + "/", errno);
      }
    }
    host_ = host_part();
    return {};
  }

  // SECONDS.MmicrosecondsPpidQcounterRrandom.HOST: the spec's unique name.
  Result<Reservation> reserve(std::string_view uid) override {
    if (!tmp_) return not_open();
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    // The random octets are drawn a pool at a time and the process ID read
    // once: two system calls a message less. (A destination is not used
    // across fork(); a name met twice would fail O_EXCL in begin() and the
    // no-replace move, never overwrite.)
    if (random_used_ + kRandomOctets > random_.size()) {
      if (::getrandom(random_.data(), random_.size(), 0) != static_cast<ssize_t>(random_.size())) {
        return fail("cannot get random octets for a unique name", errno);
      }
      random_used_ = 0;
    }
    if (pid_ == 0) pid_ = ::getpid();
    std::array<char, 96> head{};
    const int n = std::snprintf(
        head.data(), head.size(), "%lld.M%ldP%ldQ%lluR", static_cast<long long>(now.tv_sec),
        now.tv_nsec / 1000, static_cast<long>(pid_), static_cast<unsigned long long>(++counter_));
    std::string name(head.data(), static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < kRandomOctets; ++i) {
      const unsigned char b = random_[random_used_ + i];
      name += "0123456789abcdef"[b >> 4U];
      name += "0123456789abcdef"[b & 15U];
    }
    random_used_ += kRandomOctets;
    name += '.';
    name += host_;
    return Reservation{std::string(uid), std::move(name), 0};
  }

  Result<void> begin(const Reservation& reservation) override {
    if (!tmp_) return not_open();
    if (file_) return {Error(errc::wrong_state, "maildir " + path_ + ": a message is open")};
    if (!safe_name(reservation.name)) return bad_name(reservation.name);
    // O_EXCL: never follow or reuse anything already there (a planted
    // symbolic link included).
    constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    file_.reset(temporary_files_ != nullptr
                    ? temporary_files_->create(tmp_.get(), reservation.name, kFlags, 0600)
                    : ::openat(tmp_.get(), reservation.name.c_str(), kFlags, 0600));
    if (!file_) return fail("cannot create tmp/" + reservation.name, errno);
    name_ = reservation.name;
    size_ = 0;
    buffer_.clear();
    crlf_.reset();
    return {};
  }

  Result<void> write(std::string_view chunk) override {
    if (!file_) return {Error(errc::wrong_state, "maildir " + path_ + ": no message is open")};
    crlf_.feed(chunk, buffer_);
    if (buffer_.size() >= kWriteBlock) return flush();
    return {};
  }

  Result<Stored> end() override {
    if (!file_) return {Error(errc::wrong_state, "maildir " + path_ + ": no message is open")};
    crlf_.finish(buffer_);
    if (auto r = flush(); !r) return std::move(r).error();
    if (file_.close() != 0) {
      const int err = errno;
      remove_current();
      return fail("cannot write tmp/" + name_, err);
    }
    Ended m{std::move(name_), {}};
    m.final_name = m.name + ",S=" + std::to_string(size_);
    Stored stored{"new/" + m.final_name, size_};
    ended_.push_back(std::move(m));
    return stored;
  }

  void abort() noexcept override {
    if (file_) remove_current();
  }

  Result<void> commit() override {
    auto job = seal();
    if (!job) return std::move(job).error();
    return (*job)();
  }

  // The job touches only the batch it was given and the directories, which
  // stay open while the destination lives: later messages can be written in
  // tmp/ meanwhile.
  Result<CommitJob> seal() override {
    if (file_) return {Error(errc::wrong_state, "maildir " + path_ + ": a message is open")};
    if (ended_.empty()) return CommitJob([] { return Result<void>(); });
    return CommitJob([this, batch = std::exchange(ended_, {})] { return commit_batch(batch); });
  }

  // syncfs(2) on tmp/ flushes every file of that file system.
  bool flush_covers(const std::string& path) const noexcept override {
    struct stat here {};
    struct stat there {};
    return tmp_ && ::fstat(tmp_.get(), &here) == 0 && ::stat(path.c_str(), &there) == 0 &&
           here.st_dev == there.st_dev;
  }

  Result<std::optional<Stored>> recover(const Reservation& reservation) override {
    if (!tmp_) return not_open();
    if (!safe_name(reservation.name)) return bad_name(reservation.name);
    std::optional<Stored> found;
    for (const auto& [sub, fd] : {std::pair{"new", &new_}, std::pair{"cur", &cur_}}) {
      auto entry = find_entry(fd->get(), sub, reservation.name);
      if (!entry) return std::move(entry).error();
      if (!entry->empty()) {
        auto size = stored_size(fd->get(), sub, *entry, reservation.name.size());
        if (!size) return std::move(size).error();
        found = Stored{std::string(sub) + "/" + *entry, *size};
        break;
      }
    }
    if (::unlinkat(tmp_.get(), reservation.name.c_str(), 0) != 0 && errno != ENOENT) {
      return fail("cannot remove tmp/" + reservation.name, errno);
    }
    return found;
  }

 private:
  struct Ended {
    std::string name;        ///< In tmp/.
    std::string final_name;  ///< In new/: NAME,S=SIZE.
  };

  Result<void> commit_batch(const std::vector<Ended>& batch) {
    // The data first: nothing may appear in new/ before its content is on
    // disk. One syncfs for the batch (see the top of the file).
    if (::syncfs(tmp_.get()) != 0) {
      const int err = errno;
      for (const auto& m : batch)
        remove_tmp(m.name);
      return fail("cannot flush the new messages to disk", err);
    }
    std::optional<Error> first;
    for (const auto& m : batch) {
      const int err = move_to_new(m);
      if (err == 0 && temporary_files_ != nullptr) temporary_files_->forget(tmp_.get(), m.name);
      if (err != 0) {
        remove_tmp(m.name);
        if (!first)
          first = sink_error(kKind, path_, "cannot move tmp/" + m.name + " to new/" + m.final_name,
                             err);
      }
    }
    if (::fsync(new_.get()) != 0 && !first)
      first = sink_error(kKind, path_, "cannot flush new/", errno);
    if (::fsync(tmp_.get()) != 0 && !first)
      first = sink_error(kKind, path_, "cannot flush tmp/", errno);
    if (first) return {std::move(*first)};
    return {};
  }

  Error fail(std::string_view what, int err) const { return sink_error(kKind, path_, what, err); }
  Error not_open() const { return {errc::wrong_state, "maildir " + path_ + ": not opened"}; }
  Error bad_name(std::string_view name) const {
    return {errc::invalid_argument,
            "maildir " + path_ + ": not a message name: '" + std::string(name) + "'"};
  }

  Result<void> flush() {
    if (const int err = write_all(file_.get(), buffer_); err != 0) {
      remove_current();
      return fail("cannot write tmp/" + name_, err);
    }
    size_ += buffer_.size();
    buffer_.clear();
    return {};
  }

  void remove_current() noexcept {
    file_.reset();
    remove_tmp(name_);
    buffer_.clear();
  }

  // A tmp/ file of ours goes, and out of the record of temporary files.
  void remove_tmp(const std::string& name) noexcept {
    ::unlinkat(tmp_.get(), name.c_str(), 0);
    if (temporary_files_ != nullptr) temporary_files_->forget(tmp_.get(), name);
  }

  // rename(2) would replace an existing new/ file: never (see
  // move_no_replace).
  int move_to_new(const Ended& m) {
    return move_no_replace(tmp_.get(), m.name.c_str(), new_.get(), m.final_name.c_str(),
                           no_renameat2_);
  }

  // The size a found message was stored with: the ",S=" field after its
  // name, which this class wrote, else (a reader renamed it without one) the
  // file's size.
  Result<std::uint64_t> stored_size(int dir_fd, const char* sub, const std::string& entry,
                                    std::size_t name_size) {
    const std::size_t at = entry.find(",S=", name_size);
    if (at != std::string::npos) {
      std::uint64_t size = 0;
      const char* first = entry.data() + at + 3;
      const char* last = entry.data() + entry.size();
      const auto [end, ec] = std::from_chars(first, last, size);
      if (ec == std::errc() && end != first && (end == last || *end == ',' || *end == ':')) {
        return size;
      }
    }
    struct stat st {};
    if (::fstatat(dir_fd, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(std::string("cannot read ") + sub + "/" + entry, errno);
    }
    return static_cast<std::uint64_t>(st.st_size);
  }

  // The entry of `sub` that names the message `name` (see names_message),
  // or "" when there is none.
  Result<std::string> find_entry(int dir_fd, const char* sub, std::string_view name) {
    // A directory stream of its own (fdopendir takes the descriptor).
    const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(std::string("cannot read ") + sub + "/", errno);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      const int err = errno;
      ::close(fd);
      return fail(std::string("cannot read ") + sub + "/", err);
    }
    std::string found;
    errno = 0;
    while (const dirent* e = ::readdir(dir)) {
      if (names_message(e->d_name, name)) {
        found = e->d_name;
        break;
      }
    }
    const int err = found.empty() ? errno : 0;
    ::closedir(dir);
    if (err != 0) return fail(std::string("cannot read ") + sub + "/", err);
    return found;
  }

  std::string path_;
  std::string spec_;
  std::string host_;
  TemporaryFiles* temporary_files_;
  UniqueFd root_, tmp_, new_, cur_;
  std::uint64_t counter_ = 0;
  static constexpr std::size_t kRandomOctets = 8;  // per name
  std::array<unsigned char, 32 * kRandomOctets> random_{};
  std::size_t random_used_ = random_.size();  // none drawn yet
  pid_t pid_ = 0;
  bool no_renameat2_ = false;
  // The message being written.
  UniqueFd file_;
  std::string name_;
  std::string buffer_;
  std::uint64_t size_ = 0;
  CrlfToLf crlf_;
  std::vector<Ended> ended_;  ///< Since the last commit().
};

}  // namespace

std::unique_ptr<Destination> make_maildir(std::string path, TemporaryFiles* temporary_files) {
  return std::make_unique<Maildir>(std::move(path), temporary_files);
}

}  // namespace pop3kit::store::detail
