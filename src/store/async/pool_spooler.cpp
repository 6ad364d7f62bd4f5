// pop3kit::store — PoolSpooler (pool_spooler.hpp).
#include "pool_spooler.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <utility>

namespace pop3kit::store::detail {

PoolSpooler::PoolSpooler(MessageHandler& target, asio::any_io_executor pool,
                         asio::any_io_executor loop)
    : target_(target),
      pool_(std::move(pool)),
      loop_(std::move(loop)),
      shared_(std::make_shared<Shared>(loop_)) {}

PoolSpooler::~PoolSpooler() {
  std::unique_lock lock(shared_->mu);
  shared_->idle.wait(lock, [&] { return !shared_->draining; });
}

std::error_code PoolSpooler::begin(std::uint64_t number) {
  current_ = Piece{};
  current_.number = number;
  in_message_ = true;
  return {};
}

std::error_code PoolSpooler::data(std::uint64_t number, std::string_view chunk) {
  current_.data.append(chunk);
  if (current_.data.size() >= kBlock) {
    Piece next;
    next.number = number;
    next.first = false;
    push(std::exchange(current_, std::move(next)));
  }
  return {};
}

std::error_code PoolSpooler::end(std::uint64_t, std::uint64_t octets) {
  current_.last = true;
  current_.octets = octets;
  push(std::exchange(current_, Piece{}));
  in_message_ = false;
  return {};
}

void PoolSpooler::failed(std::uint64_t number, const Error& error) {
  Piece p;
  if (in_message_) {
    p = std::exchange(current_, Piece{});
    p.data.clear();
  }
  p.number = number;
  p.failed = true;
  p.error = error;
  in_message_ = false;
  push(std::move(p));
}

void PoolSpooler::push(Piece piece) {
  Shared& s = *shared_;
  const std::lock_guard lock(s.mu);
  s.queued += piece.data.capacity();
  s.queue.push_back(std::move(piece));
  if (!std::exchange(s.draining, true)) asio::post(pool_, [this] { drain(); });
}

// One task at a time drains the queue in order; each piece handed over may
// let a waiting loop go on.
void PoolSpooler::drain() {
  const std::shared_ptr<Shared> keep = shared_;
  Shared& s = *keep;
  std::unique_lock lock(s.mu);
  while (!s.queue.empty()) {
    Piece piece = std::move(s.queue.front());
    s.queue.pop_front();
    lock.unlock();
    const std::size_t size = piece.data.capacity();
    apply(piece);
    piece.data = {};
    lock.lock();
    s.queued -= size;
    if (s.waiter && s.queued <= kMaxQueued / 2) {
      s.waiter = false;
      asio::post(loop_, [keep] { keep->wake.cancel(); });
    }
  }
  s.draining = false;
  if (s.waiter) {
    s.waiter = false;
    asio::post(loop_, [keep] { keep->wake.cancel(); });
  }
  s.idle.notify_all();
}

// The calls the client would have made (as Spooler::apply).
void PoolSpooler::apply(const Piece& piece) {
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

asio::awaitable<void> PoolSpooler::wait_until(bool (*ready)(const Shared&)) {
  const std::shared_ptr<Shared> keep = shared_;
  for (;;) {
    {
      const std::lock_guard lock(keep->mu);
      if (ready(*keep)) co_return;
      keep->waiter = true;
    }
    // Woken by cancel() from a drain task (posted to this executor, so it
    // runs only once this wait has begun).
    keep->wake.expires_at(asio::steady_timer::time_point::max());
    (void)co_await keep->wake.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> PoolSpooler::wait_for_room() {
  co_await wait_until(
      [](const Shared& s) { return s.queued <= kMaxQueued || s.queued == 0 || !s.draining; });
}

asio::awaitable<void> PoolSpooler::finish() {
  co_await wait_until([](const Shared& s) { return s.queue.empty() && !s.draining; });
}

}  // namespace pop3kit::store::detail
