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

namespace {
// Octets of answers expected in a pipeline (ClientOptions::pipeline_octets),
// where no size is known: a message (mail's median size is a few tens of
// KB), a TOP (headers and a few lines), and a status line ("+OK ...").
constexpr std::uint64_t kUnknownMessage = 64 * 1024;
constexpr std::uint64_t kUnknownTop = 4 * 1024;
constexpr std::uint64_t kStatusOctets = 64;
}  // namespace

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

// Writes what the transport takes at once, without waiting: the rest stays
// in the engine's output for the next call. While a pipeline runs, this is
// how commands go out, so that the client never sits in a write while the
// server sits in one too (a server that answers in full before it reads on
// fills its socket, and ours, when nobody reads). Blocking on a read
// instead is safe: commands go out in order, so the oldest outstanding one,
// whose answer is awaited, has been written in full (a socket full of later
// ones would mean the server is not reading, and so has that one).
Result<void> Client::write_ready() {
  if (auto quiet = check_quiet(); !quiet) return quiet;
  while (!engine_->pending_output().empty()) {
    auto n = transport_->write_some(engine_->pending_output(), std::chrono::milliseconds(0));
    if (!n) {
      if (n.error().code == errc::timed_out) return {};
      return fail(io_error(std::move(n).error()));
    }
    engine_->consume_output(*n);
  }
  return {};
}

// The one pipelining loop. Commands for items 0..count-1 are queued in order
// while the octets in flight stay under the windows (one at a time without
// PIPELINING): the commands' octets under pipeline_window, the answers'
// expected octets under pipeline_octets (a bandwidth-delay product: at 20 ms
// and loopback bandwidth several hundred 20 KB messages). Answers come back
// in the same order, so the item an event belongs to is the oldest one not
// yet complete. on_event returns true when it has seen the last event of its
// item's answer.
// `queued` commands are already on their way (sent with a login).
Result<void> Client::pipeline(std::size_t count, const Queue& queue, const OnEvent& on_event,
                              std::size_t queued, std::span<const std::uint64_t> expected,
                              std::uint64_t unknown_answer) {
  const bool deep = pipelining();
  auto answer = [&](std::size_t i) { return i < expected.size() ? expected[i] : unknown_answer; };
  std::uint64_t answers = 0;  // expected octets of the answers not read yet
  for (std::size_t i = 0; i < queued; ++i)
    answers = detail::saturated_sum(answers, answer(i));
  std::size_t done = 0;
  while (done < count) {
    while (queued < count && (engine_->outstanding() == 0 ||
                              (deep && engine_->outstanding_bytes() < options_.pipeline_window &&
                               answers < options_.pipeline_octets))) {
      if (auto ec = queue(queued)) {
        // Checked before the batch began, so only a broken invariant lands here.
        return fail(Error(ec, "cannot queue a pipelined command: " + ec.message()));
      }
      answers = detail::saturated_sum(answers, answer(queued));
      ++queued;
    }
    if (auto r = write_ready(); !r) return r;
    auto ev = next();
    if (!ev) return std::move(ev).error();
    auto complete = on_event(done, *ev);
    if (!complete) return fail(std::move(complete).error());
    if (*complete) {
      answers -= std::min(answers, answer(done));
      ++done;
    }
  }
  return {};
}

Result<void> Client::fetch_many(std::span<const std::uint64_t> numbers, Command c,
                                std::uint64_t lines, MessageHandler& handler,
                                std::span<const std::uint64_t> sizes) {
  if (auto r = check_numbers(numbers, c); !r) return r;
  // A message's answer: its size by LIST, its status line and the end line.
  std::vector<std::uint64_t> expected;
  expected.reserve(std::min(sizes.size(), numbers.size()));
  for (std::size_t i = 0; i < sizes.size() && i < numbers.size(); ++i)
    expected.push_back(detail::saturated_sum(sizes[i], kStatusOctets));
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
      },
      0, expected, c == Command::retr ? kUnknownMessage : kUnknownTop);
}

Result<void> Client::retrieve_many(std::span<const std::uint64_t> numbers, MessageHandler& handler,
                                   std::span<const std::uint64_t> sizes) {
  OperationScope op(*this, "RETR");
  return fetch_many(numbers, Command::retr, 0, handler, sizes);
}

Result<void> Client::top_many(std::span<const std::uint64_t> numbers, std::uint64_t lines,
                              MessageHandler& handler) {
  OperationScope op(*this, "TOP");
  return fetch_many(numbers, Command::top, lines, handler, {});
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

Result<std::vector<MessageEntry>> Client::list_with_uidl() {
  Query listing(Query::Kind::listing);
  if (auto r = query(listing); !r) return std::move(r).error();
  return std::move(listing.entries());
}

}  // namespace pop3kit
