// Pipelined RETR, TOP and DELE: as many commands in flight as the windows
// allow, answers matched to message numbers in order.
#include <algorithm>
#include <variant>

#include "pop3kit/session_batch.hpp"

namespace pop3kit::session {

using proto::Command;

namespace {
// Octets of answers expected in a pipeline (Facts::pipeline_octets) where
// no size is known: a message (mail's median size is a few tens of KB), a
// TOP (headers and a few lines), a DELE's status line; and what a status
// line and the end line add to a message's size by LIST.
constexpr std::uint64_t kUnknownMessage = 64 * 1024;
constexpr std::uint64_t kUnknownTop = 4 * 1024;
constexpr std::uint64_t kDeleAnswer = 16;
constexpr std::uint64_t kStatusOctets = 64;
}  // namespace

std::optional<Error> check_numbers(const proto::Engine& engine, Command command,
                                   std::span<const std::uint64_t> numbers) {
  if (engine.state() != proto::State::transaction) {
    return refused(make_error_code(errc::wrong_state), command, engine.state());
  }
  if (std::find(numbers.begin(), numbers.end(), 0U) != numbers.end()) {
    return Error(errc::invalid_argument,
                 std::string("cannot send ") + proto::to_string(command) + ": message number 0");
  }
  return std::nullopt;
}

Batch::Batch(const Facts& facts, Command command, std::span<const std::uint64_t> numbers,
             MessageHandler* handler, std::uint64_t lines, std::span<const std::uint64_t> sizes)
    : Operation(Error(errc::wrong_state, "not sent")),
      command_(command),
      numbers_(numbers),
      sizes_(sizes),
      handler_(handler),
      lines_(lines),
      capabilities_(facts.capabilities),
      deep_(facts.pipelining()),
      window_(facts.pipeline_window),
      octets_window_(facts.pipeline_octets) {}

Batch::Batch(const Facts& facts, std::span<const std::uint64_t> numbers, MessageHandler& handler,
             std::span<const std::uint64_t> sizes)
    : Batch(facts, Command::retr, numbers, &handler, 0, sizes) {}

Batch::Batch(const Facts& facts, std::span<const std::uint64_t> numbers, std::uint64_t lines,
             MessageHandler& handler)
    : Batch(facts, Command::top, numbers, &handler, lines, {}) {}

Batch::Batch(const Facts& facts, std::span<const std::uint64_t> numbers)
    : Batch(facts, Command::dele, numbers, nullptr, 0, {}) {
  results_.reserve(numbers.size());
}

std::uint64_t Batch::expected(std::size_t index) const noexcept {
  switch (command_) {
    case Command::retr:
      return index < sizes_.size() ? saturated_sum(sizes_[index], kStatusOctets) : kUnknownMessage;
    case Command::top:
      return kUnknownTop;
    default:
      return kDeleAnswer;
  }
}

std::string Batch::what(std::uint64_t number) const {
  return std::string(proto::to_string(command_)) + " " + std::to_string(number);
}

void Batch::start(proto::Engine& engine) {
  if (auto bad = check_numbers(engine, command_, numbers_)) return finish(std::move(*bad));
  if (numbers_.empty()) return finish();
  use_write_ready();
  fill(engine);
}

// Commands are queued in order while the octets in flight stay under the
// windows (one at a time without pipelining): the commands' octets under
// pipeline_window, the answers' expected octets under pipeline_octets (a
// bandwidth-delay product: at 20 ms and loopback bandwidth, several hundred
// 20 KB messages).
void Batch::fill(proto::Engine& engine) {
  while (queued_ < numbers_.size() &&
         (engine.outstanding() == 0 ||
          (deep_ && engine.outstanding_bytes() < window_ && in_flight_ < octets_window_))) {
    const std::uint64_t n = numbers_[queued_];
    const std::error_code ec = command_ == Command::retr  ? engine.retr(n)
                               : command_ == Command::top ? engine.top(n, lines_)
                                                          : engine.dele(n);
    if (ec) {
      // Checked before the batch began, so only a broken invariant lands here.
      return lose(Error(ec, "cannot queue a pipelined command: " + ec.message()));
    }
    in_flight_ = saturated_sum(in_flight_, expected(queued_));
    ++queued_;
  }
}

// Answers come back in the order of the commands, so an event belongs to
// the oldest number not yet answered in full.
void Batch::on_event(proto::Engine& engine, const proto::Event& event) {
  const bool complete = command_ == Command::dele ? on_dele_event(event) : on_message_event(event);
  if (done() || !complete) return;
  in_flight_ -= std::min(in_flight_, expected(answered_));
  if (++answered_ == numbers_.size()) return finish();
  if (refill_due(engine)) fill(engine);
}

// A full pipeline is topped up once an eighth of each window is free, not
// after every answer: the commands then go out dozens together, in one
// write the server reads at once, instead of one small write (and one
// wake-up of the server) per message. Seven eighths of the windows are
// still in flight meanwhile, so the link does not run dry. A window whose
// eighth cannot hold the next command (or its answer) is topped up after
// every answer, as fill() alone would.
bool Batch::refill_due(const proto::Engine& engine) const noexcept {
  if (!deep_ || engine.outstanding() == 0 || queued_ == numbers_.size()) return true;
  constexpr std::size_t kLongestCommand = 32;  // "RETR 18446744073709551615\r\n" and more
  const std::size_t command_slack = window_ / 8 > kLongestCommand ? window_ / 8 : 0;
  const std::uint64_t answer_slack =
      octets_window_ / 8 > expected(queued_) ? octets_window_ / 8 : 0;
  return engine.outstanding_bytes() + command_slack < window_ &&
         saturated_sum(in_flight_, answer_slack) < octets_window_;
}

bool Batch::on_message_event(const proto::Event& ev) {
  const std::uint64_t n = numbers_[answered_];
  if (const auto* st = std::get_if<proto::Status>(&ev)) {
    if (!st->ok) {
      handler_->failed(n, server_error(*st, what(n), capabilities_));
      return true;
    }
    octets_ = 0;
    sink_error_ = handler_->begin(n);
    return false;
  }
  if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
    if (!sink_error_) sink_error_ = handler_->data(n, chunk->data);
    if (!sink_error_) octets_ += chunk->data.size();
    return false;
  }
  if (std::holds_alternative<proto::End>(ev)) {
    if (!sink_error_) sink_error_ = handler_->end(n, octets_);
    if (sink_error_) {
      // The rest of the message was read and dropped: the session goes on.
      handler_->failed(n, Error(errc::sink_failed, what(n) + ": storing the message failed: " +
                                                       sink_error_.message()));
    }
    return true;
  }
  lose(Error(errc::unexpected_data, "unexpected event in the answer to " + what(n)));
  return false;
}

bool Batch::on_dele_event(const proto::Event& ev) {
  const auto* st = std::get_if<proto::Status>(&ev);
  if (st == nullptr) {
    lose(Error(errc::unexpected_data, "unexpected event after DELE"));
    return false;
  }
  if (st->ok) {
    results_.emplace_back();
    ++deleted_;
  } else {
    results_.emplace_back(server_error(*st, what(numbers_[answered_]), capabilities_));
  }
  return true;
}

}  // namespace pop3kit::session
