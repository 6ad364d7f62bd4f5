/// pop3kit — pipelined batches of RETR, TOP and DELE: the session layer's
/// Batch operation, and the MessageHandler that receives what it retrieves.
///
/// A Batch sends one command per message number, in order, keeping as many
/// in flight as the windows allow, and matches the answers to the numbers in
/// the same order. It is a session::Operation (pop3kit/session.hpp): a
/// driver runs it like any other, and must handle Want::write_ready, which a
/// Batch asks for instead of Want::write:
///
///     std::vector<std::uint64_t> numbers = {1, 2, 3};
///     session::Batch batch(facts, numbers, handler, sizes);   // RETR
///     ... run it: resume(), Want::write_ready, Want::read, ... until done
///     if (batch.closes_connection()) close();
///     return batch.outcome();
///
/// The windows (Facts): the commands' octets in flight (sent or queued, not
/// yet answered) stay under Facts::pipeline_window, and the octets their
/// answers are expected to take under Facts::pipeline_octets. A command is
/// queued while both sums are below their bounds, so the last one queued may
/// take a sum over (one command always goes, whatever the windows). Once the
/// windows are full, they are topped up when an eighth of each is free (so
/// commands leave in groups, not one per answer), or after every answer
/// where an eighth of a window cannot hold the next command. Without
/// pipelining (Facts::pipelining() false) one command at a time, with the
/// same results.
///
/// Errors: the outcome is an error only when the session cannot go on (a
/// protocol error, a failed transport, an answer of the wrong shape: the
/// connection is then closed, closes_connection()) or for a caller error
/// found before anything is sent. A -ERR for one message is that message's
/// (MessageHandler::failed(), or its DELE result) and the rest go on.
///
/// @file
/// @ingroup session
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit {

/// Receives the messages of a bulk retrieval (Client::retrieve_many,
/// Client::top_many, a session::Batch of RETR or TOP) in the order they were
/// asked for. For each message number exactly one of these sequences
/// happens: begin, data..., end — or begin, data..., failed — or failed
/// alone (the server refused that message). A handler error (from begin,
/// data or end) stops delivery of that message only: the client drains its
/// remaining data, calls failed() with errc::sink_failed, and goes on with
/// the next one. Chunks are valid only during the call.
class POP3KIT_EXPORT MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  /// Message `number` starts; data() follows. An error refuses the message.
  virtual std::error_code begin(std::uint64_t number) = 0;
  /// The next chunk of message `number`, valid only during the call.
  virtual std::error_code data(std::uint64_t number, std::string_view chunk) = 0;
  /// The whole message arrived (`octets` delivered by data()).
  virtual std::error_code end(std::uint64_t number, std::uint64_t octets) = 0;
  /// Message `number` failed with `error`: refused by the server, or
  /// errc::sink_failed after a handler error. Nothing more comes for it.
  virtual void failed(std::uint64_t number, const Error& error) = 0;
};

namespace session {

/// a + b, or the largest value when that overflows (a STAT count or a LIST
/// size is the server's word: near 2^64 is possible, wrapping is not).
constexpr std::uint64_t saturated_sum(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

/// The caller errors of a command about `numbers` (none: a command without
/// a number), found before anything is sent: the session not in the
/// TRANSACTION state (errc::wrong_state, as refused() words it), then a
/// number 0 (errc::invalid_argument, "cannot send RETR: message number 0").
POP3KIT_EXPORT std::optional<Error> check_numbers(const proto::Engine& engine,
                                                  proto::Command command,
                                                  std::span<const std::uint64_t> numbers);

/// RETR, TOP or DELE for each of a list of message numbers, pipelined
/// under the windows of Facts (see the top of this header).
///
/// RETR and TOP: each message goes to the MessageHandler as it arrives
/// (begin, data..., end); a -ERR is failed() with the server's error
/// ("RETR 2: server says ..."); a handler error drains the rest of that
/// message and is failed() with errc::sink_failed ("RETR 2: storing the
/// message failed: ..."). DELE: one result per number answered, in order
/// (results()); a -ERR is that number's error ("DELE 2: server says ...").
///
/// The expected octets of an answer: for RETR, sizes[i] (numbers[i]'s size
/// by LIST) plus 64 for the status and end lines, or 64 KiB when sizes has
/// no entry for it; for TOP 4 KiB; for DELE 16. Sizes only size the
/// pipeline: a wrong one costs speed, never correctness.
///
/// Caller errors, found before anything is sent: those of check_numbers()
/// (outcome() then, and closes_connection() false). An empty list finishes
/// at once with success, sending nothing.
///
/// Protocol errors close the connection: an event that does not belong in
/// the answer (errc::unexpected_data, "unexpected event in the answer to
/// RETR 2", "unexpected event after DELE"), and the engine's own.
///
/// Lifetimes: `numbers`, `sizes` and `handler` must outlive the Batch, and
/// so must what `facts` points to (Facts::capabilities).
class POP3KIT_EXPORT Batch final : public Operation {
 public:
  /// RETR each message to `handler`; `sizes` as said above.
  Batch(const Facts& facts, std::span<const std::uint64_t> numbers, MessageHandler& handler,
        std::span<const std::uint64_t> sizes = {});
  /// TOP each message with `lines` body lines to `handler`.
  Batch(const Facts& facts, std::span<const std::uint64_t> numbers, std::uint64_t lines,
        MessageHandler& handler);
  /// DELE each message; results() holds the answers.
  Batch(const Facts& facts, std::span<const std::uint64_t> numbers);

  /// RETR, TOP or DELE.
  proto::Command command() const noexcept { return command_; }
  /// DELE: one result per number answered so far, in the order of the
  /// numbers (all of them once done without error).
  std::vector<Result<void>>& results() noexcept { return results_; }
  /// DELE: how many were answered +OK (those count even when the batch
  /// ends early: the server marked them deleted).
  std::uint64_t deleted() const noexcept { return deleted_; }
  /// Answers read to their end so far.
  std::size_t answered() const noexcept { return answered_; }

 private:
  Batch(const Facts& facts, proto::Command command, std::span<const std::uint64_t> numbers,
        MessageHandler* handler, std::uint64_t lines, std::span<const std::uint64_t> sizes);

  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void fill(proto::Engine& engine);
  bool refill_due(const proto::Engine& engine) const noexcept;
  std::uint64_t expected(std::size_t index) const noexcept;
  std::string what(std::uint64_t number) const;
  // True when the event ends the answer of the oldest command in flight.
  bool on_message_event(const proto::Event& event);
  bool on_dele_event(const proto::Event& event);

  proto::Command command_;
  std::span<const std::uint64_t> numbers_;
  std::span<const std::uint64_t> sizes_;
  MessageHandler* handler_;
  std::uint64_t lines_;
  const Capabilities* capabilities_;  // names a refused TOP the server does not list
  bool deep_;
  std::size_t window_;
  std::uint64_t octets_window_;
  std::size_t queued_ = 0;
  std::size_t answered_ = 0;
  std::uint64_t in_flight_ = 0;  // expected octets of the answers not read yet
  std::uint64_t octets_ = 0;     // delivered of the message being read
  std::error_code sink_error_;   // of the message being read
  std::vector<Result<void>> results_;
  std::uint64_t deleted_ = 0;
};

}  // namespace session
}  // namespace pop3kit
