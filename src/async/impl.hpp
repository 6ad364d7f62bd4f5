// The state of an async::Client, shared by its source files.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pop3kit/async.hpp"
#include "pop3kit/session_deadline.hpp"

namespace pop3kit::async {

struct TlsContext::Impl {
  explicit Impl(net::TlsOptions o)
      : context(asio::ssl::context::tls_client), options(std::move(o)) {}
  asio::ssl::context context;
  net::TlsOptions options;
};

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(const asio::any_io_executor& ex, ClientOptions o)
      : executor(ex),
        options(std::move(o)),
        timer(ex),
        deadline(options.operation_deadline, options.deadline_per_mib) {}

  asio::any_io_executor executor;
  ClientOptions options;
  // The connection: the socket alone, or inside the TLS stream.
  std::optional<asio::ip::tcp::socket> socket;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls;
  std::shared_ptr<TlsContext> context;
  std::string peer;      // "127.0.0.1:110", for messages
  std::string tls_host;  // the name TLS checks
  net::CertificateInfo certificate;

  // The I/O deadline: the timer cancels the socket's operations when it
  // fires; `generation` tells a stale firing from the current one.
  asio::steady_timer timer;
  std::uint64_t generation = 0;
  bool timed_out = false;

  std::unique_ptr<proto::Engine> engine;
  GreetingInfo greeting;
  Capabilities caps;
  Capabilities caps_before_tls;
  std::optional<std::uint64_t> highest;
  std::uint64_t deleted = 0;
  SaslLoginInfo sasl_login;
  bool channel_bound = false;
  // cancel() was called: every wait fails with errc::cancelled.
  bool cancelled = false;
  // While connect() resolves or races its attempts: ends that at once
  // (cancel() calls it; the socket's cancel() cannot reach them).
  std::function<void()> stop_connecting;
  Error cancelled_error() { return fail(Error(errc::cancelled, "the session was cancelled")); }
  // Awaited before each read while a retrieve_many() with a gate runs.
  ReadGate read_gate;

  // The operation under way (ClientOptions::operation_deadline).
  session::Deadline deadline;

  bool connected() const noexcept { return socket.has_value() || tls != nullptr; }
  asio::ip::tcp::socket& lowest() { return tls ? tls->next_layer() : *socket; }
  void close() noexcept;
  Error fail(Error e) {
    close();
    return e;
  }

  // Deadlines (deadline.cpp): the bookkeeping is session::Deadline's, the
  // clock and the timer are the driver's.
  void open_operation(std::string what) { deadline.open(std::move(what), Clock::now()); }
  void close_operation() noexcept { deadline.close(); }
  Result<milliseconds> io_wait(milliseconds most) {
    return deadline.wait(most, Clock::now(), engine ? engine->pending_output() : "");
  }
  Error io_error(Error e) const { return deadline.wait_failed(std::move(e)); }
  // Arms the timer for one wait of `wait`; disarm() after the I/O.
  void arm(milliseconds wait);
  void disarm() noexcept;

  // I/O (client.cpp).
  asio::awaitable<Result<void>> flush();
  asio::awaitable<Result<void>> write_ready();
  asio::awaitable<Result<void>> receive(milliseconds most);
  Result<void> check_quiet();
  asio::awaitable<Result<void>> upgrade();
  asio::awaitable<Result<void>> run(session::Operation& op);

  // Connection (connect.cpp).
  asio::awaitable<Result<void>> handshake(std::string host);
  asio::awaitable<Result<void>> greet();
  asio::awaitable<Result<void>> starttls(std::string host);
  asio::awaitable<Result<void>> sasl(std::string mechanism, auth::SaslCredentials credentials,
                                     bool unbound_retry);
  session::Facts facts() const noexcept;
  bool pipelining() const noexcept { return options.pipelining && caps.has("PIPELINING"); }
  std::optional<Error> not_ready(proto::Command command,
                                 std::span<const std::uint64_t> numbers) const;
};

// Opens a call's operation (its deadline) and closes it when the call ends.
class Scope {
 public:
  Scope(Client::Impl& d, std::string what) : d_(d) { d_.open_operation(std::move(what)); }
  ~Scope() { d_.close_operation(); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Client::Impl& d_;
};

}  // namespace pop3kit::async
