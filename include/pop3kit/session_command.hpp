/// pop3kit — one command and its answer, as a session operation.
///
/// Every driver sends single commands (STAT, LIST n, RETR n, DELE n, NOOP,
/// ...) and reads their answers the same way: queue the command, check that
/// the status line answers it, turn a -ERR into the server's error, and read
/// what a +OK carries. session::Exchange does that once, for every command
/// whose answer is one status line and what follows it; the shape of the
/// answer is the engine's (proto::command_info(c).content), so one operation
/// serves the whole table:
///
///     content        commands                    what the operation keeps
///     none           DELE n, NOOP, RSET, UTF8,   the +OK text: text()
///                    QUIT (lock-step)
///     stat           STAT                        mailbox()
///     list, uidl     LIST n, UIDL n              entry()
///                    LIST, UIDL (listings)       entries(), checked by ListingCheck
///     capabilities   CAPA                        capabilities()
///     body           RETR n, TOP n lines         streamed to a Sink; octets()
///
/// A driver runs it like any operation (see pop3kit/session.hpp):
///
///     session::Exchange dele({proto::Command::dele, 3}, facts);
///     run(dele);  // write, read, ... until Want::done; then dele.outcome()
///
/// Login, STLS, AUTH and the pipelined batches have their own operations;
/// QUIT and the close after it is session::Quit. AwaitGreeting reads the
/// greeting that opens a session.
///
/// @file
/// @ingroup session
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit::session {

/// Receives a message body in chunks (dot-unstuffed, CRLFs kept, the
/// terminating ".CRLF" removed). A chunk is valid only during the call.
/// Return {} to go on; an error stops delivery (see Exchange).
using Sink = std::function<std::error_code(std::string_view chunk)>;

/// One command: its keyword and arguments.
struct POP3KIT_EXPORT Request {
  /// A command without a message number: STAT, NOOP, CAPA, the LIST and
  /// UIDL listings, ... (implicit, so that `{proto::Command::noop}` reads
  /// as the command it is).
  Request(proto::Command c) noexcept : command(c) {}  // NOLINT(google-explicit-constructor)
  /// A command about message `message` (TOP: and `top_lines` lines).
  Request(proto::Command c, std::uint64_t message, std::uint64_t top_lines = 0) noexcept
      : command(c), number(message), lines(top_lines) {}

  proto::Command command = proto::Command::noop;  ///< The command to send.
  /// The message number: needed by RETR, TOP and DELE; LIST and UIDL with
  /// one ask about that message alone, without one for the listing.
  std::optional<std::uint64_t> number;
  /// TOP's count of body lines.
  std::uint64_t lines = 0;

  /// Queues the command on `engine`. Returns the engine's refusal
  /// (errc::wrong_state, errc::invalid_argument, errc::command_too_long),
  /// or errc::invalid_argument for a command Exchange does not send (USER,
  /// PASS, APOP, AUTH, STLS, or a message number missing), else {}.
  std::error_code queue(proto::Engine& engine) const;
  /// How messages name it: "DELE 3", "TOP 1 10", "CAPA".
  std::string what() const;
};

/// One command and its answer (see the table above).
///
/// - The engine refuses the command (wrong state, bad argument): the
///   outcome is refused()'s error, nothing is sent, the session goes on.
/// - The first answer must be this command's status line, else
///   errc::unexpected_data and the connection closes.
/// - -ERR: server_error() naming Request::what() (with Facts::capabilities,
///   a refused TOP or UIDL the server does not list says so); the session
///   goes on.
/// - Listings (LIST, UIDL without a number): each entry is checked by a
///   ListingCheck (Facts::highest, Facts::max_listing) before it is kept;
///   errc::bad_message_number and errc::listing_too_long close the
///   connection.
/// - Bodies (RETR, TOP): each chunk goes to the sink (none, or an empty
///   function: the chunks are counted and dropped). A sink error stops
///   delivery: the rest of the body is read and dropped, so the session
///   stays usable, and the outcome is errc::sink_failed, "RETR 3: storing
///   the message failed: " and the sink's error message. octets() counts
///   what the sink accepted.
/// - Engine failures and a lost connection close it, as for any operation.
class POP3KIT_EXPORT Exchange final : public Operation {
 public:
  /// How much of the answer the operation reads.
  enum class Part : std::uint8_t {
    /// Sends the command and reads its whole answer.
    whole,
    /// Sends the command and reads its status line only: for a driver that
    /// hands the body of RETR or TOP out itself, piece by piece. After a +OK
    /// the body's events are left to the driver (or to Part::rest).
    status,
    /// Sends nothing and reads the rest of the answer to `request`, whose
    /// status line (and perhaps some of whose body) the driver already
    /// read: to drain a body it stopped handing out.
    rest,
  };

  /// `facts` is copied; its capabilities (and `sink`, when not null) must
  /// outlive the operation. Its outcome is errc::wrong_state ("not sent")
  /// until it has run.
  Exchange(Request request, const Facts& facts, const Sink* sink = nullptr,
           Part part = Part::whole);

  /// The request it runs.
  const Request& request() const noexcept { return request_; }
  /// The text after "+OK" (and any response code), once answered +OK.
  const std::string& text() const noexcept { return text_; }
  /// STAT's answer.
  const MailboxStat& mailbox() const noexcept { return stat_; }
  /// LIST n's or UIDL n's answer (the size or the uid left empty).
  const MessageEntry& entry() const noexcept { return entry_; }
  /// A LIST or UIDL listing, in the server's order (the size or the uid
  /// left empty).
  std::vector<MessageEntry>& entries() noexcept { return entries_; }
  /// CAPA's answer.
  Capabilities& capabilities() noexcept { return caps_; }
  /// Octets of the body the sink accepted.
  std::uint64_t octets() const noexcept { return octets_; }

 private:
  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void on_status(const proto::Status& status);
  // The events after +OK; true when the answer is complete.
  bool on_content(const proto::Event& event);
  bool on_listing(std::uint64_t number);
  void on_body(std::string_view chunk);
  void end();
  void out_of_step(std::string_view expected);

  Request request_;
  Part part_;
  const Capabilities* capabilities_;
  const Sink* sink_;
  proto::Content content_;
  bool listing_;
  bool answered_ = false;  // the status line was read
  std::optional<ListingCheck> check_;
  std::string text_;
  MailboxStat stat_;
  MessageEntry entry_;
  std::vector<MessageEntry> entries_;
  Capabilities caps_;
  std::uint64_t octets_ = 0;
  std::error_code sink_error_;
};

/// Waits for the server's greeting, the answer to the connection itself
/// (RFC 1939 §4). Sends nothing. -ERR: errc::greeting_refused with the
/// server's sanitised text (and response code); any other first event:
/// errc::bad_greeting; both close the connection. What came with the
/// greeting is left in the engine: a driver that refuses unasked data
/// checks it afterwards.
class POP3KIT_EXPORT AwaitGreeting final : public Operation {
 public:
  /// Its outcome is errc::connection_closed until the greeting arrives.
  AwaitGreeting();

  /// The greeting's text after "+OK" (untrusted: sanitize() before showing).
  const std::string& text() const noexcept { return text_; }
  /// Its APOP timestamp ("<...@...>"), or empty.
  const std::string& apop_timestamp() const noexcept { return timestamp_; }

 private:
  void start(proto::Engine&) override {}
  void on_event(proto::Engine& engine, const proto::Event& event) override;

  std::string text_;
  std::string timestamp_;
};

}  // namespace pop3kit::session
