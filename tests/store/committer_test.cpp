// The Committer with a `post` function (the async fetch's way): the commits
// run as tasks on a thread pool, one at a time and in the order pushed;
// push(wait) returns only once its batch is committed, finish() waits for a
// commit still running, and a failing commit drops the batches behind it.
// A real StateStore (SQLite in a temporary directory) records the batches;
// their jobs write and fsync real files. The pool is a plain one of
// std::threads: the Committer asks only that posted tasks run later on
// another thread.
#include "committer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::store::detail {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const AccountId kAccount{"home", "bob", "pop.example.org", 995};
constexpr const char* kDestination = "maildir:/nowhere";

// A door a task waits at until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    const std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // True once a task waits (or waited) here; false after `limit`.
  bool entered_within(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return entered_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool entered_ = false;
};

// Threads taking posted tasks from one queue, any of them any task.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~ThreadPool() { join(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task) {
    const std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }
  // Runs what was posted, then stops the threads.
  void join() {
    {
      const std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void work() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// What the jobs did, from whichever thread ran them.
struct Log {
  std::mutex mu;
  std::vector<int> order;  // batch numbers, in the order their jobs ended
  std::vector<std::thread::id> threads;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
};

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "pop3kit-committer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    auto s = StateStore::open((dir_ / "state.db").string());
    ASSERT_TRUE(s) << s.error().message;
    state_.emplace(std::move(*s));
  }
  void TearDown() override {
    state_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string uid(int batch) { return "uid-" + std::to_string(batch); }

  // Batch `k` of one message, its intent recorded as fetch_account() does
  // before writing it. Its job writes and fsyncs a file, waits at `gate`
  // when given, sleeps `pause`, and notes itself in the log; `fail` makes
  // it return an error instead.
  SealedBatch batch(int k, Log& log, std::chrono::milliseconds pause = 0ms, Gate* gate = nullptr,
                    bool fail = false) {
    const std::vector<Reservation> res = {{uid(k), "name-" + std::to_string(k), 0}};
    EXPECT_TRUE(state_->record_intents(kAccount, kDestination, res));
    SealedBatch b;
    const fs::path file = dir_ / ("message-" + std::to_string(k));
    b.job = [k, &log, pause, gate, fail, file]() -> Result<void> {
      if (log.running.fetch_add(1) != 0) log.overlapped = true;
      if (gate != nullptr) gate->wait();
      const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      const bool written = fd >= 0 && ::write(fd, "x\n", 2) == 2 && ::fsync(fd) == 0;
      if (fd >= 0) ::close(fd);
      std::this_thread::sleep_for(pause);
      {
        const std::lock_guard lock(log.mu);
        log.order.push_back(k);
        log.threads.push_back(std::this_thread::get_id());
      }
      log.running.fetch_sub(1);
      if (!written) return Error(errc::sink_failed, "cannot write " + file.string());
      if (fail) return Error(errc::sink_failed, "batch " + std::to_string(k) + ": disk full");
      return {};
    };
    b.delivered = {DeliveredMessage{uid(k), Stored{"new/name-" + std::to_string(k), 2}}};
    b.numbers = {static_cast<std::uint64_t>(k)};
    return b;
  }

  // UID -> state, as the database has it now.
  std::map<std::string, MessageState> records() {
    std::map<std::string, MessageState> out;
    auto r = state_->records(kAccount);
    EXPECT_TRUE(r) << r.error().message;
    if (r) {
      for (const auto& m : *r)
        out[m.uid] = m.state;
    }
    return out;
  }

  Committer::Post post_to(ThreadPool& pool) {
    return [&pool](std::function<void()> task) { pool.post(std::move(task)); };
  }

  fs::path dir_;
  std::optional<StateStore> state_;
};

TEST_F(CommitterTest, BatchesCommitInOrderOneAtATimeOnThePool) {
  ThreadPool pool(4);
  Log log;
  constexpr int kBatches = 6;
  {
    Committer c(kAccount, *state_, true, post_to(pool));
    // Uneven durations: a pool running two commits at once, or out of
    // order, would show it.
    for (int k = 1; k <= kBatches; ++k)
      ASSERT_TRUE(c.push(batch(k, log, std::chrono::milliseconds(k % 2 == 0 ? 5 : 40))));
    const auto done = c.finish();
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_EQ(c.delivered(), std::uint64_t{kBatches});
    EXPECT_EQ(c.octets(), std::uint64_t{2 * kBatches});
    EXPECT_EQ(c.numbers(), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
  }
  EXPECT_EQ(log.order, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_FALSE(log.overlapped.load());
  for (const auto& t : log.threads)
    EXPECT_NE(t, std::this_thread::get_id());
  const auto r = records();
  ASSERT_EQ(r.size(), std::size_t{kBatches});
  for (const auto& [u, s] : r)
    EXPECT_EQ(s, MessageState::delivered) << u;
  pool.join();
}

TEST_F(CommitterTest, PushWithWaitReturnsOnlyOnceCommitted) {
  ThreadPool pool(2);
  Log log;
  Committer c(kAccount, *state_, true, post_to(pool));
  // A slow commit: returning before it ended would find it unrecorded.
  ASSERT_TRUE(c.push(batch(1, log, 300ms), true));
  {
    const std::lock_guard lock(log.mu);
    EXPECT_EQ(log.order, std::vector<int>{1});
  }
  EXPECT_EQ(records().at(uid(1)), MessageState::delivered);
  // Behind a batch still committing, a waiting push waits for both.
  ASSERT_TRUE(c.push(batch(2, log, 300ms)));
  ASSERT_TRUE(c.push(batch(3, log, 10ms), true));
  {
    const std::lock_guard lock(log.mu);
    EXPECT_EQ(log.order, (std::vector<int>{1, 2, 3}));
  }
  const auto r = records();
  EXPECT_EQ(r.at(uid(2)), MessageState::delivered);
  EXPECT_EQ(r.at(uid(3)), MessageState::delivered);
  EXPECT_TRUE(c.finish());
  pool.join();
}

TEST_F(CommitterTest, FinishWaitsForACommitStillRunning) {
  ThreadPool pool(2);
  Log log;
  Gate gate;
  Committer c(kAccount, *state_, true, post_to(pool));
  ASSERT_TRUE(c.push(batch(1, log, 0ms, &gate)));
  ASSERT_TRUE(gate.entered_within(10s));
  std::atomic<bool> finished{false};
  Result<void> result;
  std::thread finisher([&] {
    result = c.finish();
    finished = true;
  });
  // The commit is held at the gate: finish() must not return meanwhile
  // (its drain task still refers to the Committer).
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(finished.load());
  EXPECT_EQ(records().at(uid(1)), MessageState::intent);
  gate.open();
  finisher.join();
  EXPECT_TRUE(finished.load());
  EXPECT_TRUE(result);
  EXPECT_EQ(c.delivered(), 1u);
  EXPECT_EQ(records().at(uid(1)), MessageState::delivered);
  pool.join();
}

TEST_F(CommitterTest, AFailedCommitDropsTheBatchesBehindIt) {
  ThreadPool pool(2);
  Log log;
  Gate gate;
  Committer c(kAccount, *state_, true, post_to(pool));
  ASSERT_TRUE(c.push(batch(1, log)));
  // Batch 2 fails, but only once 3 and 4 wait behind it.
  ASSERT_TRUE(c.push(batch(2, log, 0ms, &gate, true)));
  ASSERT_TRUE(gate.entered_within(10s));
  ASSERT_TRUE(c.push(batch(3, log)));
  ASSERT_TRUE(c.push(batch(4, log)));
  EXPECT_FALSE(c.failed());
  gate.open();
  // The first failure, from every later call.
  const auto pushed = c.push(batch(5, log), true);
  ASSERT_FALSE(pushed);
  EXPECT_NE(pushed.error().message.find("batch 2: disk full"), std::string::npos)
      << pushed.error().message;
  EXPECT_TRUE(c.failed());
  const auto done = c.finish();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, make_error_code(errc::sink_failed));
  EXPECT_FALSE(c.push(batch(6, log)));
  {
    const std::lock_guard lock(log.mu);
    EXPECT_EQ(log.order, (std::vector<int>{1, 2}));  // 3 and 4 dropped, 5 and 6 refused
  }
  EXPECT_EQ(c.delivered(), 1u);
  EXPECT_EQ(c.numbers(), std::vector<std::uint64_t>{1});
  // The dropped batches' intents stay for the next run's recovery.
  const auto r = records();
  EXPECT_EQ(r.at(uid(1)), MessageState::delivered);
  for (int k = 2; k <= 6; ++k)
    EXPECT_EQ(r.at(uid(k)), MessageState::intent) << k;
  pool.join();
}

}  // namespace
}  // namespace pop3kit::store::detail
