// Bulk operations: many commands in flight when the server pipelines, and
// the check that nothing came unasked before commands go out with none in
// flight (which keeps it off the path of a full pipeline).
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/client.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

using proto::Command;

namespace detail {

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

}  // namespace detail

std::optional<std::uint64_t> Client::highest_message() const noexcept {
  return highest_;
}

bool Client::pipelining() const noexcept {
  return options_.pipelining == ClientOptions::Pipelining::automatic && caps_.has("PIPELINING");
}

Result<void> Client::check_numbers(std::span<const std::uint64_t> numbers, Command c) const {
  if (!transport_) return Error(errc::not_connected, "not connected");
  if (engine_->state() != proto::State::transaction) {
    return detail::refused(make_error_code(errc::wrong_state), c, engine_->state());
  }
  if (std::find(numbers.begin(), numbers.end(), 0U) != numbers.end()) {
    return Error(errc::invalid_argument,
                 std::string("cannot send ") + proto::to_string(c) + ": message number 0");
  }
  return {};
}

// Before commands go out while none is awaiting an answer, the server must
// have said nothing: what it said would be read as the answer to them (an
// extra "+OK" after DELE turns a QUIT -ERR into success). A zero-timeout
// read finds what has arrived; with nothing outstanding that costs one
// system call per lock-step command and nothing while a pipeline is full.
Result<void> Client::check_quiet() {
  if (engine_->awaiting_response() || engine_->pending_output().empty()) return {};
  if (engine_->buffered() > 0) {
    // Left over after the last answer: the engine reports it.
    const proto::Event ev = engine_->next_event();
    if (const auto* f = std::get_if<proto::Failed>(&ev)) {
      return fail(Error(f->code, std::string(f->message)));
    }
  }
  char scratch[512];
  auto n = transport_->read_some(scratch, std::chrono::milliseconds(0));
  if (!n) {
    if (n.error().code == errc::timed_out) return {};
    return fail(std::move(n).error());
  }
  if (*n == 0) {
    return fail(Error(errc::connection_closed,
                      "the server closed the connection while no command was outstanding"));
  }
  const std::string_view said(scratch, *n);
  if (said.starts_with("-ERR")) {
    // A parting word before the server hangs up (Dovecot's "-ERR Disconnected
    // for inactivity."): a dropped session to retry, not a broken server.
    // Either way nothing is taken for an answer.
    return fail(Error(
        errc::connection_closed,
        "the server ended the session: '" + sanitize(said.substr(0, said.find('\r')), 80) + "'"));
  }
  return fail(Error(errc::unexpected_data, "server sent data while no response was expected: '" +
                                               sanitize(said, 80) + "'"));
}

// The one pipelining loop. Commands for items 0..count-1 are queued in order
// while the octets in flight stay under the window (one at a time without
// PIPELINING); answers come back in the same order, so the item an event
// belongs to is the oldest one not yet complete. on_event returns true when
// it has seen the last event of its item's answer.
// `queued` commands are already on their way (sent with a login).
Result<void> Client::pipeline(std::size_t count, const Queue& queue, const OnEvent& on_event,
                              std::size_t queued) {
  const bool deep = pipelining();
  std::size_t done = 0;
  while (done < count) {
    while (queued < count && (engine_->outstanding() == 0 ||
                              (deep && engine_->outstanding_bytes() < options_.pipeline_window))) {
      if (auto ec = queue(queued)) {
        // Checked before the batch began, so only a broken invariant lands here.
        return fail(Error(ec, "cannot queue a pipelined command: " + ec.message()));
      }
      ++queued;
    }
    if (auto r = flush(); !r) return r;
    auto ev = next();
    if (!ev) return std::move(ev).error();
    auto complete = on_event(done, *ev);
    if (!complete) return fail(std::move(complete).error());
    if (*complete) ++done;
  }
  return {};
}

Result<void> Client::fetch_many(std::span<const std::uint64_t> numbers, Command c,
                                std::uint64_t lines, MessageHandler& handler) {
  if (auto r = check_numbers(numbers, c); !r) return r;
  std::uint64_t octets = 0;
  std::error_code sink_error;
  auto what = [&](std::uint64_t n) {
    return std::string(proto::to_string(c)) + " " + std::to_string(n);
  };
  return pipeline(
      numbers.size(),
      [&](std::size_t i) {
        return c == Command::retr ? engine_->retr(numbers[i]) : engine_->top(numbers[i], lines);
      },
      [&](std::size_t i, const proto::Event& ev) -> Result<bool> {
        const std::uint64_t n = numbers[i];
        if (const auto* st = std::get_if<proto::Status>(&ev)) {
          if (!st->ok) {
            handler.failed(n, server_error(*st, what(n)));
            return true;
          }
          octets = 0;
          sink_error = handler.begin(n);
          return false;
        }
        if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
          if (!sink_error) sink_error = handler.data(n, chunk->data);
          if (!sink_error) octets += chunk->data.size();
          return false;
        }
        if (std::holds_alternative<proto::End>(ev)) {
          if (!sink_error) sink_error = handler.end(n, octets);
          if (sink_error) {
            handler.failed(n, Error(errc::sink_failed, what(n) + ": storing the message failed: " +
                                                           sink_error.message()));
          }
          return true;
        }
        return Error(errc::unexpected_data, "unexpected event in the answer to " + what(n));
      });
}

Result<void> Client::retrieve_many(std::span<const std::uint64_t> numbers,
                                   MessageHandler& handler) {
  OperationScope op(*this, "RETR");
  return fetch_many(numbers, Command::retr, 0, handler);
}

Result<void> Client::top_many(std::span<const std::uint64_t> numbers, std::uint64_t lines,
                              MessageHandler& handler) {
  OperationScope op(*this, "TOP");
  return fetch_many(numbers, Command::top, lines, handler);
}

Result<std::vector<Result<void>>> Client::dele_many(std::span<const std::uint64_t> numbers) {
  OperationScope op(*this, "DELE");
  if (auto r = check_numbers(numbers, Command::dele); !r) return std::move(r).error();
  std::vector<Result<void>> results;
  results.reserve(numbers.size());
  auto r = pipeline(
      numbers.size(), [&](std::size_t i) { return engine_->dele(numbers[i]); },
      [&](std::size_t i, const proto::Event& ev) -> Result<bool> {
        const auto* st = std::get_if<proto::Status>(&ev);
        if (st == nullptr) return Error(errc::unexpected_data, "unexpected event after DELE");
        if (st->ok) {
          results.emplace_back();
          ++deleted_;
        } else {
          results.emplace_back(server_error(*st, "DELE " + std::to_string(numbers[i])));
        }
        return true;
      });
  if (!r) return std::move(r).error();
  return results;
}

namespace {

// LIST and UIDL answers (LIST first), merged into one entry per message.
// LIST's refusal is turned into an Error at once (by `refused`): its text is
// a view into the receive buffer, gone once UIDL's answer is read.
struct Listing {
  Listing(std::function<Error(const proto::Status&)> f, std::optional<std::uint64_t> highest,
          std::size_t max_entries)
      : refused(std::move(f)),
        list_check("LIST", highest, max_entries),
        uidl_check("UIDL", highest, max_entries) {}

  std::function<Error(const proto::Status&)> refused;
  std::vector<MessageEntry> entries;
  std::map<std::uint64_t, std::string> uids;
  std::optional<Error> list_error;
  detail::ListingCheck list_check;
  detail::ListingCheck uidl_check;
  bool uidl_ok = false;

  std::error_code queue(proto::Engine& engine, std::size_t i) const {
    return i == 0 ? engine.list() : engine.uidl();
  }
  Result<bool> on_event(std::size_t i, const proto::Event& ev) {
    if (const auto* st = std::get_if<proto::Status>(&ev)) {
      if (st->ok) {
        if (i == 1) uidl_ok = true;
        return false;
      }
      if (i == 0) list_error = refused(*st);
      return true;  // UIDL refused: no uids, not an error
    }
    if (const auto* e = std::get_if<proto::ListEntry>(&ev)) {
      if (auto bad = list_check.add(e->number)) return std::move(*bad);
      entries.push_back({e->number, e->size, {}});
      return false;
    }
    if (const auto* u = std::get_if<proto::UidlEntry>(&ev)) {
      if (auto bad = uidl_check.add(u->number)) return std::move(*bad);
      uids[u->number] = std::string(u->uid);
      return false;
    }
    if (!std::holds_alternative<proto::End>(ev)) return false;
    if (auto bad = (i == 0 ? list_check : uidl_check).finish()) return std::move(*bad);
    return true;
  }
  // LIST and UIDL must show the same messages: a message without a UID
  // would be fetched again every run, a UID without a message never.
  Result<std::vector<MessageEntry>> merged() {
    if (list_error) return std::move(*list_error);
    if (!uidl_ok) return std::move(entries);
    for (auto& e : entries) {
      auto it = uids.find(e.number);
      if (it == uids.end()) {
        return Error(errc::bad_message_number, "LIST and UIDL disagree: message " +
                                                   std::to_string(e.number) +
                                                   " is in LIST but not in UIDL");
      }
      e.uid = std::move(it->second);
    }
    if (uids.size() != entries.size()) {
      std::vector<std::uint64_t> listed = list_check.numbers();
      std::sort(listed.begin(), listed.end());
      for (const auto& u : uids) {
        if (!std::binary_search(listed.begin(), listed.end(), u.first)) {
          return Error(errc::bad_message_number, "LIST and UIDL disagree: message " +
                                                     std::to_string(u.first) +
                                                     " is in UIDL but not in LIST");
        }
      }
    }
    return std::move(entries);
  }
};

}  // namespace

Result<std::vector<MessageEntry>> Client::list_with_uidl() {
  OperationScope op(*this, "LIST and UIDL");
  if (auto r = check_numbers({}, Command::list); !r) return std::move(r).error();
  Listing listing{[this](const proto::Status& st) { return server_error(st, "LIST"); },
                  highest_message(), options_.max_listing};
  auto r = pipeline(
      2, [&](std::size_t i) { return listing.queue(*engine_, i); },
      [&](std::size_t i, const proto::Event& ev) { return listing.on_event(i, ev); });
  if (!r) return std::move(r).error();
  auto merged = listing.merged();
  if (!merged && is_protocol_error(merged.error().code)) return fail(std::move(merged).error());
  return merged;
}

Result<std::vector<MessageEntry>> Client::login_and_list(std::string_view user,
                                                         std::string_view password,
                                                         LoginOptions options) {
  Listing listing{[this](const proto::Status& st) { return server_error(st, "LIST"); },
                  highest_message(), options_.max_listing};
  const FollowUp then{
      2, [&](std::size_t i) { return listing.queue(*engine_, i); },
      [&](std::size_t i, const proto::Event& ev) { return listing.on_event(i, ev); }};
  if (auto r = login_then(user, password, options, &then); !r) return std::move(r).error();
  auto merged = listing.merged();
  if (!merged && is_protocol_error(merged.error().code)) return fail(std::move(merged).error());
  return merged;
}

Result<MailboxStat> Client::login_and_stat(std::string_view user, std::string_view password,
                                           LoginOptions options) {
  MailboxStat stat;
  std::optional<Error> stat_error;
  const FollowUp then{1, [&](std::size_t) { return engine_->stat(); },
                      [&](std::size_t, const proto::Event& ev) -> Result<bool> {
                        if (const auto* st = std::get_if<proto::Status>(&ev)) {
                          if (st->ok) return false;
                          stat_error = server_error(*st, "STAT");
                          return true;
                        }
                        if (const auto* r = std::get_if<proto::StatReply>(&ev)) {
                          stat = {r->count, r->size};
                          if (!highest_) highest_ = detail::saturated_sum(r->count, deleted_);
                          return true;
                        }
                        return Error(errc::unexpected_data, "unexpected event after STAT");
                      }};
  if (auto r = login_then(user, password, options, &then); !r) return std::move(r).error();
  if (stat_error) return std::move(*stat_error);
  return stat;
}

}  // namespace pop3kit
