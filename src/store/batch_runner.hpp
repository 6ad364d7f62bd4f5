// pop3kit::store — BatchRunner: the deliveries of one retrieval, in batches.
//
// Shared by the blocking fetch_account() (pop3kit/fetch.hpp), where it runs
// on a Spooler's thread, and the asynchronous one (pop3kit/async_fetch.hpp),
// where it runs as tasks on the disk pool; either way one thread at a time
// calls it, in the order the client made the calls.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "committer.hpp"
#include "fetch_steps.hpp"
#include "pop3kit/fetch.hpp"

namespace pop3kit::store::detail {

using Clock = std::chrono::steady_clock;

// Receives the pipelined retrieval (on the spooler's thread) and runs the
// batches inside it: a batch opens when its first message begins (its
// reservations are recorded as intents in one transaction), and is sealed
// when its last message is done or when it has been open longer than the
// time bound; the committer's thread then makes it durable and marks it
// delivered while the next batch is written. DELE comes after the
// retrieval, for everything delivered.
class BatchRunner final : public MessageHandler {
 public:
  // Without UIDL (`use_state` false) there is nothing to key a record by:
  // messages are delivered and made durable the same way, but not recorded.
  // `post`: where the Committer's commits run (empty: a thread of its own).
  BatchRunner(const FetchPlan& plan, const std::vector<Item>& items, Destination& destination,
              StateStore& state, bool use_state, Progress& progress, FetchReport& report,
              Committer::Post post = {})
      : plan_(plan),
        items_(items),
        destination_(destination),
        state_(state),
        use_state_(use_state),
        progress_(progress),
        report_(report),
        intent_flush_(destination.flush_covers(state.path()) ? StateStore::IntentFlush::by_caller
                                                             : StateStore::IntentFlush::now),
        committer_(plan.account, state, use_state, std::move(post)) {
    for (std::size_t i = 0; i < items_.size(); ++i)
      index_[items_[i].ref.number] = i;
    left_bytes_.assign(items_.size() + 1, 0);
    for (std::size_t i = items_.size(); i-- > 0;)
      left_bytes_[i] = left_bytes_[i + 1] + items_[i].ref.size;
  }

  std::error_code begin(std::uint64_t number) override {
    const std::size_t i = index_.at(number);
    current_ = i;
    if (!fatal_ && committer_.failed()) fatal_ = committer_.finish().error();
    if (fatal_) {
      // The run is over: the rest of the retrieval is drained, not stored,
      // and these messages are simply not fetched (not failures of their own).
      quiet_refusal_ = true;
      return refuse();
    }
    if (i >= batch_end_) {
      if (auto r = open_batch(i); !r) {
        fatal_ = std::move(r).error();
        message_error_ = *fatal_;
        return refuse();
      }
    }
    const Reservation& res = reservations_.at(i - batch_begin_);
    if (auto r = destination_.begin(res); !r) return refuse_message(std::move(r).error());
    writing_ = true;
    return {};
  }

  std::error_code data(std::uint64_t, std::string_view chunk) override {
    if (auto r = destination_.write(chunk); !r) return refuse_message(std::move(r).error());
    received_ += chunk.size();
    progress_.received(received_);
    return {};
  }

  std::error_code end(std::uint64_t, std::uint64_t) override {
    writing_ = false;
    auto stored = destination_.end();
    if (!stored) return refuse_message(std::move(stored).error());
    const Item& item = items_[current_];
    ended_.push_back(DeliveredMessage{item.key, std::move(*stored)});
    ended_numbers_.push_back(item.ref.number);
    progress_.message_done(item.ref, true);
    if (current_ + 1 == batch_end_ || Clock::now() - opened_ >= kBatchTime) {
      if (auto r = close_batch(); !r) fatal_ = std::move(r).error();
    }
    return {};
  }

  void failed(std::uint64_t number, const Error& error) override {
    const std::size_t i = index_.at(number);
    current_ = i;
    if (writing_) destination_.abort();
    writing_ = false;
    progress_.message_done(items_[i].ref, false);
    if (std::exchange(quiet_refusal_, false)) return;
    // The destination's own error says more than the client's "storing the
    // message failed" wrapper around it.
    Error why = error;
    if (message_error_) why = *std::exchange(message_error_, std::nullopt);
    report_.failures.push_back(MessageFailure{items_[i].ref, std::move(why)});
    if (i >= batch_begin_ && i < batch_end_) not_delivered_.push_back(items_[i].key);
    if (i + 1 == batch_end_ && !fatal_) {
      if (auto r = close_batch(); !r) fatal_ = std::move(r).error();
    }
  }

  // After the retrieval, whether it ran to its end or the session broke: a
  // message cut off mid-way is removed, and what ended is made durable.
  Result<void> finish() {
    if (writing_) {
      // Cut off mid-message by the session's end.
      destination_.abort();
      not_delivered_.push_back(items_[current_].key);
    }
    writing_ = false;
    // After a destination or state failure the open batch's intents stay as
    // they are; the next run's recovery looks at the destination.
    Result<void> closed = fatal_ ? Result<void>(*fatal_) : close_batch();
    // Whatever happened, the batches already sealed are committed (or, after
    // a failure, dropped) before the counts are read.
    Result<void> committed = committer_.finish();
    report_.delivered += committer_.delivered();
    report_.octets += committer_.octets();
    if (!closed) return closed;
    return committed;
  }

  const std::vector<std::uint64_t>& delivered_numbers() const { return committer_.numbers(); }

 private:
  // A batch should not hold messages back from being durable (and DELE'd)
  // for long on a slow link.
  static constexpr std::chrono::seconds kBatchTime{5};
  // Near the end each batch takes half of what is left, down to these: the
  // last commit, the one paid after the last message has arrived, is then a
  // small one, while the batches before it are committed as the retrieval
  // goes on.
  static constexpr std::uint64_t kTailBytes = 256 * 1024;
  static constexpr std::size_t kTailMessages = 16;

  static std::error_code refuse() { return make_error_code(errc::sink_failed); }

  std::error_code refuse_message(Error e) {
    writing_ = false;
    destination_.abort();
    message_error_ = std::move(e);
    return refuse();
  }

  // Reserves the messages from `first` on, up to the batch bounds, and
  // records the intents before any of them is written.
  Result<void> open_batch(std::size_t first) {
    if (auto r = close_batch(); !r) return r;
    // A command's delivery is final when it exits: recording each at once
    // keeps what a crash can deliver twice down to one message.
    std::size_t most = destination_.durability() == Durability::per_message
                           ? 1
                           : std::max<std::size_t>(1, plan_.options.batch_messages);
    std::uint64_t bound = plan_.options.batch_bytes;
    const std::size_t left = items_.size() - first;
    if (left <= 2 * most) most = std::max(std::min(most, kTailMessages), left / 2);
    if (left_bytes_[first] <= 2 * bound)
      bound = std::max(std::min(bound, kTailBytes), left_bytes_[first] / 2);
    std::uint64_t bytes = 0;
    std::size_t last = first;
    while (last < items_.size() && last - first < most &&
           (last == first || bytes + items_[last].ref.size <= bound)) {
      bytes += items_[last].ref.size;
      ++last;
    }
    reservations_.clear();
    for (std::size_t i = first; i < last; ++i) {
      auto res = destination_.reserve(items_[i].key);
      if (!res) return std::move(res).error();
      reservations_.push_back(std::move(*res));
    }
    if (use_state_) {
      // Off the delivering thread's path where the batch's own flush will
      // make the intents durable before any message becomes visible.
      if (auto r = state_.record_intents(plan_.account, destination_.spec(), reservations_,
                                         intent_flush_);
          !r) {
        return r;
      }
    }
    batch_begin_ = first;
    batch_end_ = last;
    opened_ = Clock::now();
    return {};
  }

  // Sealed here and committed by the committer's thread: made durable,
  // then recorded as delivered; reservations not delivered (failed, or not
  // reached when the time bound closed the batch early) are forgotten, and
  // reserved again if the retrieval gets to them.
  Result<void> close_batch() {
    if (batch_end_ == batch_begin_) return {};
    for (std::size_t i = current_ + 1; i < batch_end_; ++i)
      not_delivered_.push_back(items_[i].key);
    detail::SealedBatch batch;
    if (!ended_.empty()) {
      auto job = destination_.seal();
      if (!job) return std::move(job).error();
      batch.job = std::move(*job);
    }
    batch.delivered = std::exchange(ended_, {});
    batch.numbers = std::exchange(ended_numbers_, {});
    batch.not_delivered = std::exchange(not_delivered_, {});
    reservations_.clear();
    batch_begin_ = batch_end_ = current_ + 1;
    // A command's delivery is recorded before the next command starts (at
    // most one message can be delivered twice after a crash).
    return committer_.push(std::move(batch), destination_.durability() == Durability::per_message);
  }

  const FetchPlan& plan_;
  const std::vector<Item>& items_;
  Destination& destination_;
  StateStore& state_;
  const bool use_state_;
  Progress& progress_;
  FetchReport& report_;
  std::map<std::uint64_t, std::size_t> index_;
  std::vector<std::uint64_t> left_bytes_;  // [i]: LIST size of items_ i.. to the end

  std::size_t batch_begin_ = 0, batch_end_ = 0, current_ = 0;
  Clock::time_point opened_;
  std::vector<Reservation> reservations_;
  std::vector<DeliveredMessage> ended_;
  std::vector<std::uint64_t> ended_numbers_;
  std::vector<std::string> not_delivered_;
  bool writing_ = false;
  bool quiet_refusal_ = false;
  std::uint64_t received_ = 0;
  std::optional<Error> message_error_;  // the destination's error for the current message
  std::optional<Error> fatal_;          // stops the run: the destination or state store failed

  const StateStore::IntentFlush intent_flush_;
  detail::Committer committer_;  // last: its thread stops before the rest goes
};

}  // namespace pop3kit::store::detail
