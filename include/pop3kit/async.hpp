/// pop3kit — the asynchronous client: the session layer driven by standalone
/// Asio with C++20 coroutines, so that one thread and one io_context serve
/// thousands of sessions.
///
/// async::Client is the third driver of the session layer (beside the
/// blocking pop3kit::Client and the NetX API): every command goes through a
/// session operation (pop3kit/session.hpp), and the client only moves bytes
/// between a socket and that operation, with the same deadlines, the same
/// certificate policy (pop3kit/tls_policy.hpp) and the same check that the
/// server said nothing unasked. Its calls mirror the blocking Client's names,
/// results and errors, as coroutines:
///
///     asio::io_context io;
///     asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///       async::Client c(io.get_executor(), options);
///       if (auto r = co_await c.connect("pop.example.org", 995); !r) co_return;
///       co_await c.login("alice", "secret");
///       auto entries = co_await c.list_with_uidl();
///       ...
///       co_await c.quit();
///     }, asio::detached);
///     io.run();
///
/// Threads: a Client and the coroutines of its calls belong to the executor
/// given at construction; run its io_context on one thread, or give it a
/// strand. One call at a time per Client: each co_await must complete before
/// the next call starts. The Client must outlive every call it started.
///
/// Views and spans given to a call must stay valid until the call completes
/// (its co_await returns); strings are taken by value.
///
/// Compile with ASIO_STANDALONE (the CMake target pop3kit::async sets it).
///
/// @file
/// @ingroup client
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/sasl.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/session_auth.hpp"
#include "pop3kit/session_batch.hpp"
#include "pop3kit/session_command.hpp"
#include "pop3kit/tls.hpp"
#include "pop3kit/transport.hpp"

namespace pop3kit::async {

/// How the connection is protected (the values of pop3kit::Security).
enum class Security : std::uint8_t {
  plain,     ///< No TLS. Only when the caller asked for it in so many words.
  starttls,  ///< STLS after the greeting (RFC 2595), required: no fallback to plain.
  tls,       ///< Implicit TLS from the first byte (RFC 8314, port 995).
};

/// A TLS client context made once from net::TlsOptions (trust store, client
/// certificate, minimum version: tls::configure_context()) and shared by
/// many clients, so that a thousand sessions load the trust store once.
class TlsContext {
 public:
  /// Errors: those of tls::configure_context() (errc::invalid_argument for
  /// unreadable files, errc::tls_failed).
  static Result<std::shared_ptr<TlsContext>> make(const net::TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  /// The options the context was made from.
  const net::TlsOptions& options() const noexcept;
  /// The asio::ssl context inside (for the async client's own use).
  struct Impl;
  /// See Impl.
  Impl& impl() noexcept { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// How an async::Client connects, logs in and bounds its calls: the
/// blocking pop3kit::ClientOptions, with the happy-eyeballs delay and a
/// shared TLS context added.
struct ClientOptions {
  /// As pop3kit::ClientOptions::security: STLS required by default.
  Security security = Security::starttls;
  /// Certificate checks and client certificate for tls and starttls.
  net::TlsOptions tls;
  /// A context shared with other clients; when set, its options are used
  /// and `tls` is ignored. When null each Client makes its own.
  std::shared_ptr<TlsContext> tls_context;
  /// Deadline of each TCP connection attempt.
  std::chrono::milliseconds connect_timeout{30'000};
  /// Happy eyeballs (RFC 8305 §5): how long an attempt runs alone before
  /// the next address is tried beside it.
  std::chrono::milliseconds attempt_delay{250};
  /// Deadline of each read and write (and of the TLS handshake): a server
  /// silent this long fails the call with errc::timed_out.
  std::chrono::milliseconds io_timeout{60'000};
  /// Overall deadline of each operation, with deadline_per_mib added per MiB
  /// received: as pop3kit::ClientOptions::operation_deadline (connect(),
  /// login(), and each other call are one operation each). Zero: none.
  std::chrono::milliseconds operation_deadline{300'000};
  /// See operation_deadline: the time added for each MiB received.
  std::chrono::milliseconds deadline_per_mib{30'000};
  /// Address families to try.
  net::Family family = net::Family::any;
  /// Engine limits. The receive buffer is smaller than the blocking
  /// client's: it is allocated for each of many sessions.
  proto::Limits limits{.receive_buffer = 32 * 1024};
  /// As pop3kit::ClientOptions.
  bool allow_plaintext_password = false;
  /// Channel binding of the -PLUS mechanisms (see ChannelBindingChoice).
  ChannelBindingChoice channel_binding = ChannelBindingChoice::automatic;
  /// Protocol trace (passwords redacted); empty for none.
  proto::TraceFn trace;
  /// False: never pipeline (one command at a time).
  bool pipelining = true;
  /// Most octets of commands in flight (as pop3kit::ClientOptions).
  std::size_t pipeline_window = 64 * 1024;
  /// Most octets of answers expected in flight (as pop3kit::ClientOptions).
  std::uint64_t pipeline_octets = 16 * 1024 * 1024;
  /// Most entries accepted in one listing (as pop3kit::ClientOptions).
  std::size_t max_listing = 100'000;
};

/// Flow control of a bulk retrieval (Client::retrieve_many()): awaited
/// before each read of the socket while the retrieval runs, so that a
/// handler whose consumer lags (a disk, a thread pool) holds the reading
/// back instead of queueing without bound. It completes when there is room
/// again; it runs on the client's executor and must not throw. While it
/// waits, no I/O timeout runs (the operation deadline still does).
using ReadGate = std::function<asio::awaitable<void>()>;

/// The server's greeting, kept after connect().
struct GreetingInfo {
  std::string text;            ///< Raw text after "+OK " (untrusted: sanitize() before showing).
  std::string apop_timestamp;  ///< Valid "<...@...>" or empty.
};

/// Connects to one of `endpoints` with happy eyeballs (RFC 8305): the
/// addresses are tried in the order given, each next one `attempt_delay`
/// after the previous attempt started (at once when it failed), while the
/// earlier ones go on; the first connection made wins and the others are
/// closed. Each attempt gets `attempt_timeout`. Errors: errc::connect_failed
/// naming every address tried and why it failed (errc::timed_out when
/// every attempt timed out); errc::invalid_argument for no address.
asio::awaitable<Result<asio::ip::tcp::socket>> connect_endpoints(
    asio::any_io_executor executor, std::vector<asio::ip::tcp::endpoint> endpoints,
    std::chrono::milliseconds attempt_delay, std::chrono::milliseconds attempt_timeout);

/// `endpoints` in the order RFC 8305 §4 tries them: the family of the first
/// one first, then alternating between IPv6 and IPv4.
std::vector<asio::ip::tcp::endpoint> interleave(std::vector<asio::ip::tcp::endpoint> endpoints);

/// The asynchronous client. Not copyable or movable (its calls refer to it).
/// The results and errors of each call are those of the blocking
/// pop3kit::Client's call of the same name (pop3kit/client.hpp); protocol
/// and transport errors close the connection, after which calls fail with
/// errc::not_connected.
class Client {
 public:
  /// A client, not connected, whose calls run on `executor`.
  Client(const asio::any_io_executor& executor, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Resolves `host` (asynchronously), connects with happy eyeballs across
  /// its IPv6 and IPv4 addresses (connect_endpoints()), then, by
  /// ClientOptions::security, the TLS handshake, the greeting, and STLS.
  /// Errors: errc::host_not_found, errc::connect_failed (naming what was
  /// tried), errc::timed_out, errc::deadline_exceeded, the TLS handshake's
  /// and the certificate policy's (errc::certificate_invalid, ...), those
  /// of the greeting and of STLS (errc::tls_unavailable, ...).
  asio::awaitable<Result<void>> connect(std::string host, std::uint16_t port);
  /// The greeting (and nothing else) over a socket already connected.
  /// ClientOptions::security is not applied.
  asio::awaitable<Result<void>> connect(asio::ip::tcp::socket socket);

  /// Runs one session operation to its end: the runner every call uses,
  /// for an operation of the caller's own (`op` must have the facts()).
  asio::awaitable<Result<void>> run(session::Operation& op);
  /// What the session's operations need to know (views into this Client,
  /// valid until its next call).
  session::Facts facts() const noexcept;

  /// As Client::login(): USER/PASS or APOP, then `query` when not null
  /// (it must outlive the call).
  asio::awaitable<Result<void>> login(std::string user, std::string password,
                                      LoginOptions options = {}, session::Query* query = nullptr);
  /// SASL with `mechanism` (-PLUS mechanisms bind to the TLS channel).
  asio::awaitable<Result<void>> authenticate(std::string mechanism,
                                             auth::SaslCredentials credentials);
  /// authenticate() with the unbound retry of a -PLUS mechanism (see
  /// pop3kit::Client::authenticate_chosen()).
  asio::awaitable<Result<void>> authenticate_chosen(std::string mechanism,
                                                    auth::SaslCredentials credentials);
  /// Logs in with choose_mechanism() (needs capa() first).
  asio::awaitable<Result<void>> login_auto(std::string user, std::string password);
  /// The mechanism login_auto() would use (session::choose_mechanism()).
  std::string choose_mechanism() const;

  /// CAPA; the capabilities are also kept (capabilities()).
  asio::awaitable<Result<Capabilities>> capa();
  /// STAT.
  asio::awaitable<Result<MailboxStat>> stat();
  /// LIST and UIDL, pipelined when the server allows it, merged by number.
  asio::awaitable<Result<std::vector<MessageEntry>>> list_with_uidl();
  /// Runs `query` (it must outlive the call) on a session logged in.
  asio::awaitable<Result<void>> query(session::Query& query);
  /// RETR / TOP of one message to `sink`; the octets delivered.
  asio::awaitable<Result<std::uint64_t>> retrieve(std::uint64_t number, session::Sink sink);
  /// TOP `number` `lines` to `sink`; the octets delivered.
  asio::awaitable<Result<std::uint64_t>> top(std::uint64_t number, std::uint64_t lines,
                                             session::Sink sink);
  /// DELE `number` (removed when QUIT is answered with +OK).
  asio::awaitable<Result<void>> dele(std::uint64_t number);
  /// UTF8 (RFC 6856), before login; errc::unsupported when CAPA lacks it.
  asio::awaitable<Result<void>> utf8();
  /// NOOP.
  asio::awaitable<Result<void>> noop();
  /// RSET: the messages marked deleted are unmarked.
  asio::awaitable<Result<void>> rset();
  /// QUIT and the close after it (waits up to 500 ms for the server to close).
  asio::awaitable<Result<void>> quit();

  /// The pipelined bulk calls (session::Batch); `numbers`, `sizes` and
  /// `handler` must outlive the call. `gate`, when set, is awaited before
  /// each read of the socket (see ReadGate).
  asio::awaitable<Result<void>> retrieve_many(std::span<const std::uint64_t> numbers,
                                              MessageHandler& handler,
                                              std::span<const std::uint64_t> sizes = {},
                                              ReadGate gate = {});
  /// TOP of each of `numbers`, pipelined, to `handler`.
  asio::awaitable<Result<void>> top_many(std::span<const std::uint64_t> numbers,
                                         std::uint64_t lines, MessageHandler& handler);
  /// DELE of each of `numbers`, pipelined: one result per number, in order.
  asio::awaitable<Result<std::vector<Result<void>>>> dele_many(
      std::span<const std::uint64_t> numbers);

  /// The server's greeting (after connect()).
  const GreetingInfo& greeting() const noexcept;
  /// The capabilities of the last CAPA (over TLS once TLS is on).
  const Capabilities& capabilities() const noexcept;
  /// The capabilities the server listed before STLS.
  const Capabilities& capabilities_before_tls() const noexcept;
  /// True once the connection is protected by TLS.
  bool tls_active() const noexcept;
  /// The server's certificate, or nullptr without TLS.
  const net::CertificateInfo* certificate() const noexcept;
  /// How the last SASL login went (mechanism, binding, fallback).
  const SaslLoginInfo& sasl_login() const noexcept;
  /// True when the login was bound to the TLS channel (-PLUS).
  bool channel_bound() const noexcept;
  /// True when bulk calls keep several commands in flight.
  bool pipelining() const noexcept;
  /// True while the connection is open.
  bool connected() const noexcept;
  /// The engine's protocol state (authorization, transaction, ...).
  proto::State state() const noexcept;
  /// Drops the connection without QUIT.
  void close() noexcept;
  /// Ends the session from outside the call that runs (another coroutine on
  /// the same executor, or a handler posted to it): the socket's pending
  /// operations are cancelled, the running call fails with errc::cancelled
  /// and closes the connection, and so does every later call. A connect()
  /// still resolving the host or waiting for its connection ends at once
  /// too. Unlike close(), safe while a call is suspended in a read or a
  /// write.
  void cancel() noexcept;

  struct Impl;

 private:
  // Shared with the handlers of its timers, which may run after it is gone.
  std::shared_ptr<Impl> impl_;
};

}  // namespace pop3kit::async
