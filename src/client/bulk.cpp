// Bulk operations: many commands in flight when the server pipelines.
#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "client_detail.hpp"
#include "pop3kit/client.hpp"

namespace pop3kit {

using proto::Command;

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
  return fetch_many(numbers, Command::retr, 0, handler);
}

Result<void> Client::top_many(std::span<const std::uint64_t> numbers, std::uint64_t lines,
                              MessageHandler& handler) {
  return fetch_many(numbers, Command::top, lines, handler);
}

Result<std::vector<Result<void>>> Client::dele_many(std::span<const std::uint64_t> numbers) {
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
  explicit Listing(std::function<Error(const proto::Status&)> f) : refused(std::move(f)) {}

  std::function<Error(const proto::Status&)> refused;
  std::vector<MessageEntry> entries;
  std::map<std::uint64_t, std::string> uids;
  std::optional<Error> list_error;

  std::error_code queue(proto::Engine& engine, std::size_t i) const {
    return i == 0 ? engine.list() : engine.uidl();
  }
  Result<bool> on_event(std::size_t i, const proto::Event& ev) {
    if (const auto* st = std::get_if<proto::Status>(&ev)) {
      if (st->ok) return false;
      if (i == 0) list_error = refused(*st);
      return true;  // UIDL refused: no uids, not an error
    }
    if (const auto* e = std::get_if<proto::ListEntry>(&ev)) {
      entries.push_back({e->number, e->size, {}});
      return false;
    }
    if (const auto* u = std::get_if<proto::UidlEntry>(&ev)) {
      uids[u->number] = std::string(u->uid);
      return false;
    }
    return std::holds_alternative<proto::End>(ev);
  }
  std::vector<MessageEntry> merged() {
    for (auto& e : entries) {
      if (auto it = uids.find(e.number); it != uids.end()) e.uid = std::move(it->second);
    }
    return std::move(entries);
  }
};

}  // namespace

Result<std::vector<MessageEntry>> Client::list_with_uidl() {
  if (auto r = check_numbers({}, Command::list); !r) return std::move(r).error();
  Listing listing{[this](const proto::Status& st) { return server_error(st, "LIST"); }};
  auto r = pipeline(
      2, [&](std::size_t i) { return listing.queue(*engine_, i); },
      [&](std::size_t i, const proto::Event& ev) { return listing.on_event(i, ev); });
  if (!r) return std::move(r).error();
  if (listing.list_error) return std::move(*listing.list_error);
  return listing.merged();
}

Result<std::vector<MessageEntry>> Client::login_and_list(std::string_view user,
                                                         std::string_view password,
                                                         LoginOptions options) {
  Listing listing{[this](const proto::Status& st) { return server_error(st, "LIST"); }};
  const FollowUp then{
      2, [&](std::size_t i) { return listing.queue(*engine_, i); },
      [&](std::size_t i, const proto::Event& ev) { return listing.on_event(i, ev); }};
  if (auto r = login_then(user, password, options, &then); !r) return std::move(r).error();
  if (listing.list_error) return std::move(*listing.list_error);
  return listing.merged();
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
                          return true;
                        }
                        return Error(errc::unexpected_data, "unexpected event after STAT");
                      }};
  if (auto r = login_then(user, password, options, &then); !r) return std::move(r).error();
  if (stat_error) return std::move(*stat_error);
  return stat;
}

}  // namespace pop3kit
