// pop3kit::store — Spooler: the retrieval's messages delivered on a thread of their own.
#include "pop3kit/spooler.hpp"

#include <utility>

namespace pop3kit::store {

Spooler::Spooler(MessageHandler& target) : target_(target), thread_([this] { run(); }) {}

Spooler::~Spooler() {
  finish();
}

std::error_code Spooler::begin(std::uint64_t number) {
  current_ = Piece{};
  current_.data = std::exchange(spare_data_, {});
  current_.number = number;
  in_message_ = true;
  return {};
}

// Chunks end at every dot-stuffed line: they are gathered into blocks, so
// that the queue's lock is taken once per block, not once per line.
std::error_code Spooler::data(std::uint64_t number, std::string_view chunk) {
  current_.data.append(chunk);
  if (current_.data.size() >= kBlock) {
    push(std::exchange(current_, Piece{}));
    current_.number = number;
    current_.first = false;
    current_.data = std::exchange(spare_data_, {});
  }
  return {};
}

std::error_code Spooler::end(std::uint64_t, std::uint64_t octets) {
  current_.last = true;
  current_.octets = octets;
  push(std::exchange(current_, Piece{}));
  in_message_ = false;
  return {};
}

void Spooler::failed(std::uint64_t number, const Error& error) {
  Piece p;
  if (in_message_) {
    p = std::exchange(current_, Piece{});
    p.data.clear();  // not worth writing: the message failed
  }
  p.number = number;
  p.failed = true;
  p.error = error;
  in_message_ = false;
  push(std::move(p));
}

void Spooler::finish() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_one();
  thread_.join();
}

void Spooler::push(Piece piece) {
  const std::size_t size = piece.data.capacity();
  {
    std::unique_lock lock(mu_);
    // A piece larger than the bound still goes through, alone.
    if (queued_ != 0 && queued_ + size > kMaxQueued) {
      waiting_ = true;
      space_.wait(lock, [&] { return queued_ == 0 || queued_ + size <= kMaxQueued; });
      waiting_ = false;
    }
    queued_ += size;
    queue_.push_back(std::move(piece));
    // The next piece is gathered in a buffer already grown, not in a new
    // one grown again from nothing chunk by chunk.
    if (!spares_.empty() && spare_data_.capacity() < kBlock / 64) {
      spare_bytes_ -= spares_.back().capacity();
      spare_data_ = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  ready_.notify_one();
}

void Spooler::run() {
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
    apply(piece);
    bool wake = false;
    {
      const std::lock_guard lock(mu_);
      queued_ -= size;
      // Kept for the reading thread, a few and up to half the bound in
      // all (buffers go round between the queue and here: the peak is
      // hardly higher); else freed before the reading thread may fill the
      // space again.
      if (spares_.size() < kSpares && spare_bytes_ + size <= kMaxQueued / 2) {
        piece.data.clear();
        spare_bytes_ += size;
        spares_.push_back(std::move(piece.data));
      }
      // The reading thread is woken once half the bound is free (or the
      // queue is empty), not once per piece: one wake-up per many
      // messages instead of one per message.
      wake = waiting_ && (queued_ <= kMaxQueued / 2 || queue_.empty());
    }
    piece.data = {};
    if (wake) space_.notify_one();
  }
}

// The calls the Client would have made. A failure piece goes to failed()
// whether or not the message began (the target knows which).
void Spooler::apply(const Piece& piece) {
  const std::uint64_t n = piece.number;
  if (piece.failed) {
    skipping_ = false;
    target_.failed(n, piece.error);
    return;
  }
  if (piece.first) skipping_ = static_cast<bool>(target_.begin(n));
  if (!skipping_ && !piece.data.empty()) skipping_ = static_cast<bool>(target_.data(n, piece.data));
  if (!piece.last) return;
  if (!skipping_) skipping_ = static_cast<bool>(target_.end(n, piece.octets));
  if (skipping_) {
    skipping_ = false;
    target_.failed(
        n, Error(errc::sink_failed, "RETR " + std::to_string(n) + ": storing the message failed"));
  }
}

}  // namespace pop3kit::store
