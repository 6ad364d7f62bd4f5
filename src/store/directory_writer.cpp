// pop3kit::store — DirectoryWriter: one file per message.
#include "pop3kit/directory_writer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "destinations.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::store {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

std::string quoted(const std::string& path) {
  return "'" + sanitize(path, 400) + "'";
}

Error dir_error(std::string text) {
  return {errc::sink_failed, std::move(text)};
}

// The pid holding a flock on the file (dev, ino), from /proc/locks; 0 when
// unknown. Lines read "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF".
long lock_holder(dev_t dev, ino_t ino) {
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, file;
    long pid = 0;
    if (!(fields >> number >> kind >> mode >> access >> pid >> file)) continue;
    if (kind != "FLOCK" || pid <= 0) continue;
    unsigned major_id = 0, minor_id = 0;
    unsigned long long inode = 0;
    if (std::sscanf(file.c_str(), "%x:%x:%llu", &major_id, &minor_id, &inode) != 3) continue;
    if (major_id == major(dev) && minor_id == minor(dev) && inode == ino) return pid;
  }
  return 0;
}

}  // namespace

std::string uid_file_name(std::string_view uid) {
  std::string out;
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const char c = uid[i];
    if (c == '/' || c == '%' || (i == 0 && c == '.')) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X",
                    static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

bool valid_file_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 255 && name.front() != '.' &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

DirectoryWriter::DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names,
                                 DirectoryOptions options)
    : dir_(std::move(dir)), names_(std::move(names)), options_(options) {}

DirectoryWriter::~DirectoryWriter() {
  finish();
  if (dir_fd_ >= 0) ::close(dir_fd_);  // and with it the lock
}

Result<void> DirectoryWriter::open() {
  if (dir_fd_ >= 0) return {};
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return dir_error("cannot create the directory " + quoted(dir_) + ": " + last_error().message());
  }
  // O_NOFOLLOW: a symbolic link planted as DIR (say in a shared /tmp)
  // cannot send the messages elsewhere; every file below is made relative
  // to this descriptor, so a DIR renamed or replaced meanwhile changes
  // nothing either.
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const auto ec = last_error();
    struct stat st {};
    if (::lstat(dir_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return dir_error(quoted(dir_) + " is a symbolic link: give the directory it points to");
    }
    if (ec == std::errc::not_a_directory) {
      return dir_error(quoted(dir_) + " exists and is not a directory");
    }
    return dir_error("cannot use " + quoted(dir_) + " for the messages: " + ec.message());
  }
  detail::UniqueFd dir(fd);  // kept below, on success
  // Fail now (before a login) rather than at the first message.
  if (::faccessat(dir.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    return dir_error("cannot create files in the directory " + quoted(dir_) + ": " +
                     last_error().message());
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.lock_wait;
  while (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) break;  // cannot lock here (NFS): go on without
    if (std::chrono::steady_clock::now() >= deadline) {
      struct stat st {};
      const long holder = ::fstat(dir.get(), &st) == 0 ? lock_holder(st.st_dev, st.st_ino) : 0;
      return Error(errc::temporary_failure,
                   "the directory " + quoted(dir_) + " is in use by " +
                       (holder > 0 ? "process " + std::to_string(holder) : "another process") +
                       " (another pop3kit retr -o writing into it); try again when it is done");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  dir_fd_ = ::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0);  // the same open file: the lock stays
  if (dir_fd_ < 0) {
    return dir_error("cannot use " + quoted(dir_) + " for the messages: " + last_error().message());
  }
  return {};
}

std::error_code DirectoryWriter::begin(std::uint64_t number) {
  remove_temporary();
  in_message_ = true;
  skipping_ = false;
  order_ = next_order_++;
  buffer_.clear();
  if (dir_fd_ < 0) {
    skipping_ = true;
    failures_.emplace(order_, std::make_pair(number, Error(errc::wrong_state,
                                                           "RETR " + std::to_string(number) +
                                                               ": the directory is not open")));
    return {};
  }
  const auto name = names_.find(number);
  final_ = name == names_.end() ? std::to_string(number) : name->second;
  if (!valid_file_name(final_)) {
    fail_message(number, "not stored: '" + sanitize(final_, 300) + "' is not a usable file name");
    return {};
  }
  // A name no final name can have (it begins with '.'), unique to this
  // process, and created new: a file planted under it fails the create
  // (EEXIST) and is never followed or written.
  std::array<unsigned char, 8> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    write_failed(number, last_error());
    return {};
  }
  temporary_ =
      ".pop3kit-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_) + "-";
  for (const unsigned char b : random) {
    temporary_ += "0123456789abcdef"[b >> 4U];
    temporary_ += "0123456789abcdef"[b & 15U];
  }
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  fd_ = options_.temporary_files != nullptr
            ? options_.temporary_files->create(dir_fd_, temporary_, kFlags, 0600)
            : ::openat(dir_fd_, temporary_.c_str(), kFlags, 0600);
  if (fd_ < 0) write_failed(number, last_error());
  return {};
}

std::error_code DirectoryWriter::data(std::uint64_t number, std::string_view chunk) {
  if (skipping_) return {};
  buffer_.append(chunk);
  if (buffer_.size() >= kBlock) {
    if (auto ec = flush()) write_failed(number, ec);
  }
  return {};
}

std::error_code DirectoryWriter::end(std::uint64_t number, std::uint64_t octets) {
  in_message_ = false;
  if (skipping_) return {};
  if (auto ec = flush()) {
    write_failed(number, ec);
    return {};
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    fd_ = -2;  // closed: remove_temporary() only unlinks
    write_failed(number, last_error());
    return {};
  }
  // Never rename(2): it would replace a file that is already there.
  if (const int err = detail::move_no_replace(dir_fd_, temporary_.c_str(), dir_fd_, final_.c_str(),
                                              no_renameat2_)) {
    fd_ = -2;
    if (err == EEXIST) {
      fail_message(number, "not stored: a file named '" + sanitize(final_, 300) +
                               "' is already in the directory (pop3kit replaces no file)");
    } else {
      write_failed(number, {err, std::generic_category()});
    }
    return {};
  }
  if (options_.temporary_files != nullptr) options_.temporary_files->forget(dir_fd_, temporary_);
  temporary_.clear();
  ++stored_;
  octets_ += octets;
  return {};
}

void DirectoryWriter::failed(std::uint64_t number, const Error& error) {
  std::size_t order = next_order_;
  if (in_message_) {
    order = order_;
    remove_temporary();
    in_message_ = false;
  } else {
    ++next_order_;
  }
  // One entry per message: a write failure recorded first stays.
  failures_.emplace(order, std::make_pair(number, error));
}

void DirectoryWriter::finish() {
  remove_temporary();  // a message that never ended (the retrieval stopped)
  in_message_ = false;
}

std::error_code DirectoryWriter::flush() {
  if (const int err = detail::write_all(fd_, buffer_)) return {err, std::generic_category()};
  buffer_.clear();
  return {};
}

void DirectoryWriter::fail_message(std::uint64_t number, std::string text) {
  remove_temporary();
  skipping_ = true;
  failures_.emplace(
      order_, std::make_pair(number, Error(errc::sink_failed, "RETR " + std::to_string(number) +
                                                                  ": " + std::move(text))));
}

void DirectoryWriter::write_failed(std::uint64_t number, std::error_code ec) {
  fail_message(number, "storing the message failed: " + ec.message());
}

void DirectoryWriter::remove_temporary() {
  buffer_.clear();
  if (fd_ == -1) return;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlinkat(dir_fd_, temporary_.c_str(), 0);
  if (options_.temporary_files != nullptr) options_.temporary_files->forget(dir_fd_, temporary_);
  temporary_.clear();
}

}  // namespace pop3kit::store
