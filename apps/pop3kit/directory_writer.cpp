// pop3kit command — DirectoryWriter: one file per message, on a writer thread.
#include "directory_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>

namespace pop3kit::cli {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

}  // namespace

DirectoryWriter::DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names)
    : dir_(std::move(dir)), names_(std::move(names)), thread_([this] { write_loop(); }) {}

DirectoryWriter::~DirectoryWriter() {
  finish();
}

std::error_code DirectoryWriter::begin(std::uint64_t number) {
  current_ = Piece{};
  current_.number = number;
  current_.order = next_order_++;
  in_message_ = true;
  return {};
}

// Chunks end at every dot-stuffed line, so a message full of lines that
// start with "." comes in many small pieces: they are gathered, and written
// in large blocks (one write for most messages).
std::error_code DirectoryWriter::data(std::uint64_t, std::string_view chunk) {
  current_.data.append(chunk);
  if (current_.data.size() >= kBlock) {
    Piece next;
    next.number = current_.number;
    next.order = current_.order;
    next.first = false;
    push(std::exchange(current_, std::move(next)));
  }
  return {};
}

std::error_code DirectoryWriter::end(std::uint64_t, std::uint64_t octets) {
  current_.last = true;
  current_.octets = octets;
  push(std::exchange(current_, Piece{}));
  in_message_ = false;
  return {};
}

void DirectoryWriter::failed(std::uint64_t number, const Error& error) {
  std::size_t order = next_order_;
  if (in_message_) {
    order = current_.order;
    // Blocks already handed over: the writer removes their .part.
    if (!current_.first) {
      Piece discard;
      discard.number = number;
      discard.order = order;
      discard.first = false;
      discard.discard = true;
      push(std::move(discard));
    }
    current_ = Piece{};
    in_message_ = false;
  } else {
    ++next_order_;
  }
  failures_.emplace(order, std::make_pair(number, error));
}

void DirectoryWriter::finish() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_one();
  thread_.join();
  // One entry per message: a retrieval failure recorded first wins.
  failures_.merge(write_failures_);
  write_failures_.clear();
}

void DirectoryWriter::push(Piece piece) {
  const std::size_t size = piece.data.capacity();
  {
    std::unique_lock lock(mu_);
    // A piece larger than the bound still goes through, alone.
    space_.wait(lock, [&] { return queued_ == 0 || queued_ + size <= kMaxQueued; });
    queued_ += size;
    queue_.push_back(std::move(piece));
  }
  ready_.notify_one();
}

void DirectoryWriter::write_loop() {
  for (;;) {
    Piece piece;
    {
      std::unique_lock lock(mu_);
      ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) break;
      piece = std::move(queue_.front());
      queue_.pop_front();
    }
    const std::size_t size = piece.data.capacity();
    store(piece);
    piece.data = {};  // freed before the retrieving thread may fill the space again
    {
      const std::lock_guard lock(mu_);
      queued_ -= size;
    }
    space_.notify_one();
  }
  remove_part();  // a message that never ended (the retrieval stopped)
}

void DirectoryWriter::store(const Piece& piece) {
  if (piece.first) {
    remove_part();
    skipping_ = false;
    final_ = dir_ + "/" + names_.at(piece.number);
    part_ = final_ + ".part";
    fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) return write_failed(piece, last_error());
  }
  if (skipping_) return;  // an earlier block of this message failed
  if (piece.discard) return remove_part();
  if (auto ec = write_all(piece.data)) return write_failed(piece, ec);
  if (!piece.last) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || ::rename(part_.c_str(), final_.c_str()) != 0) {
    const auto ec = last_error();
    ::unlink(part_.c_str());
    return write_failed(piece, ec);
  }
  ++stored_;
  octets_ += piece.octets;
}

void DirectoryWriter::write_failed(const Piece& piece, std::error_code ec) {
  remove_part();
  skipping_ = true;
  write_failures_.emplace(
      piece.order,
      std::make_pair(piece.number,
                     Error(errc::sink_failed, fmt::format("RETR {}: storing the message failed: {}",
                                                          piece.number, ec.message()))));
}

void DirectoryWriter::remove_part() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(part_.c_str());
}

std::error_code DirectoryWriter::write_all(std::string_view data) const {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace pop3kit::cli
