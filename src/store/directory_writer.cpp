// pop3kit::store — DirectoryWriter: one file per message.
#include "pop3kit/directory_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace pop3kit::store {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
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

DirectoryWriter::DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names)
    : dir_(std::move(dir)), names_(std::move(names)) {}

DirectoryWriter::~DirectoryWriter() {
  finish();
}

std::error_code DirectoryWriter::begin(std::uint64_t number) {
  remove_part();
  in_message_ = true;
  skipping_ = false;
  order_ = next_order_++;
  buffer_.clear();
  final_ = dir_ + "/" + names_.at(number);
  part_ = final_ + ".part";
  fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
  if (::close(fd) != 0 || ::rename(part_.c_str(), final_.c_str()) != 0) {
    const auto ec = last_error();
    ::unlink(part_.c_str());
    write_failed(number, ec);
    return {};
  }
  ++stored_;
  octets_ += octets;
  return {};
}

void DirectoryWriter::failed(std::uint64_t number, const Error& error) {
  std::size_t order = next_order_;
  if (in_message_) {
    order = order_;
    remove_part();
    in_message_ = false;
  } else {
    ++next_order_;
  }
  // One entry per message: a write failure recorded first stays.
  failures_.emplace(order, std::make_pair(number, error));
}

void DirectoryWriter::finish() {
  remove_part();  // a message that never ended (the retrieval stopped)
  in_message_ = false;
}

std::error_code DirectoryWriter::flush() {
  std::string_view data = buffer_;
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  buffer_.clear();
  return {};
}

void DirectoryWriter::write_failed(std::uint64_t number, std::error_code ec) {
  remove_part();
  skipping_ = true;
  failures_.emplace(
      order_, std::make_pair(number, Error(errc::sink_failed,
                                           "RETR " + std::to_string(number) +
                                               ": storing the message failed: " + ec.message())));
}

void DirectoryWriter::remove_part() {
  buffer_.clear();
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(part_.c_str());
}

}  // namespace pop3kit::store
