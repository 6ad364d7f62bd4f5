// pop3kit::store — PoolSpooler: a retrieval's messages handed from the event
// loop to a thread pool, with backpressure on the loop.
//
// The async fetch's counterpart of pop3kit::Spooler. The loop (the
// async::Client's executor) gathers each message's chunks into blocks and
// queues them; the target handler (the BatchRunner) runs as tasks on the
// pool, one task at a time, in order. The loop never waits for the disk:
// push() only queues. Instead, wait_for_room() (the retrieval's ReadGate)
// holds the socket's reading back while more than kMaxQueued octets wait,
// and lets it go on once half of that is left.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "pop3kit/client.hpp"

namespace pop3kit::store::detail {

class PoolSpooler final : public MessageHandler {
 public:
  /// `target` runs on `pool`; the calls below and the awaitables run on
  /// `loop`. `target` must outlive the spooler.
  PoolSpooler(MessageHandler& target, asio::any_io_executor pool, asio::any_io_executor loop);
  /// Waits (blocking) for a task still running: finish() first avoids that.
  ~PoolSpooler() override;
  PoolSpooler(const PoolSpooler&) = delete;
  PoolSpooler& operator=(const PoolSpooler&) = delete;

  std::error_code begin(std::uint64_t number) override;
  std::error_code data(std::uint64_t number, std::string_view chunk) override;
  std::error_code end(std::uint64_t number, std::uint64_t octets) override;
  void failed(std::uint64_t number, const Error& error) override;

  /// Completes at once while the queue has room, else once it has drained to half.
  asio::awaitable<void> wait_for_room();
  /// Completes once the target has seen everything queued.
  asio::awaitable<void> finish();

  static constexpr std::size_t kMaxQueued = 1024 * 1024;

 private:
  static constexpr std::size_t kBlock = 256 * 1024;

  struct Piece {
    std::uint64_t number = 0;
    bool first = true;
    bool last = false;
    bool failed = false;
    std::string data;
    std::uint64_t octets = 0;
    Error error;
  };

  // Shared with the pool's tasks and the wake-ups posted to the loop, which
  // may run after the spooler is gone.
  struct Shared {
    explicit Shared(const asio::any_io_executor& loop) : wake(loop) {}
    std::mutex mu;
    std::condition_variable idle;  // for the destructor
    std::deque<Piece> queue;
    std::size_t queued = 0;
    bool draining = false;    // a drain task is posted or running
    bool waiter = false;      // the loop waits on `wake`
    asio::steady_timer wake;  // used on the loop only
  };

  void push(Piece piece);
  void drain();
  void apply(const Piece& piece);
  asio::awaitable<void> wait_until(bool (*ready)(const Shared&));

  MessageHandler& target_;
  asio::any_io_executor pool_;
  asio::any_io_executor loop_;
  std::shared_ptr<Shared> shared_;

  // Loop side.
  Piece current_;
  bool in_message_ = false;
  // Pool side (one task at a time).
  bool skipping_ = false;
};

}  // namespace pop3kit::store::detail
