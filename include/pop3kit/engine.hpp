/// pop3kit — the sans-I/O POP3 protocol engine (RFC 1939, RFC 2449).
///
/// The engine turns commands into bytes and bytes into events. It owns no
/// socket, reads no clock, touches no file and never throws (except
/// std::bad_alloc). A driver (the blocking Client, a test, the NetX adapter)
/// runs the loop:
///
///     engine.retr(1);                                 // queue a command
///     write(engine.pending_output());                 // send it
///     engine.consume_output(n_written);
///     for (;;) {
///       auto ev = engine.next_event();
///       if (std::holds_alternative<NeedData>(ev)) {   // read more
///         auto space = engine.receive_space();
///         n = read(space);  n == 0 ? engine.receive_eof() : engine.commit_received(n);
///         continue;
///       }
///       ...                                           // handle the event
///     }
///
/// Input may be split anywhere (one byte at a time works). Several commands may
/// be outstanding at once (pipelining); their responses come back in order and
/// each event names the command it belongs to.
///
/// Lifetimes: every std::string_view inside an event points into the engine's
/// receive buffer and stays valid until the next call to feed(),
/// receive_space(), commit_received() or receive_eof(). next_event() itself
/// does not move buffered bytes, so the views of several consecutive events
/// stay valid together until the driver adds input.
///
/// Errors: a caller error (bad argument, wrong state) is returned by the
/// command function, nothing is queued and the engine is unchanged. A protocol
/// error (the peer broke the protocol) is sticky: next_event() returns the same
/// Failed event for ever after, and no further command is accepted.
///
/// Unsolicited data: bytes that arrive while no command is outstanding, or
/// that are left over after the last response, are a protocol error
/// (errc::unexpected_data) at the next next_event(), even if a command was
/// queued in between: they are never taken for the answer to a later command.
/// Bytes that came with the greeting are reported only by a next_event() made
/// before the first command is queued (a driver may feed a greeting and the
/// answers together, as tests do). Bytes that arrive while a command is
/// queued but not yet sent cannot be told from its answer by the engine; a
/// driver checks for input before it writes while awaiting_response() is
/// false (the blocking Client does).
///
/// @file
/// @ingroup engine
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::proto {

/// Session state, RFC 1939 §3. `greeting` is before the server's first line;
/// `update` means QUIT was sent in TRANSACTION and the server is committing;
/// `closed` means the session is over (QUIT answered, or greeting refused).
enum class State : std::uint8_t { greeting, authorization, transaction, update, closed };

/// The commands the engine knows.
enum class Command : std::uint8_t {
  none,  ///< Used for the greeting, which answers no command.
  user,
  pass,
  apop,
  stat,
  list,
  retr,
  top,
  dele,
  noop,
  rset,
  quit,
  uidl,
  capa,
  utf8,  ///< RFC 6856; AUTHORIZATION only.
  stls,  ///< RFC 2595; AUTHORIZATION only, once, not after UTF8.
  auth,  ///< RFC 5034; AUTHORIZATION only.
};

/// Upper-case keyword ("RETR"); "" for none. Same as command_info(c).name.
POP3KIT_EXPORT const char* to_string(Command c) noexcept;
/// Name of a state for messages ("AUTHORIZATION").
POP3KIT_EXPORT const char* to_string(State s) noexcept;

/// How the answer to a command is framed (RFC 1939 §3).
enum class Reply : std::uint8_t {
  single_line,                  ///< The status line is the whole answer.
  multi_line,                   ///< After +OK, lines up to a "." line (RETR, TOP, CAPA).
  multi_line_without_argument,  ///< Multi-line without an argument, one line with one (LIST, UIDL).
};

/// What a +OK answer carries after its Status event.
enum class Content : std::uint8_t {
  none,          ///< Nothing: the Status is all.
  stat,          ///< One StatReply, parsed from the status line (STAT).
  list,          ///< ListEntry events, then End; LIST n: one ListEntry from the status line.
  uidl,          ///< UidlEntry events, then End; UIDL n: one UidlEntry from the status line.
  capabilities,  ///< Capability events, then End (CAPA).
  body,          ///< BodyChunk events, then End (RETR, TOP).
};

/// What follows a command's keyword, as the engine's command functions take
/// it. Every argument is refused with errc::invalid_argument if it holds CR,
/// LF or NUL, and the whole command with errc::command_too_long if it is
/// longer than Limits::max_command.
enum class Arguments : std::uint8_t {
  none,               ///< STAT, NOOP, RSET, QUIT, CAPA, UTF8, STLS.
  name,               ///< USER name: not empty.
  password,           ///< PASS password: the rest of the line, spaces allowed, not empty.
  name_and_digest,    ///< APOP name digest: a name without space, 32 lower-case hex digits.
  message,            ///< RETR n, DELE n: a message number from 1.
  optional_message,   ///< LIST [n], UIDL [n].
  message_and_lines,  ///< TOP n lines.
  mechanism,          ///< AUTH mechanism [initial-response]: a SASL name, then base64.
};

/// One row of the engine's command table: the facts the engine uses about a
/// command, in one place. The engine's encoding, state checks, state changes
/// and framing of answers read them from the table; only what belongs to one
/// command is code (PASS only after USER, STLS once and the injection check
/// after its +OK, AUTH's challenges).
struct POP3KIT_EXPORT CommandInfo {
  const char* name = "";                  ///< Upper-case keyword ("RETR"); "" for none.
  Command command = Command::none;        ///< The command this row describes.
  Arguments arguments = Arguments::none;  ///< What follows the keyword.
  Reply reply = Reply::single_line;       ///< How the answer is framed.
  Content content = Content::none;        ///< What a +OK answer carries.
  /// The states (RFC 1939 §3) the command may be queued in: bit
  /// (1 << State) for each. See allowed_in().
  std::uint8_t states = 0;
  /// Nothing may be queued behind it until it is answered (errc::wrong_state):
  /// after STLS comes a TLS handshake, after AUTH SASL responses, after PASS
  /// or APOP the server may hand the connection to another process and lose
  /// what was buffered (Courier does), after QUIT the session ends.
  bool exclusive = false;
  /// +OK in AUTHORIZATION enters TRANSACTION (PASS, APOP, AUTH).
  bool logs_in = false;
  /// Queued in TRANSACTION, it enters UPDATE; its answer, +OK or -ERR, ends
  /// the session (QUIT).
  bool ends_session = false;

  /// Whether the command may be queued in state `s` (see `states`).
  constexpr bool allowed_in(State s) const noexcept {
    return ((states >> static_cast<unsigned>(s)) & 1U) != 0;
  }
  /// Whether the answer is multi-line when sent with or without an argument.
  constexpr bool multi_line(bool has_argument) const noexcept {
    return reply == Reply::multi_line ||
           (reply == Reply::multi_line_without_argument && !has_argument);
  }
};

/// The command table's row for `c` (a row exists for every Command, `none`
/// included). The reference stays valid for the life of the program.
POP3KIT_EXPORT const CommandInfo& command_info(Command c) noexcept;

/// Explicit limits. Exceeding one is a protocol error, never a truncation.
struct POP3KIT_EXPORT Limits {
  /// Longest status, greeting, LIST/UIDL or capability line, CRLF included
  /// (RFC 2449 §4: 512). Body lines of RETR/TOP are never limited.
  std::size_t max_line = 512;
  /// Most capability lines accepted in one CAPA response.
  std::size_t max_capabilities = 100;
  /// Longest UID accepted (RFC 1939 §7: 70).
  std::size_t max_uid_length = 70;
  /// Longest APOP timestamp accepted, angle brackets included.
  std::size_t max_timestamp = 255;
  /// Longest command, CRLF included (RFC 2449 §4: 255).
  std::size_t max_command = 255;
  /// Most SASL challenges ("+ ...") accepted in one AUTH exchange. The
  /// mechanisms pop3kit knows need at most 2 (SCRAM, LOGIN); more is a
  /// server that never ends the exchange: errc::bad_sasl_exchange.
  std::size_t max_sasl_challenges = 8;
  /// Size of the receive buffer; body chunks are at most this long. Raised to
  /// 2 * max_line if smaller. Memory use of the engine is about this number.
  std::size_t receive_buffer = 64 * 1024;
};

/// The server's first line.
struct POP3KIT_EXPORT Greeting {
  bool ok = false;                         ///< "+OK"; false for "-ERR" (the session is over).
  ResponseCode code = ResponseCode::none;  ///< The RFC 2449 response code, if any.
  std::string_view text;            ///< After "+OK " / "-ERR " (and after any response code).
  std::string_view apop_timestamp;  ///< "<...@...>" when present and valid, else empty.
};

/// The first line of a response to a command: +OK or -ERR.
struct POP3KIT_EXPORT Status {
  Command command = Command::none;         ///< The command this line answers.
  bool ok = false;                         ///< "+OK"; false for "-ERR".
  ResponseCode code = ResponseCode::none;  ///< The RFC 2449/3206 response code, if any.
  std::string_view text;  ///< After the indicator and any response code; may be empty.
};

/// STAT's answer (follows its Status).
struct POP3KIT_EXPORT StatReply {
  std::uint64_t count = 0;  ///< Messages in the maildrop.
  std::uint64_t size = 0;   ///< Their size in octets.
};

/// One LIST entry: a scan listing line, or LIST n's answer (follows its Status).
struct POP3KIT_EXPORT ListEntry {
  std::uint64_t number = 0;  ///< Message number, from 1.
  std::uint64_t size = 0;    ///< Its size in octets, as the server counts it.
};

/// One UIDL entry (follows its Status for UIDL n). `uid` is 1..max_uid_length
/// octets in 0x21-0x7E.
struct POP3KIT_EXPORT UidlEntry {
  std::uint64_t number = 0;  ///< Message number, from 1.
  std::string_view uid;      ///< The unique id; a view into the receive buffer.
};

/// One CAPA line: the tag ("SASL") and what follows it ("PLAIN LOGIN").
struct POP3KIT_EXPORT Capability {
  std::string_view name;       ///< The tag ("SASL"), as sent.
  std::string_view arguments;  ///< The rest of the line ("PLAIN LOGIN"); may be empty.
};

/// A piece of a RETR/TOP body: dot-unstuffed, the message's own CRLFs kept,
/// never empty. The terminating ".CRLF" is not part of any chunk.
struct POP3KIT_EXPORT BodyChunk {
  Command command = Command::none;  ///< RETR or TOP.
  std::string_view data;            ///< The bytes; a view into the receive buffer.
};

/// End of a multi-line response (after its entries or body chunks).
struct POP3KIT_EXPORT End {
  Command command = Command::none;  ///< The command whose answer ended.
};

/// A SASL challenge during AUTH (RFC 5034 §4): the text after "+ ", still
/// base64 (may be empty). Answer with sasl_response() or sasl_cancel().
struct POP3KIT_EXPORT SaslChallenge {
  std::string_view data;  ///< The base64 text; a view into the receive buffer.
};

/// The engine needs more input before it can produce an event (or nothing is
/// outstanding).
struct NeedData {};

/// The engine has failed for good; `message` says what was wrong.
struct POP3KIT_EXPORT Failed {
  std::error_code code;      ///< A protocol error of pop3kit's category (errc).
  std::string_view message;  ///< Owned by the engine; valid while the engine lives.
};

/// What next_event() returns: one of the events above.
using Event = std::variant<NeedData, Greeting, Status, StatReply, ListEntry, UidlEntry, Capability,
                           BodyChunk, End, Failed, SaslChallenge>;

/// Direction of a trace line.
enum class TraceDirection : std::uint8_t { sent, received };

/// Receives one line per command sent (secrets replaced by "<redacted>") and
/// one line per status, list or capability line received (not body lines).
/// Lines carry no CRLF.
using TraceFn = std::function<void(TraceDirection, std::string_view)>;

/// One change of Engine::state(), as given to a StateTraceFn. Every change the
/// engine makes, with its `command` and `why`:
///
///     GREETING -> AUTHORIZATION        greeting +OK           none, "greeting +OK"
///     GREETING -> CLOSED               greeting -ERR          none, "greeting -ERR"
///     AUTHORIZATION -> TRANSACTION     +OK to PASS/APOP/AUTH  that command, "+OK"
///     TRANSACTION -> UPDATE            QUIT queued            QUIT, "queued"
///     AUTHORIZATION, UPDATE -> CLOSED  QUIT answered          QUIT, "+OK" or "-ERR"
///     any other -> CLOSED              end of input with      none, "connection closed"
///                                      nothing outstanding
///
/// `from` is always the state before (the `to` of the previous change), never
/// equal to `to`. A failure of the engine (Failed) changes no state.
struct POP3KIT_EXPORT StateChange {
  State from = State::greeting;     ///< The state before.
  State to = State::greeting;       ///< The state after.
  Command command = Command::none;  ///< The command whose queuing or answer made the change.
  std::string_view why;             ///< A static string, as listed above.
};

/// Receives every change of the state, in order, as it happens (inside the
/// engine call that makes it). Meant for debugging and tests; the engine
/// behaves the same with or without one.
using StateTraceFn = std::function<void(const StateChange&)>;

/// The POP3 client protocol engine. Not thread-safe; one per session.
class POP3KIT_EXPORT Engine {
 public:
  /// An engine awaiting the greeting, with `limits`.
  explicit Engine(Limits limits = {});

  // ---- Input --------------------------------------------------------------

  /// Copies as much of `bytes` as fits into the receive buffer and returns how
  /// many bytes it took. Less than bytes.size() means the buffer is full: call
  /// next_event() until NeedData, then feed the rest.
  std::size_t feed(std::string_view bytes);

  /// Zero-copy input: free space at the end of the receive buffer (after
  /// moving unparsed bytes to the front). Read into it, then commit_received().
  /// Empty only while unconsumed events are pending.
  std::span<char> receive_space();
  /// Declares that `n` bytes were written at the start of receive_space().
  void commit_received(std::size_t n);

  /// The peer closed the connection. If a response was still expected, the
  /// engine fails with errc::connection_closed.
  void receive_eof();

  /// The next event. See the file comment for lifetimes.
  Event next_event();

  /// @name Commands
  /// Each queues one command and returns {} or a caller error
  /// (errc::invalid_argument, errc::command_too_long, errc::wrong_state,
  /// errc::engine_failed). Message numbers start at 1. Commands may be queued
  /// while earlier ones are outstanding; the state check uses the state the
  /// session will be in if every outstanding command succeeds. Nothing may be
  /// queued behind a command that completes the login (PASS, APOP, AUTH) or
  /// STLS until it is answered (errc::wrong_state): a server may hand the
  /// connection to another process at that point and lose what was buffered
  /// (Courier does), which RFC 2449's PIPELINING does not rule out.
  ///@{

  /// USER name (RFC 1939 §7).
  std::error_code user(std::string_view name);
  /// The password is everything after "PASS " (spaces allowed).
  std::error_code pass(std::string_view password);
  /// `digest` is the 32 hex digit MD5 digest (see pop3kit/apop.hpp).
  std::error_code apop(std::string_view name, std::string_view digest);
  /// STAT: a Status, then a StatReply.
  std::error_code stat();
  /// LIST: a Status, ListEntry events, End.
  std::error_code list();
  /// LIST n: a Status, then one ListEntry.
  std::error_code list(std::uint64_t number);
  /// RETR n: a Status, BodyChunk events, End.
  std::error_code retr(std::uint64_t number);
  /// TOP n lines: a Status, BodyChunk events (headers, blank line, `lines`
  /// body lines), End.
  std::error_code top(std::uint64_t number, std::uint64_t lines);
  /// DELE n: marks message `number` deleted.
  std::error_code dele(std::uint64_t number);
  /// NOOP.
  std::error_code noop();
  /// RSET: unmarks the messages marked deleted.
  std::error_code rset();
  /// QUIT. In TRANSACTION the state becomes UPDATE at once; the answer ends
  /// the session.
  std::error_code quit();
  /// UIDL: a Status, UidlEntry events, End.
  std::error_code uidl();
  /// UIDL n: a Status, then one UidlEntry.
  std::error_code uidl(std::uint64_t number);
  /// CAPA (RFC 2449): a Status, Capability events, End.
  std::error_code capa();
  /// UTF8 (RFC 6856). The engine does not know the capabilities: the caller
  /// sends it only when CAPA listed UTF8 (Client::utf8() checks).
  std::error_code utf8();
  /// STLS (RFC 2595 §4). Nothing may be queued after it until its answer. On
  /// +OK the driver starts TLS at once on the same connection; if any byte
  /// already followed the +OK, the engine fails with errc::unexpected_data
  /// (response injection, CVE-2021-22947) and TLS must not start. Refused
  /// after TLS is active (set_tls_active) and after UTF8.
  std::error_code stls();
  /// AUTH mechanism [initial-response] (RFC 5034). `initial` is base64; an
  /// empty one is sent as "=". Nothing may be queued after AUTH until its
  /// final answer: challenges come as SaslChallenge events.
  std::error_code auth(std::string_view mechanism,
                       std::optional<std::string_view> initial = std::nullopt);
  /// Answers the pending SaslChallenge with a base64 line (traced as
  /// "<redacted>"). errc::wrong_state when no challenge is waiting.
  std::error_code sasl_response(std::string_view base64);
  /// Cancels the exchange ("*"); the server then answers -ERR. Any further
  /// challenge fails the engine with errc::bad_sasl_exchange (RFC 5034 §4:
  /// the server must reject the exchange).
  std::error_code sasl_cancel();
  /// Tells the engine TLS now protects the connection (after STLS, or from
  /// the start with implicit TLS): STLS is refused from then on.
  void set_tls_active() noexcept { tls_active_ = true; }
  ///@}

  /// True once set_tls_active() was called.
  bool tls_active() const noexcept { return tls_active_; }

  // ---- Output -------------------------------------------------------------

  /// Encoded commands not yet handed to the transport.
  std::string_view pending_output() const noexcept;
  /// Marks the first `n` bytes of pending_output() as written.
  void consume_output(std::size_t n) noexcept;

  // ---- Inspection ---------------------------------------------------------

  /// The session's state (RFC 1939 §3); see StateChange for every change.
  State state() const noexcept;
  /// Commands sent (or queued) whose response has not fully arrived.
  std::size_t outstanding() const noexcept { return queue_.size(); }
  /// Octets of the outstanding commands (sent or not) whose responses have not
  /// fully arrived. A pipelining driver keeps this below the socket buffers so
  /// that its writes never block while the server is busy writing to it.
  std::size_t outstanding_bytes() const noexcept { return outstanding_bytes_; }
  /// True while a response (or the greeting) is expected.
  bool wants_read() const noexcept;
  /// True while the greeting is expected, or while a command whose first
  /// octet was handed out (consume_output()) is not fully answered: input
  /// may legitimately arrive. False when everything outstanding is still
  /// unsent: input arriving then is unsolicited.
  bool awaiting_response() const noexcept;
  /// Received octets not yet parsed.
  std::size_t buffered() const noexcept { return wpos_ - rpos_; }
  /// True once a protocol error failed the engine (for good).
  bool failed() const noexcept { return static_cast<bool>(error_); }
  /// The protocol error that failed the engine; {} while it has not failed.
  std::error_code error() const noexcept { return error_; }
  /// What was wrong, for a person; empty while the engine has not failed.
  const std::string& error_message() const noexcept { return error_message_; }
  /// The limits in force (receive_buffer as raised, see Limits).
  const Limits& limits() const noexcept { return limits_; }

  /// Reports each command sent and each status, list or capability line
  /// received to `fn` (see TraceFn); an empty `fn` stops the trace.
  void set_trace(TraceFn fn) { trace_ = std::move(fn); }
  /// Reports each change of state() to `fn` (see StateChange), from inside the
  /// call that makes it. Unset, it costs one test per change (a handful per
  /// session). `fn` must not call the engine.
  void set_state_trace(StateTraceFn fn) { state_trace_ = std::move(fn); }

 private:
  struct Pending {
    Command command;
    bool multi_line;         // how its answer is framed (LIST and UIDL depend on the argument)
    std::uint64_t argument;  // the message number, for checking single-line answers
    std::size_t length;      // encoded octets, CRLF included
    std::uint64_t start;     // offset of its first octet in all output ever queued
  };
  // Where the parser is in the answer to the front command. Before the
  // greeting, state_ is State::greeting; after a failure, error_ is set.
  enum class Phase : std::uint8_t { status, lines, body };
  enum class LineResult : std::uint8_t { ok, need, failed };

  std::error_code send(Command c, std::string_view args, std::uint64_t argument = 0,
                       std::string_view redacted = {});
  std::error_code numbered(Command c, std::uint64_t number);
  std::error_code check_allowed(Command c) const;
  LineResult next_line(std::string_view& line);
  Event need_data();
  Event fail(errc code, std::string message);
  Event on_greeting(std::string_view line);
  Event on_status(std::string_view line);
  Event on_list_line(std::string_view line);
  Event parse_entry(Command c, std::string_view rest);
  Event on_body();
  void complete(bool ok);
  void append_output(std::string_view bytes);
  void transition(State to, Command command, const char* why);
  void trace(TraceDirection d, std::string_view line) const;

  Limits limits_;
  State state_ = State::greeting;  // written by transition() only
  Phase phase_ = Phase::status;
  std::deque<Pending> queue_;
  std::size_t outstanding_bytes_ = 0;

  std::vector<char> buf_;
  std::size_t rpos_ = 0;  // first unparsed byte
  std::size_t wpos_ = 0;  // end of received bytes
  bool eof_ = false;

  // Body scanning state, carried across calls because a line end or the
  // terminator may be split over any number of reads.
  bool line_start_ = true;
  bool prev_cr_ = false;
  std::size_t capabilities_ = 0;
  bool user_accepted_ = false;
  bool tls_active_ = false;
  bool utf8_sent_ = false;
  bool challenge_waiting_ = false;
  bool sasl_cancelled_ = false;
  std::size_t challenges_ = 0;
  // Input arrived while nothing was outstanding, or was left over after the
  // last response: the next next_event() fails with errc::unexpected_data.
  bool stray_ = false;

  // A single-line answer (STAT, LIST n, UIDL n) yields Status then its entry.
  Event deferred_;
  bool has_deferred_ = false;

  std::string out_;
  std::size_t out_pos_ = 0;
  std::uint64_t out_total_ = 0;     // octets ever appended to out_
  std::uint64_t out_consumed_ = 0;  // octets ever handed out

  std::error_code error_;
  std::string error_message_;
  TraceFn trace_;
  StateTraceFn state_trace_;
};

}  // namespace pop3kit::proto
