// fetch_account(): retrieve → deliver → make durable → commit → DELE → QUIT.
#include "pop3kit/fetch.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "committer.hpp"
#include "pop3kit/spooler.hpp"

namespace pop3kit::store {
namespace {

using Clock = std::chrono::steady_clock;

// The key of a message in the state store: its UID. RFC 1939 lets two
// identical messages share a UID; the second and later get " #k" appended
// (a space never occurs in a UID, so no real UID collides with it).
std::vector<std::string> state_keys(const std::vector<MessageEntry>& listing) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  keys.reserve(listing.size());
  for (const auto& m : listing) {
    const int k = seen[m.uid]++;
    keys.push_back(k == 0 ? m.uid : m.uid + " #" + std::to_string(k));
  }
  return keys;
}

// One message to fetch, with its state key.
struct Item {
  MessageRef ref;
  std::string key;
};

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
  BatchRunner(const FetchPlan& plan, const std::vector<Item>& items, Destination& destination,
              StateStore& state, bool use_state, Progress& progress, FetchReport& report)
      : plan_(plan),
        items_(items),
        destination_(destination),
        state_(state),
        use_state_(use_state),
        progress_(progress),
        report_(report),
        intent_flush_(destination.flush_covers(state.path()) ? StateStore::IntentFlush::by_caller
                                                             : StateStore::IntentFlush::now),
        committer_(plan.account, state, use_state) {
    for (std::size_t i = 0; i < items_.size(); ++i)
      index_[items_[i].ref.number] = i;
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

  std::error_code refuse() { return make_error_code(errc::sink_failed); }

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
    const std::size_t most = destination_.durability() == Durability::per_message
                                 ? 1
                                 : std::max<std::size_t>(1, plan_.options.batch_messages);
    std::uint64_t bytes = 0;
    std::size_t last = first;
    while (last < items_.size() && last - first < most &&
           (last == first || bytes + items_[last].ref.size <= plan_.options.batch_bytes)) {
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

}  // namespace

Result<std::uint64_t> recover_pending(const AccountId& account, StateStore& state,
                                      Destination& destination) {
  auto pending = state.pending(account);
  if (!pending) return std::move(pending).error();
  std::vector<DeliveredMessage> found;
  std::vector<std::string> gone;
  // An intent recorded for another destination (the configuration changed
  // since the crash) is resolved there, not here.
  std::map<std::string, std::unique_ptr<Destination>> others;
  for (const MessageRecord& rec : *pending) {
    Destination* where = &destination;
    if (rec.destination != destination.spec()) {
      auto& other = others[rec.destination];
      if (!other) {
        auto made = parse_destination(rec.destination);
        if (!made) return std::move(made).error();
        if (auto r = (*made)->open(); !r) return std::move(r).error();
        other = std::move(*made);
      }
      where = other.get();
    }
    auto there = where->recover(rec.reservation);
    if (!there) return std::move(there).error();
    if (*there) {
      found.push_back(DeliveredMessage{rec.uid, Stored{rec.reservation.name, 0}});
    } else {
      gone.push_back(rec.uid);
    }
  }
  if (!found.empty()) {
    if (auto r = state.mark_delivered(account, found); !r) return std::move(r).error();
  }
  if (!gone.empty()) {
    if (auto r = state.forget(account, gone); !r) return std::move(r).error();
  }
  return static_cast<std::uint64_t>(found.size());
}

FetchReport fetch_account(Client& client, const FetchPlan& plan, Destination& destination,
                          StateStore& state, Progress& progress,
                          const std::vector<MessageEntry>* listed) {
  FetchReport report;
  const FetchOptions& options = plan.options;
  auto stop = [&](Error e) {
    // No QUIT: nothing marked deleted in this session is removed.
    client.close();
    report.error = std::move(e);
    return report;
  };

  if (!options.dry_run) {
    auto recovered = recover_pending(plan.account, state, destination);
    if (!recovered) return stop(std::move(recovered).error());
    report.recovered = *recovered;
  }

  std::vector<MessageEntry> own_listing;
  if (listed == nullptr) {
    auto l = client.list_with_uidl();
    if (!l) return stop(std::move(l).error());
    own_listing = std::move(*l);
    listed = &own_listing;
  }
  const std::vector<MessageEntry>& listing = *listed;
  report.listed = listing.size();
  report.uidl = std::all_of(listing.begin(), listing.end(),
                            [](const MessageEntry& m) { return !m.uid.empty(); });
  auto warn = [&](std::string text) {
    progress.warning(text);
    report.warnings.push_back(std::move(text));
  };
  if (!report.uidl) {
    warn(
        "the server has no UIDL: pop3kit cannot tell which messages it fetched before, so every "
        "message is fetched" +
        std::string(options.remove ? "" : " again on each run (use --delete)"));
  }
  if (!options.remove) {
    if (auto expire = client.capabilities().expire(); expire && expire->value == 0U) {
      warn(
          "the server says EXPIRE 0: it deletes messages once they are retrieved, whether or not "
          "pop3kit keeps them");
    }
  }

  // What the state says about each listed message.
  std::map<std::string, MessageState> known;
  if (report.uidl) {
    auto records = state.records(plan.account);
    if (!records) return stop(std::move(records).error());
    for (const auto& r : *records)
      if (r.state != MessageState::intent) known[r.uid] = r.state;
  }
  const std::vector<std::string> keys =
      report.uidl ? state_keys(listing) : std::vector<std::string>(listing.size());
  std::vector<Item> to_fetch;
  std::vector<Item> to_delete;  // delivered in an earlier run, not yet deleted
  for (std::size_t i = 0; i < listing.size(); ++i) {
    const MessageEntry& m = listing[i];
    Item item{MessageRef{m.number, m.uid, m.size}, keys[i]};
    const bool fetched_before = report.uidl && known.count(keys[i]) != 0;
    if (fetched_before && !options.all) {
      if (options.remove) to_delete.push_back(std::move(item));
      continue;
    }
    if (options.max_size && m.size > *options.max_size) {
      report.too_big.push_back(item.ref);
      continue;
    }
    to_fetch.push_back(std::move(item));
  }
  report.fresh = to_fetch.size();

  if (options.dry_run) {
    for (const auto& item : to_fetch)
      report.would_fetch.push_back(item.ref);
    report.quit_ok = client.quit().ok();
    return report;
  }

  std::uint64_t total = 0;
  for (const auto& item : to_fetch)
    total += item.ref.size;
  progress.start(to_fetch.size(), total);

  BatchRunner runner(plan, to_fetch, destination, state, report.uidl, progress, report);
  std::optional<Error> session_error;
  if (!to_fetch.empty()) {
    std::vector<std::uint64_t> numbers, sizes;
    numbers.reserve(to_fetch.size());
    sizes.reserve(to_fetch.size());
    for (const auto& item : to_fetch) {
      numbers.push_back(item.ref.number);
      sizes.push_back(item.ref.size);
    }
    // The deliveries run on the spooler's thread while this one reads.
    Spooler spooler(runner);
    if (auto r = client.retrieve_many(numbers, spooler, sizes); !r) {
      session_error = std::move(r).error();
    }
    spooler.finish();
  }
  // What ended is made durable and recorded even when the session broke.
  if (auto r = runner.finish(); !r) return stop(std::move(r).error());
  if (session_error) return stop(std::move(*session_error));

  // DELE only what is durable and recorded as delivered: this run's
  // deliveries, and earlier ones whose deletion was never confirmed.
  std::vector<std::uint64_t> dele_numbers;
  std::vector<std::string> dele_keys;
  std::vector<MessageRef> dele_refs;
  if (options.remove) {
    for (const auto& item : to_delete) {
      dele_numbers.push_back(item.ref.number);
      dele_keys.push_back(item.key);
      dele_refs.push_back(item.ref);
    }
    std::map<std::uint64_t, const Item*> by_number;
    for (const auto& item : to_fetch)
      by_number[item.ref.number] = &item;
    for (const std::uint64_t n : runner.delivered_numbers()) {
      dele_numbers.push_back(n);
      dele_keys.push_back(by_number.at(n)->key);
      dele_refs.push_back(by_number.at(n)->ref);
    }
  }
  std::vector<std::string> deleted_keys;
  if (!dele_numbers.empty()) {
    auto results = client.dele_many(dele_numbers);
    if (!results) return stop(std::move(results).error());
    for (std::size_t i = 0; i < results->size(); ++i) {
      if ((*results)[i]) {
        deleted_keys.push_back(dele_keys[i]);
      } else {
        report.failures.push_back(MessageFailure{dele_refs[i], (*results)[i].error()});
      }
    }
  }

  // RFC 1939 §6: the server removes the messages only when it answers QUIT
  // with +OK; anything else and they are still there, and the state keeps
  // them "delivered", to be DELE'd by the next run.
  auto quit = client.quit();
  report.quit_ok = quit.ok();
  if (!quit) {
    if (!deleted_keys.empty()) {
      Error e = std::move(quit).error();
      e.message = "QUIT: " + e.message + "; the server did not confirm the deletion of " +
                  std::to_string(deleted_keys.size()) +
                  " delivered message(s): the next run deletes them";
      report.error = std::move(e);
    }
    return report;
  }
  if (report.uidl && !deleted_keys.empty()) {
    if (auto r = state.mark_deleted(plan.account, deleted_keys); !r) {
      report.error = std::move(r).error();
      return report;
    }
  }
  report.deleted = deleted_keys.size();
  return report;
}

}  // namespace pop3kit::store
