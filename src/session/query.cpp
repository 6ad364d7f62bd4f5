// What is asked once logged in: LIST with UIDL, or STAT. The listing checks
// guard memory and the numbers the fetcher acts on (a message without a UID
// would be fetched again every run, a UID without a message never).
#include <algorithm>
#include <variant>

#include "pop3kit/session.hpp"

namespace pop3kit::session {

std::optional<Error> ListingCheck::add(std::uint64_t number) {
  const std::string at = std::string(what_) + " response: message " + std::to_string(number);
  if (number == 0 || (highest_ && number > *highest_)) {
    return Error(errc::bad_message_number,
                 at + " does not exist (" +
                     (highest_ ? "the highest number is " + std::to_string(*highest_) + " by STAT"
                               : "numbers start at 1") +
                     ")");
  }
  // With STAT's count known, a listing longer than it repeats a number,
  // even when it comes out of order (where repeats are found at its end):
  // caught as soon as it happens, so it never grows past that count.
  if (highest_ && numbers_.size() >= *highest_) {
    return Error(errc::bad_message_number,
                 at + ": more entries than the " + std::to_string(*highest_) +
                     " messages STAT counted, so a number is listed twice");
  }
  if (numbers_.size() >= max_entries_) {
    return Error(errc::listing_too_long, std::string(what_) + " response: more than " +
                                             std::to_string(max_entries_) +
                                             " entries (ClientOptions::max_listing)");
  }
  if (!numbers_.empty() && number <= numbers_.back()) {
    // While the listing ascends, a repeat is caught at once.
    if (ascending_ && std::binary_search(numbers_.begin(), numbers_.end(), number)) {
      return Error(errc::bad_message_number, at + " is listed twice");
    }
    ascending_ = false;
  }
  numbers_.push_back(number);
  return std::nullopt;
}

std::optional<Error> ListingCheck::finish() {
  if (ascending_) return std::nullopt;
  std::vector<std::uint64_t> sorted = numbers_;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice == sorted.end()) return std::nullopt;
  return Error(errc::bad_message_number, std::string(what_) + " response: message " +
                                             std::to_string(*twice) + " is listed twice");
}

Query::Query(Kind kind)
    : Operation(Error(errc::wrong_state, "not sent: the login before it did not succeed")),
      kind_(kind) {}

void Query::prepare(const Facts& facts, bool pipelining) {
  deep_ = pipelining;
  window_ = facts.pipeline_window;
  highest_ = facts.highest;
  max_listing_ = facts.max_listing;
}

std::error_code Query::queue(proto::Engine& engine) const {
  if (kind_ == Kind::stat) return engine.stat();
  return queued_ == 0 ? engine.list() : engine.uidl();
}

std::error_code Query::queue_all(proto::Engine& engine) {
  for (; queued_ < count(); ++queued_) {
    if (auto ec = queue(engine)) return ec;
  }
  return {};
}

void Query::start(proto::Engine& engine) {
  list_check_.emplace("LIST", highest_, max_listing_);
  uidl_check_.emplace("UIDL", highest_, max_listing_);
  fill(engine);
}

// Commands go out while the octets in flight stay under the window (one at
// a time without pipelining); answers come back in the same order.
void Query::fill(proto::Engine& engine) {
  while (queued_ < count() &&
         (engine.outstanding() == 0 || (deep_ && engine.outstanding_bytes() < window_))) {
    if (auto ec = queue(engine)) {
      // The driver checked the state before the query began, so only a
      // broken invariant lands here.
      lose(Error(ec, "cannot queue a pipelined command: " + ec.message()));
      return;
    }
    ++queued_;
  }
}

void Query::on_event(proto::Engine& engine, const proto::Event& event) {
  const bool complete = kind_ == Kind::listing ? on_listing_event(event) : on_stat_event(event);
  if (done() || !complete) return;
  if (++answered_ < count()) {
    fill(engine);
    return;
  }
  if (kind_ == Kind::listing) {
    merge();
  } else if (stat_error_) {
    finish(std::move(*stat_error_));
  } else {
    finish();
  }
}

// LIST's refusal is turned into an Error at once: its text is a view into
// the receive buffer, gone once UIDL's answer is read.
bool Query::on_listing_event(const proto::Event& ev) {
  if (const auto* st = std::get_if<proto::Status>(&ev)) {
    if (st->ok) {
      if (answered_ == 1) uidl_ok_ = true;
      return false;
    }
    if (answered_ == 0) list_error_ = server_error(*st, "LIST");
    return true;  // UIDL refused: no uids, not an error
  }
  if (const auto* e = std::get_if<proto::ListEntry>(&ev)) {
    if (auto bad = list_check_->add(e->number)) {
      lose(std::move(*bad));
      return false;
    }
    entries_.push_back({e->number, e->size, {}});
    return false;
  }
  if (const auto* u = std::get_if<proto::UidlEntry>(&ev)) {
    if (auto bad = uidl_check_->add(u->number)) {
      lose(std::move(*bad));
      return false;
    }
    uids_[u->number] = std::string(u->uid);
    return false;
  }
  if (!std::holds_alternative<proto::End>(ev)) return false;
  if (auto bad = (answered_ == 0 ? *list_check_ : *uidl_check_).finish()) {
    lose(std::move(*bad));
    return false;
  }
  return true;
}

bool Query::on_stat_event(const proto::Event& ev) {
  if (const auto* st = std::get_if<proto::Status>(&ev)) {
    if (st->ok) return false;
    stat_error_ = server_error(*st, "STAT");
    return true;
  }
  if (const auto* r = std::get_if<proto::StatReply>(&ev)) {
    stat_ = {r->count, r->size};
    return true;
  }
  lose(Error(errc::unexpected_data, "unexpected event after STAT"));
  return false;
}

// LIST and UIDL must show the same messages.
void Query::merge() {
  if (list_error_) {
    finish(std::move(*list_error_));
    return;
  }
  if (!uidl_ok_) {
    finish();
    return;
  }
  for (auto& e : entries_) {
    auto it = uids_.find(e.number);
    if (it == uids_.end()) {
      lose(Error(errc::bad_message_number, "LIST and UIDL disagree: message " +
                                               std::to_string(e.number) +
                                               " is in LIST but not in UIDL"));
      return;
    }
    e.uid = std::move(it->second);
  }
  if (uids_.size() != entries_.size()) {
    std::vector<std::uint64_t> listed = list_check_->numbers();
    std::sort(listed.begin(), listed.end());
    for (const auto& u : uids_) {
      if (!std::binary_search(listed.begin(), listed.end(), u.first)) {
        lose(Error(errc::bad_message_number, "LIST and UIDL disagree: message " +
                                                 std::to_string(u.first) +
                                                 " is in UIDL but not in LIST"));
        return;
      }
    }
  }
  uids_.clear();
  finish();
}

}  // namespace pop3kit::session
