// pop3kit::store — the thread that makes fetch_account()'s batches durable.
//
// A batch's commit (Maildir: one syncfs, the moves into new/, the directory
// flushes; then one SQLite transaction marking it delivered) is mostly
// waiting for the disk. Done in line, it stops the delivering thread, which
// stops reading the socket once the spooler's queue is full. Handed to this
// thread, batch k is committed while batch k+1 is written: the disk and the
// network work at the same time, and only the last batch's commit is paid
// after the last message arrives.
//
// Without a thread of its own (a `post` function given), the commits run
// as tasks posted to the caller's pool (the async fetch's disk threads):
// one task at a time per Committer, so the order stays the same.
//
// Batches are committed in the order they were pushed. After a failure the
// batches still waiting are dropped, not committed: their intents stay in
// the state store, and the next run's recovery looks for them at the
// destination.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pop3kit/delivery.hpp"
#include "pop3kit/state.hpp"

namespace pop3kit::store::detail {

/// One batch, sealed by the delivering thread.
struct SealedBatch {
  Destination::CommitJob job;  ///< Empty when no message of the batch ended.
  std::vector<DeliveredMessage> delivered;
  std::vector<std::uint64_t> numbers;      ///< Message numbers of `delivered`.
  std::vector<std::string> not_delivered;  ///< Intents to forget.
};

class Committer {
 public:
  /// Runs a task on some other thread, later (never in the caller's call).
  using Post = std::function<void(std::function<void()>)>;

  /// `use_state` false: nothing is recorded (a server without UIDL).
  /// `post` empty: a thread of its own; else the commits are tasks given to
  /// `post`, which must run them while the Committer waits for them (its
  /// pool must not be the one whose threads call push()).
  Committer(const AccountId& account, StateStore& state, bool use_state, Post post = {});
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  /// Queues a batch, waiting while two are already waiting; with `wait`,
  /// returns only once it is committed. Returns the first failure of any
  /// batch so far (the caller stops delivering).
  Result<void> push(SealedBatch batch, bool wait = false);
  /// True once a batch failed (cheap: for every message).
  bool failed() const noexcept { return failed_.load(); }
  /// Waits for every batch, stops the thread, and returns the first failure.
  Result<void> finish();

  /// What was committed; read after finish().
  std::uint64_t delivered() const noexcept { return delivered_; }
  std::uint64_t octets() const noexcept { return octets_; }
  const std::vector<std::uint64_t>& numbers() const noexcept { return numbers_; }

 private:
  static constexpr std::size_t kDepth = 2;

  void run();
  // Commits what is queued, until the queue is empty (a posted task).
  void drain();
  // Takes the front batch under `lock` and commits it without the lock.
  void commit_front(std::unique_lock<std::mutex>& lock);
  Result<void> commit(SealedBatch& batch);

  const AccountId& account_;
  StateStore& state_;
  const bool use_state_;

  std::mutex mu_;
  std::condition_variable ready_, done_;
  std::deque<SealedBatch> queue_;
  bool busy_ = false;
  bool closed_ = false;
  const Post post_;
  bool draining_ = false;  // with post_: a drain() task is queued or running
  std::optional<Error> error_;
  std::atomic<bool> failed_{false};

  // Committing thread until finish(), then the caller's.
  std::uint64_t delivered_ = 0, octets_ = 0;
  std::vector<std::uint64_t> numbers_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace pop3kit::store::detail
