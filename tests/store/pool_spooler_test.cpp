// The PoolSpooler between the event loop and a thread pool: an io_context
// run by the test thread is the loop, an asio::thread_pool the pool. The
// target must see what a Client would have shown it directly, in order, on
// the pool; wait_for_room() must hold the loop back while the target lags
// more than kMaxQueued octets behind; finish() must wait for the target;
// the target's own errors turn into failed(n, sink_failed) as with
// pop3kit::Spooler.
#include "async/pool_spooler.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::store::detail {
namespace {

using namespace std::chrono_literals;

// Writes down every call, one line each, from the pool's threads.
// `hold` makes begin() of that message wait until release(); `refuse_*`
// make a call fail for that message number.
class Recorder final : public MessageHandler {
 public:
  std::uint64_t hold = 0;
  std::set<std::uint64_t> refuse_begin, refuse_data, refuse_end;
  std::chrono::milliseconds pace{0};  // how long each data() call takes

  std::error_code begin(std::uint64_t n) override {
    if (n == hold) {
      std::unique_lock lock(mu_);
      held_ = true;
      cv_.wait(lock, [&] { return released_; });
    }
    note("begin " + std::to_string(n));
    return refuse_begin.contains(n) ? make_error_code(errc::sink_failed) : std::error_code();
  }
  std::error_code data(std::uint64_t n, std::string_view chunk) override {
    // A slow disk: the chunk counts as received once written.
    std::this_thread::sleep_for(pace);
    received_ += chunk.size();
    {
      // Consecutive chunks are merged: only the bytes and their order matter.
      const std::lock_guard lock(mu_);
      const std::string prefix = "data " + std::to_string(n) + " ";
      if (!calls_.empty() && calls_.back().starts_with(prefix)) {
        calls_.back().append(chunk);
      } else {
        calls_.push_back(prefix + std::string(chunk));
        threads_.insert(std::this_thread::get_id());
      }
    }
    return refuse_data.contains(n) ? make_error_code(errc::sink_failed) : std::error_code();
  }
  std::error_code end(std::uint64_t n, std::uint64_t octets) override {
    note("end " + std::to_string(n) + " " + std::to_string(octets));
    return refuse_end.contains(n) ? make_error_code(errc::sink_failed) : std::error_code();
  }
  void failed(std::uint64_t n, const Error& e) override {
    note("failed " + std::to_string(n) + " " + std::to_string(e.code.value()));
  }

  void release() {
    const std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool held() {
    const std::lock_guard lock(mu_);
    return held_;
  }
  std::vector<std::string> calls() {
    const std::lock_guard lock(mu_);
    return calls_;
  }
  std::set<std::thread::id> threads() {
    const std::lock_guard lock(mu_);
    return threads_;
  }
  std::size_t received() const { return received_.load(); }

 private:
  void note(std::string s) {
    const std::lock_guard lock(mu_);
    threads_.insert(std::this_thread::get_id());
    calls_.push_back(std::move(s));
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
  std::vector<std::string> calls_;
  std::set<std::thread::id> threads_;
  std::atomic<std::size_t> received_{0};
};

// The same calls, made on `h`: message 1 in many small chunks, message 2
// large enough to be cut into several blocks, message 3 refused by the
// server, message 4 cut off by a failure after some data.
void play(MessageHandler& h) {
  (void)h.begin(1);
  for (int i = 0; i < 1000; ++i)
    (void)h.data(1, "line " + std::to_string(i) + "\r\n");
  (void)h.end(1, 1);
  (void)h.begin(2);
  for (int i = 0; i < 40; ++i)
    (void)h.data(2, std::string(32 * 1024, static_cast<char>('a' + i % 26)));
  (void)h.end(2, 2);
  h.failed(3, Error(errc::server_error, "no such message"));
  (void)h.begin(4);
  (void)h.data(4, "half");
  h.failed(4, Error(errc::connection_closed, "gone"));
}

class PoolSpoolerTest : public ::testing::Test {
 protected:
  // Starts `call` on the loop; `done` is set when it completes.
  void spawn(asio::awaitable<void> call, bool& done) {
    asio::co_spawn(
        io_,
        [](asio::awaitable<void> c, bool& d) -> asio::awaitable<void> {
          co_await std::move(c);
          d = true;
        }(std::move(call), done),
        asio::detached);
  }
  // Runs the loop until `done` or `limit`; returns `done`.
  bool run_until(const bool& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(20ms);
    }
    return done;
  }
  // Runs the loop for `span` (whatever completes meanwhile).
  void run_for(std::chrono::milliseconds span) {
    io_.restart();
    io_.run_for(span);
  }

  asio::io_context io_;
  asio::thread_pool pool_{2};
};

TEST_F(PoolSpoolerTest, TheTargetSeesTheSameCallsInOrderOnThePool) {
  Recorder direct;
  play(direct);
  Recorder spooled;
  {
    PoolSpooler s(spooled, pool_.get_executor(), io_.get_executor());
    play(s);
    bool finished = false;
    spawn(s.finish(), finished);
    ASSERT_TRUE(run_until(finished, 30s));
  }
  // A message that fails before a block of it was handed over is only
  // reported failed, as with pop3kit::Spooler.
  std::vector<std::string> expected = direct.calls();
  std::erase(expected, "begin 4");
  std::erase(expected, "data 4 half");
  EXPECT_EQ(spooled.calls(), expected);
  EXPECT_FALSE(spooled.threads().contains(std::this_thread::get_id()));
  pool_.join();
}

TEST_F(PoolSpoolerTest, WaitForRoomHoldsTheLoopBackWhileTheTargetLags) {
  constexpr std::size_t kChunk = 256 * 1024;  // one block per data() call
  Recorder target;
  target.hold = 1;  // begin(1) waits: nothing is taken off the queue
  // Then each block takes a while, so that the loop is let go on about
  // when the queue has drained far enough, not long after.
  target.pace = 50ms;
  PoolSpooler s(target, pool_.get_executor(), io_.get_executor());
  (void)s.begin(1);
  std::size_t pushed = 0;
  auto push = [&](std::size_t octets) {
    for (std::size_t n = 0; n < octets; n += kChunk) {
      (void)s.data(1, std::string(kChunk, 'x'));
      pushed += kChunk;
    }
  };
  // Half the bound queued: room, at once, though the target is stuck.
  push(PoolSpooler::kMaxQueued / 2);
  for (int i = 0; i < 1000 && !target.held(); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(target.held());
  bool room = false;
  spawn(s.wait_for_room(), room);
  EXPECT_TRUE(run_until(room, 5s)) << "no room with " << pushed << " octets queued";

  // Past the bound: the loop must wait for as long as the target lags.
  push(PoolSpooler::kMaxQueued + kChunk);
  (void)s.end(1, pushed);
  room = false;
  spawn(s.wait_for_room(), room);
  run_for(500ms);
  EXPECT_FALSE(room) << pushed << " octets queued and the loop was let go on";
  EXPECT_EQ(target.received(), 0u);

  // Released, the target catches up and the loop goes on once at most half
  // the bound is left to hand over.
  target.release();
  ASSERT_TRUE(run_until(room, 30s));
  EXPECT_GE(target.received() + PoolSpooler::kMaxQueued / 2, pushed)
      << "let go on with more than half the bound still queued";

  bool finished = false;
  spawn(s.finish(), finished);
  ASSERT_TRUE(run_until(finished, 30s));
  EXPECT_EQ(target.received(), pushed);
  const auto calls = target.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], "begin 1");
  EXPECT_EQ(calls[1].size(), std::string("data 1 ").size() + pushed);
  EXPECT_EQ(calls[2], "end 1 " + std::to_string(pushed));
}

TEST_F(PoolSpoolerTest, FinishWaitsUntilEverythingWasHandedOver) {
  Recorder target;
  target.hold = 1;
  PoolSpooler s(target, pool_.get_executor(), io_.get_executor());
  (void)s.begin(1);
  (void)s.data(1, "a small message\r\n");
  (void)s.end(1, 17);
  (void)s.begin(2);
  (void)s.data(2, "and another\r\n");
  (void)s.end(2, 13);
  bool finished = false;
  spawn(s.finish(), finished);
  run_for(500ms);
  EXPECT_FALSE(finished) << "finish() completed while the target had seen nothing";
  EXPECT_TRUE(target.calls().empty());
  target.release();
  ASSERT_TRUE(run_until(finished, 30s));
  const std::vector<std::string> expected = {"begin 1", "data 1 a small message\r\n", "end 1 17",
                                             "begin 2", "data 2 and another\r\n",     "end 2 13"};
  // Nothing may reach the target after finish() completed.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(target.calls(), expected);
}

TEST_F(PoolSpoolerTest, ATargetErrorDropsTheMessageAndFailedFollows) {
  Recorder target;
  target.refuse_begin = {2};
  target.refuse_data = {3};
  target.refuse_end = {4};
  {
    PoolSpooler s(target, pool_.get_executor(), io_.get_executor());
    for (std::uint64_t n = 2; n <= 5; ++n) {
      (void)s.begin(n);
      // Two blocks and a tail: the data after a refusal must not arrive.
      (void)s.data(n, std::string(300 * 1024, 'a'));
      (void)s.data(n, std::string(300 * 1024, 'b'));
      (void)s.data(n, "tail");
      (void)s.end(n, 600 * 1024 + 4);
    }
    bool finished = false;
    spawn(s.finish(), finished);
    ASSERT_TRUE(run_until(finished, 30s));
  }
  const std::string failed = std::to_string(static_cast<int>(errc::sink_failed));
  const auto calls = target.calls();
  std::vector<std::string> shown;
  for (const auto& c : calls)
    shown.push_back(c.starts_with("data ") ? c.substr(0, 7) + std::to_string(c.size() - 7) : c);
  const std::string whole = std::to_string(600 * 1024 + 4);
  const std::vector<std::string> expected = {
      // begin refused: no data, no end, failed.
      "begin 2", "failed 2 " + failed,
      // data refused: its first block (one piece of 300 KiB) only, no end, failed.
      "begin 3", "data 3 " + std::to_string(300 * 1024), "failed 3 " + failed,
      // end refused: failed after it.
      "begin 4", "data 4 " + whole, "end 4 " + whole, "failed 4 " + failed,
      // the next message as usual.
      "begin 5", "data 5 " + whole, "end 5 " + whole};
  EXPECT_EQ(shown, expected);
}

}  // namespace
}  // namespace pop3kit::store::detail
