// pop3kit::store — Committer: batches made durable on a thread of their own,
// or as tasks on a pool.
#include "committer.hpp"

#include <utility>

namespace pop3kit::store::detail {

Committer::Committer(const AccountId& account, StateStore& state, bool use_state, Post post)
    : account_(account), state_(state), use_state_(use_state), post_(std::move(post)) {
  if (!post_) thread_ = std::thread([this] { run(); });
}

Committer::~Committer() {
  (void)finish();
}

Result<void> Committer::push(SealedBatch batch, bool wait) {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return queue_.size() < kDepth || error_; });
  if (error_) return *error_;
  queue_.push_back(std::move(batch));
  if (post_) {
    if (!std::exchange(draining_, true)) post_([this] { drain(); });
  } else {
    ready_.notify_one();
  }
  if (wait) done_.wait(lock, [&] { return (queue_.empty() && !busy_ && !draining_) || error_; });
  if (error_) return *error_;
  return {};
}

Result<void> Committer::finish() {
  if (thread_.joinable()) {
    {
      const std::lock_guard lock(mu_);
      closed_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  std::unique_lock lock(mu_);
  // A posted drain() refers to this Committer: it must have ended.
  done_.wait(lock, [&] { return !draining_; });
  if (error_) return *error_;
  return {};
}

void Committer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) break;
    commit_front(lock);
  }
}

void Committer::drain() {
  std::unique_lock lock(mu_);
  while (!queue_.empty())
    commit_front(lock);
  draining_ = false;
  done_.notify_all();
}

void Committer::commit_front(std::unique_lock<std::mutex>& lock) {
  SealedBatch batch = std::move(queue_.front());
  queue_.pop_front();
  if (error_) {
    // After a failure nothing more is committed (see the header).
    done_.notify_all();
    return;
  }
  busy_ = true;
  lock.unlock();
  auto r = commit(batch);
  lock.lock();
  busy_ = false;
  if (!r && !error_) {
    error_ = std::move(r).error();
    failed_.store(true);
  }
  done_.notify_all();
}

// Durable first, then recorded as delivered; the intents of messages not
// delivered are dropped.
Result<void> Committer::commit(SealedBatch& batch) {
  if (batch.job) {
    if (auto r = batch.job(); !r) return r;
  }
  if (use_state_ && !batch.delivered.empty()) {
    if (auto r = state_.mark_delivered(account_, batch.delivered); !r) return r;
  }
  if (use_state_ && !batch.not_delivered.empty()) {
    if (auto r = state_.forget(account_, batch.not_delivered); !r) return r;
  }
  delivered_ += batch.delivered.size();
  for (const auto& m : batch.delivered)
    octets_ += m.stored.size;
  numbers_.insert(numbers_.end(), batch.numbers.begin(), batch.numbers.end());
  return {};
}

}  // namespace pop3kit::store::detail
