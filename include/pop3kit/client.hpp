/// pop3kit — the blocking POP3 client.
///
/// Client is a thin driver around proto::Engine and a net::Transport: each call
/// queues commands on the engine, writes them, and reads until the answers are
/// complete, with a deadline on every read and write. Messages stream to a Sink
/// in chunks, so memory stays bounded whatever the message size.
///
/// Errors: every call returns Result<...>. A server -ERR becomes an Error whose
/// code classifies it (errc::auth_failed, errc::temporary_failure,
/// errc::permanent_failure, errc::server_error), whose response_code is the
/// server's RFC 2449 code, and whose message contains the sanitised server
/// text. Protocol and transport errors close the connection; after one, every
/// call fails with errc::not_connected. A -ERR leaves the session usable.
///
/// Descriptors 0, 1 and 2: a program must have them open (on /dev/null if
/// nothing else) before it connects. A process started with one of them
/// closed gets that number for its next socket or file, and whatever it then
/// prints to stdout or stderr goes to the server as commands, or into a
/// file. connect_tcp() moves a socket it gets as 0-2 above 2
/// (pop3kit/transport.hpp), but the library cannot guard the program's other
/// files; the pop3kit command opens /dev/null on the missing ones at start.
///
/// @file
/// @ingroup client
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/sasl.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/session_auth.hpp"
#include "pop3kit/session_batch.hpp"
#include "pop3kit/session_command.hpp"
#include "pop3kit/session_deadline.hpp"
#include "pop3kit/tls.hpp"
#include "pop3kit/transport.hpp"

namespace pop3kit {

/// How the connection is protected.
enum class Security : std::uint8_t {
  plain,     ///< No TLS. Only when the caller asked for it in so many words.
  starttls,  ///< STLS after the greeting (RFC 2595), required: no fallback to plain.
  tls,       ///< Implicit TLS from the first byte (RFC 8314, port 995).
};

// ChannelBindingChoice, to_string() and parse_channel_binding() are in
// pop3kit/session_auth.hpp.

/// How a Client connects, checks, times out and pipelines.
struct POP3KIT_EXPORT ClientOptions {
  /// Connection protection for connect(host, port). Secure by default: STLS
  /// is required, and a server without it fails before any credential is
  /// sent. Plain TCP only when asked for here in so many words.
  Security security = Security::starttls;
  /// Certificate checks and client certificate for tls and starttls.
  net::TlsOptions tls;
  /// Deadline for each TCP handshake attempt.
  std::chrono::milliseconds connect_timeout{30'000};
  /// Deadline for each read or write: a server silent for this long fails the
  /// call with errc::timed_out.
  std::chrono::milliseconds io_timeout{60'000};
  /// Overall deadline of each operation, so that a server sending a byte now
  /// and then (never silent for io_timeout) cannot hold a call for ever. An
  /// operation must end within
  ///
  ///     operation_deadline + deadline_per_mib * (octets received in it) / 2^20
  ///
  /// of its start, else it fails with errc::deadline_exceeded (a message
  /// naming the operation and the time it had) and the connection is closed.
  /// The allowance per MiB received lets a large message through a slow link
  /// and scales with the size of each answer: at the defaults a RETR of a
  /// 30 MiB message may take 5 + 15 minutes, and any transfer faster than
  /// about 35 KB/s on average never reaches the deadline; a server trickling
  /// a byte a second fails after 5 minutes.
  ///
  /// An operation: connect() (TCP connection, TLS handshake, greeting, STLS
  /// and the CAPA around it), login() (login, the CAPA after it and the
  /// Query that goes out with it), and every other exchange
  /// of commands and answers: a single command (stat(), retrieve(), quit(),
  /// ...), an AUTH exchange, and for the bulk calls the commands in flight
  /// together (with PIPELINING a whole retrieve_many() is one operation;
  /// without it each command is one). io_timeout still bounds every single
  /// read and write within it. Zero: no overall deadline.
  std::chrono::milliseconds operation_deadline{300'000};
  /// See operation_deadline: the time added for each MiB received.
  std::chrono::milliseconds deadline_per_mib{30'000};
  /// Address families to try.
  net::Family family = net::Family::any;
  /// Engine limits (line lengths, receive buffer size).
  proto::Limits limits{.receive_buffer = 256 * 1024};
  /// Lets login_auto() choose a method that sends a reusable password
  /// (USER/PASS, PLAIN, LOGIN) without TLS. Off: such a password is only sent
  /// over TLS unless the caller asks for a method by name.
  bool allow_plaintext_password = false;
  /// Channel binding of the -PLUS mechanisms (see ChannelBindingChoice).
  ChannelBindingChoice channel_binding = ChannelBindingChoice::automatic;
  /// Protocol trace (passwords redacted); empty for none.
  proto::TraceFn trace;
  /// When bulk calls keep several commands in flight (RFC 2449 §6.6).
  enum class Pipelining : std::uint8_t {
    automatic,  ///< When the last CAPA listed PIPELINING.
    off,        ///< Never: one command at a time.
  } pipelining = Pipelining::automatic;
  /// Most octets of commands in flight whose answers have not been read
  /// (bounds the memory of the outgoing buffer and of the engine's queue of
  /// outstanding commands). Any value is safe: while a pipeline runs, the
  /// client writes only what the socket takes at once and reads answers
  /// while commands wait, so a server that does not read while it writes
  /// cannot deadlock it.
  std::size_t pipeline_window = 64 * 1024;
  /// Most octets of answers expected in flight in a pipeline: the bulk
  /// calls queue commands while the answers not yet read are expected to
  /// stay under this (a RETR counts the size given to retrieve_many(), or
  /// 64 KiB when unknown; TOP 4 KiB, DELE a status line). It should cover
  /// the bandwidth-delay product (16 MiB: 1 Gbit/s at 130 ms); answers in
  /// flight wait in the server and the kernel, not in this process.
  std::uint64_t pipeline_octets = 16 * 1024 * 1024;
  /// Most entries accepted in one LIST or UIDL listing (list(), uidl(),
  /// list_with_uidl(), a listing Query). A longer listing fails with
  /// errc::listing_too_long and closes the connection, so a server that
  /// never ends a listing cannot exhaust memory: an entry costs roughly
  /// 16 bytes in a LIST and 100-250 bytes in a UIDL, so the default bounds
  /// a listing near 25 MB. Raise it for maildrops of more messages. When
  /// stat() was answered in this session, message numbers above its count
  /// (plus the messages deleted before it), and more entries than that
  /// count, fail with errc::bad_message_number, which bounds the listing
  /// tighter still.
  std::size_t max_listing = 100'000;
};

// SaslLoginInfo is in pop3kit/session_auth.hpp.

/// The server's greeting, kept after connect().
struct POP3KIT_EXPORT GreetingInfo {
  std::string text;            ///< Raw text after "+OK " (untrusted: sanitize() before showing).
  std::string apop_timestamp;  ///< Valid "<...@...>" or empty.
};

/// One LIST entry.
struct POP3KIT_EXPORT MessageInfo {
  std::uint64_t number = 0;  ///< Message number, from 1.
  std::uint64_t size = 0;    ///< Its size in octets, as the server counts it.
};

/// One UIDL entry.
struct POP3KIT_EXPORT MessageUid {
  std::uint64_t number = 0;  ///< Message number, from 1.
  std::string uid;           ///< The unique id: 1 to 70 octets in 0x21-0x7E.
};

/// What login() asks once logged in: the listing (LIST with UIDL) or STAT
/// (see session::Query).
using Query = session::Query;

// MessageHandler, which receives the messages of retrieve_many() and
// top_many(), is declared with the Batch that calls it (pop3kit/session_batch.hpp).

/// Receives a message in chunks (dot-unstuffed, CRLFs kept, terminator
/// removed). A chunk is valid only during the call. Return {} to go on; an
/// error stops delivery: the client reads and discards the rest of the
/// response, keeps the session usable, and returns errc::sink_failed with
/// the sink's error in the message.
using Sink = session::Sink;

/// Data the server sends while no command is outstanding (after the
/// greeting, after an answer, or with them) answers nothing: it is a protocol
/// error (errc::unexpected_data) that closes the connection, found before the
/// next command is written (a zero-timeout read when nothing is in flight),
/// so it is never taken for the answer to a later command.
class POP3KIT_EXPORT Client {
 public:
  /// A client not yet connected.
  explicit Client(ClientOptions options = {});
  /// Drops the connection without QUIT, as close() does.
  ~Client();
  /// Moves the session; the moved-from client is not connected.
  Client(Client&&) noexcept;
  /// Closes this client's connection and takes `other`'s session.
  Client& operator=(Client&&) noexcept;

  /// Connects over TCP and reads the greeting. Errors: the transport's
  /// (errc::host_not_found, errc::connect_failed, errc::timed_out, ...),
  /// errc::greeting_refused for "-ERR", protocol errors for a bad greeting.
  Result<void> connect(std::string_view host, std::uint16_t port);
  /// Same over an already connected transport (a test server, a TLS stream).
  /// ClientOptions::security is not applied: the transport is used as it is.
  Result<void> connect(std::unique_ptr<net::Transport> transport);

  /// STLS on a plain TCP connection (RFC 2595), done by connect() under
  /// Security::starttls. Fails closed, before any credential is sent, with
  /// errc::tls_unavailable when CAPA is refused, STLS is not listed, or STLS
  /// is answered -ERR; with errc::unexpected_data when bytes follow the +OK
  /// (response injection); with the handshake's errors. The connection is
  /// closed on every failure. On success capabilities are forgotten and CAPA
  /// is asked again over TLS.
  Result<void> starttls(std::string_view host);

  /// True once TLS protects the session.
  bool tls_active() const noexcept;
  /// The server's certificate, or nullptr without TLS.
  const net::CertificateInfo* certificate() const noexcept;
  /// Capabilities shown before TLS started (empty without STLS).
  const Capabilities& capabilities_before_tls() const noexcept { return caps_before_tls_; }

  /// The greeting; meaningful after a successful connect().
  const GreetingInfo& greeting() const noexcept { return greeting_; }

  /// SASL authentication (RFC 5034) with `mechanism` (a name of
  /// pop3kit/sasl.hpp): the initial response goes on the AUTH line when the
  /// server lists SASL and the line stays within 255 octets, else after the
  /// server's empty challenge; a challenge that is not clean base64, or that
  /// the mechanism rejects, is cancelled with "*"; after +OK the mechanism
  /// must agree (SCRAM: the server proved it knows the password), else the
  /// connection is closed and errc::auth_failed returned. -PLUS mechanisms
  /// bind to the TLS channel with the type ClientOptions::channel_binding
  /// says and need TLS; a -PLUS mechanism is never replaced by another. A
  /// -PLUS exchange the server refuses is errc::auth_failed (or the code of
  /// the server's response code) with a message that names the binding type
  /// and says the server may not support it: a refusal cannot tell a
  /// binding type the server lacks from a wrong password. Errors as for
  /// login(), plus errc::unsupported for an unknown mechanism, -PLUS without
  /// TLS or with a binding type this connection cannot give, and
  /// errc::invalid_argument for -PLUS with ChannelBindingChoice::none.
  Result<void> authenticate(std::string_view mechanism, const auth::SaslCredentials& credentials);

  /// authenticate() for a mechanism the caller did not name, but took from
  /// choose_mechanism(). With ChannelBindingChoice::automatic, when the
  /// server refuses a -PLUS mechanism (a -ERR to the exchange, or a SCRAM
  /// "e=" error, that is neither temporary nor [SYS/PERM]), the same SCRAM
  /// without -PLUS is tried once on the same connection, if the server lists
  /// it, with the GS2 flag "n" (RFC 5802 §6: "y" to a server that offers
  /// -PLUS must fail); sasl_login() then tells that the session is not
  /// bound. Servers that support only some binding types (Cyrus SASL:
  /// tls-unique alone, so nothing over TLS 1.3) thus still let the user in.
  /// Refused again: that error, its message saying the -PLUS attempt was
  /// refused too. Otherwise, and under any other ChannelBindingChoice, it is
  /// authenticate().
  Result<void> authenticate_chosen(std::string_view mechanism,
                                   const auth::SaslCredentials& credentials);

  /// The last SASL exchange: its mechanism, binding type, and the -PLUS
  /// attempt refused before it.
  const SaslLoginInfo& sasl_login() const noexcept { return sasl_login_; }
  /// True when the session is logged in with a -PLUS mechanism, so bound to
  /// its TLS channel: a man in the middle with a certificate pop3kit trusts
  /// could not have relayed the login.
  bool channel_bound() const noexcept { return channel_bound_; }

  /// The mechanism login_auto() would use on this session: the strongest the
  /// server lists of SCRAM-SHA-256-PLUS (with TLS), SCRAM-SHA-256,
  /// SCRAM-SHA-1, PLAIN, LOGIN, then "USER" for USER/PASS. PLAIN, LOGIN and
  /// USER send a reusable password: only chosen over TLS or with
  /// ClientOptions::allow_plaintext_password. APOP and CRAM-MD5 are never
  /// chosen; they must be asked for by name. With ChannelBindingChoice::none
  /// no -PLUS mechanism; with a binding type named, only SCRAM-SHA-256-PLUS
  /// or SCRAM-SHA-1-PLUS (over TLS). Empty when none is acceptable.
  std::string choose_mechanism() const;
  /// Logs in with choose_mechanism() (a SASL one through
  /// authenticate_chosen()). Needs capa() first (else only USER/PASS is
  /// known). errc::unsupported when nothing acceptable is offered.
  Result<void> login_auto(std::string_view user, std::string_view password);

  /// Logs in (session::Login), then runs `query` when there is one, in as
  /// few round trips as the server allows. When the server pipelines
  /// (pipelining(): PIPELINING in the CAPA asked before login), USER and
  /// PASS go out in one write, and once PASS (or APOP) is answered, the
  /// query's commands go out in the next, after the CAPA asked again when
  /// the server may show more after login (see capa()). Nothing is sent
  /// behind PASS, APOP or AUTH before its answer: a server may start
  /// another process when the login completes and drop what was buffered
  /// (Courier does). Without PIPELINING it runs lock-step, with the same
  /// results (and pipelines the query if the CAPA asked after login lists
  /// PIPELINING). With LoginOptions::allow_fallback, a refused APOP is
  /// followed by USER/PASS on the same connection, then the query.
  ///
  /// Returns the login's outcome. Errors: errc::auth_failed when the server
  /// refuses the name, the password or the digest (a refused PASS is a
  /// failed login; when the server hangs up after refusing, the refusal is
  /// still what is returned); errc::temporary_failure for [IN-USE],
  /// [LOGIN-DELAY], [SYS/TEMP]; errc::unsupported for APOP without a valid
  /// timestamp and no fallback; transport and protocol errors, also of the
  /// CAPA asked after a successful login (state() is then
  /// proto::State::transaction).
  ///
  /// The query's outcome is query->outcome(): errc::wrong_state ("not
  /// sent") when the login failed, else that of query() (its listing or
  /// STAT in query->entries() / query->mailbox()).
  Result<void> login(std::string_view user, std::string_view password, LoginOptions options = {},
                     Query* query = nullptr);

  /// Runs `query` on a session logged in (state() proto::State::transaction,
  /// else errc::wrong_state and nothing is sent), pipelined when
  /// pipelining(). Returns query.outcome(): a listing's errors are those of
  /// list_with_uidl(), STAT's those of stat(). A STAT answered here bounds
  /// later listings as stat() does.
  Result<void> query(Query& query);

  /// CAPA (RFC 2449). The answer is also kept (capabilities()) and decides
  /// pipelining. When CAPA was asked before login, login() asks again after
  /// it if the server may show more then (values marked USER, or no
  /// PIPELINING yet); when the server pipelines, that CAPA goes out with what
  /// follows the login, once the login is answered.
  /// Errors: errc::server_error when the server has no CAPA.
  Result<Capabilities> capa();
  /// UTF8 (RFC 6856): before login, only when the last capa() listed UTF8
  /// (errc::unsupported otherwise, and nothing is sent).
  Result<void> utf8();
  /// STAT. Its count also bounds the message numbers later listings may
  /// show (see ClientOptions::max_listing).
  Result<MailboxStat> stat();
  /// LIST. Every message number is listed once, is not 0 and, when stat()
  /// was answered in this session, is not above the highest number STAT
  /// implies; any order is accepted (RFC 1939 does not require one). Errors,
  /// besides the server's -ERR and transport errors: errc::bad_message_number
  /// and errc::listing_too_long (see ClientOptions::max_listing), both
  /// protocol errors that close the connection.
  Result<std::vector<MessageInfo>> list();
  /// LIST n: one message's size. The server's -ERR for a message that does
  /// not exist is an Error that leaves the session usable.
  Result<MessageInfo> list(std::uint64_t number);
  /// UIDL, with the checks and errors of list().
  Result<std::vector<MessageUid>> uidl();
  /// UIDL n: one message's unique id, errors as list(number).
  Result<MessageUid> uidl(std::uint64_t number);

  /// RETR: streams message `number` to `sink`; returns the octets delivered.
  Result<std::uint64_t> retrieve(std::uint64_t number, const Sink& sink);
  /// TOP: headers, the blank line and the first `lines` body lines.
  Result<std::uint64_t> top(std::uint64_t number, std::uint64_t lines, const Sink& sink);

  /// Marks a message deleted. Nothing is removed until quit() succeeds.
  Result<void> dele(std::uint64_t number);
  /// NOOP: the server is still there.
  Result<void> noop();
  /// Unmarks every message marked deleted in this session.
  Result<void> rset();
  /// QUIT. Success means the server committed the deletions (RFC 1939 §6);
  /// a -ERR ("some deleted messages not removed") is returned as an error.
  /// After the answer it waits up to 500 ms for the server to close: data
  /// sent before the close means the server's answers were out of step with
  /// the commands, and is errc::unexpected_data (the deletions unconfirmed).
  /// The connection is closed either way.
  Result<void> quit();

  // ---- Bulk operations ----------------------------------------------------
  // Pipelined when the server listed PIPELINING in the last capa() (see
  // ClientOptions::pipelining), lock-step otherwise, with the same results.
  // Each returns an error only for what ends the session (transport or
  // protocol errors) or for a caller error found before anything is sent
  // (errc::invalid_argument for a message number 0, errc::wrong_state);
  // a -ERR for one message is reported for that message and the rest go on.

  /// RETR each message, in order, to `handler`. `sizes`, when not empty,
  /// holds each message's size as LIST gave it (sizes[i] for numbers[i]):
  /// it sizes the pipeline (ClientOptions::pipeline_octets) and nothing
  /// else, so a wrong size costs speed, never correctness. Fewer sizes than
  /// numbers: the rest count as unknown.
  Result<void> retrieve_many(std::span<const std::uint64_t> numbers, MessageHandler& handler,
                             std::span<const std::uint64_t> sizes = {});
  /// TOP each message, in order, to `handler`.
  Result<void> top_many(std::span<const std::uint64_t> numbers, std::uint64_t lines,
                        MessageHandler& handler);
  /// DELE each message; one result per number, in order.
  Result<std::vector<Result<void>>> dele_many(std::span<const std::uint64_t> numbers);
  /// LIST and UIDL together. UIDL refused or absent: uids are empty. Each
  /// listing is checked as by list() and uidl(); when UIDL answers +OK it
  /// must list exactly the message numbers LIST listed (a message without a
  /// UID, or a UID for a message LIST did not show, would be fetched again
  /// or never): else errc::bad_message_number.
  Result<std::vector<MessageEntry>> list_with_uidl();

  /// Capabilities from the last capa() of this session (empty before).
  const Capabilities& capabilities() const noexcept { return caps_; }
  /// True when bulk calls pipeline on this session.
  bool pipelining() const noexcept;

  /// Drops the connection without QUIT: nothing marked deleted is removed.
  void close() noexcept;

  /// True while a connection is open (after connect(), before quit(),
  /// close() or an error that closed it).
  bool connected() const noexcept { return transport_ != nullptr; }
  /// The session's state as the engine sees it (proto::State::closed
  /// without a connection).
  proto::State state() const noexcept;

 private:
  Result<void> flush();
  Result<void> receive(std::chrono::milliseconds most);
  Result<void> check_quiet();
  session::Facts facts() const noexcept;
  Result<void> run(session::Operation& op);
  void apply(const Query& query);
  std::optional<std::uint64_t> highest_message() const noexcept;
  Result<void> write_ready();
  Result<void> check_numbers(std::span<const std::uint64_t> numbers, proto::Command c) const;
  Error fail(Error e);
  Error server_error(const proto::Status& st, std::string_view what) const;

  // The operation under way and its deadline (ClientOptions::operation_deadline,
  // kept by deadline_). An OperationScope opens one for a call made of several
  // exchanges; otherwise the first read or write of an exchange opens one, and
  // the end of the exchange (nothing outstanding) closes it. See deadline.cpp.
  class OperationScope;
  Result<std::chrono::milliseconds> io_wait(std::chrono::milliseconds most);
  Result<std::chrono::milliseconds> io_wait() { return io_wait(options_.io_timeout); }
  Error io_error(Error e) const { return deadline_.wait_failed(std::move(e)); }
  void exchange_done() noexcept;
  Result<std::unique_ptr<net::TcpTransport>> dial(std::string_view host, std::uint16_t port);
  Result<std::unique_ptr<net::TlsTransport>> handshake(net::Transport& plain,
                                                       std::string_view host);
  // Want::start_tls: the handshake with tls_host_, and the transport swapped.
  Result<void> upgrade();
  Result<void> sasl(std::string_view mechanism, const auth::SaslCredentials& credentials,
                    bool unbound_retry);

  ClientOptions options_;
  std::unique_ptr<proto::Engine> engine_;
  std::unique_ptr<net::Transport> transport_;
  GreetingInfo greeting_;
  Capabilities caps_;
  Capabilities caps_before_tls_;
  std::string tls_host_;              // the host name TLS checks, for STLS
  net::TlsTransport* tls_ = nullptr;  // transport_ when it is TLS
  // The highest message number of the maildrop (STAT's count plus the
  // messages deleted before it), once a STAT was answered.
  std::optional<std::uint64_t> highest_;
  std::uint64_t deleted_ = 0;  // DELE +OK since login or the last RSET
  SaslLoginInfo sasl_login_;
  bool channel_bound_ = false;  // logged in with a -PLUS mechanism
  session::Deadline deadline_;
  int scopes_ = 0;  // OperationScopes alive: they close the operation, not the end of an exchange
};

}  // namespace pop3kit
