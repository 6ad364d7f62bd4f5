// Connecting: asynchronous resolution, happy eyeballs (RFC 8305) across the
// addresses, TLS through asio::ssl with the certificate policy of
// pop3kit/tls_policy.hpp, the greeting and STLS.
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>

#include "impl.hpp"
#include "pop3kit/text.hpp"
#include "pop3kit/tls_policy.hpp"

namespace pop3kit::async {
namespace {

constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
using asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& e) {
  const std::string address = e.address().to_string();
  return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
}

// The attempts of one connect_endpoints(), shared with the handlers of its
// sockets and timers, which may complete after the winner was returned.
struct Race : std::enable_shared_from_this<Race> {
  struct Attempt {
    std::optional<tcp::socket> socket;
    std::optional<asio::steady_timer> timer;
    bool done = false;
    bool timed_out = false;
  };

  Race(const asio::any_io_executor& ex, std::vector<tcp::endpoint> eps, milliseconds d,
       milliseconds t)
      : executor(ex), endpoints(std::move(eps)), delay(d), timeout(t), next(ex), finished(ex) {
    finished.expires_at(asio::steady_timer::time_point::max());
  }

  asio::any_io_executor executor;
  std::vector<tcp::endpoint> endpoints;
  milliseconds delay;
  milliseconds timeout;
  std::deque<Attempt> attempts;  // a deque: handlers keep indexes, never pointers
  asio::steady_timer next;       // when the next attempt starts beside the others
  asio::steady_timer finished;   // cancelled when the race is over
  std::size_t running = 0;
  std::optional<tcp::socket> winner;
  std::vector<std::string> failures;
  bool all_timed_out = true;
  bool over = false;
  bool stopped = false;  // ended by the session's cancel()

  void start_next() {
    if (over || attempts.size() == endpoints.size()) return;
    const std::size_t i = attempts.size();
    Attempt& a = attempts.emplace_back();
    a.socket.emplace(executor);
    a.timer.emplace(executor, timeout);
    ++running;
    a.timer->async_wait([self = shared_from_this(), i](const std::error_code& ec) {
      Attempt& at = self->attempts[i];
      if (ec || at.done || !at.socket) return;
      at.timed_out = true;
      std::error_code ignored;
      at.socket->close(ignored);
    });
    a.socket->async_connect(
        endpoints[i],
        [self = shared_from_this(), i](const std::error_code& ec) { self->on_connect(i, ec); });
    if (attempts.size() < endpoints.size()) {
      next.expires_after(delay);
      next.async_wait(
          [self = shared_from_this(), started = attempts.size()](const std::error_code& ec) {
            // Stale when a failure started the next attempt already.
            if (!ec && self->attempts.size() == started) self->start_next();
          });
    }
  }

  void on_connect(std::size_t i, const std::error_code& ec) {
    Attempt& a = attempts[i];
    a.done = true;
    --running;
    a.timer->cancel();
    if (over) return;
    if (!ec && !a.timed_out) {
      winner = std::move(*a.socket);
      a.socket.reset();
      finish();
      return;
    }
    failures.push_back(endpoint_text(endpoints[i]) + " (" +
                       (a.timed_out ? "timed out after " + seconds_text(timeout) : ec.message()) +
                       ")");
    if (!a.timed_out) all_timed_out = false;
    if (attempts.size() < endpoints.size()) {
      // RFC 8305 §5: a failed attempt starts the next one at once.
      next.cancel();
      start_next();
    } else if (running == 0) {
      finish();
    }
  }

  // The losers still connecting are closed; their handlers complete later.
  void finish() {
    over = true;
    next.cancel();
    for (Attempt& a : attempts) {
      if (a.done) continue;
      a.timer->cancel();
      std::error_code ignored;
      if (a.socket) a.socket->close(ignored);
    }
    finished.cancel();
  }
};

// Clears Impl::stop_connecting when the step it stops is over (or its
// coroutine is destroyed).
class StopWhile {
 public:
  explicit StopWhile(std::function<void()>& slot) : slot_(slot) {}
  ~StopWhile() { slot_ = nullptr; }
  StopWhile(const StopWhile&) = delete;
  StopWhile& operator=(const StopWhile&) = delete;

 private:
  std::function<void()>& slot_;
};

// connect_endpoints() that `*stop`, set while the race runs, ends at once:
// every attempt is closed and the race fails with errc::cancelled.
asio::awaitable<Result<tcp::socket>> race_to_connect(asio::any_io_executor executor,
                                                     std::vector<tcp::endpoint> endpoints,
                                                     milliseconds attempt_delay,
                                                     milliseconds attempt_timeout,
                                                     std::function<void()>* stop) {
  if (endpoints.empty()) co_return Error(errc::invalid_argument, "no address to connect to");
  auto race =
      std::make_shared<Race>(executor, std::move(endpoints), attempt_delay, attempt_timeout);
  race->start_next();
  std::optional<StopWhile> clear;
  if (stop != nullptr) {
    *stop = [weak = std::weak_ptr<Race>(race)] {
      if (auto r = weak.lock(); r && !r->over) {
        r->stopped = true;
        r->finish();
      }
    };
    clear.emplace(*stop);
  }
  while (!race->over) {
    co_await race->finished.async_wait(kTuple);
  }
  if (race->stopped) co_return Error(errc::cancelled, "the session was cancelled");
  if (race->winner) co_return std::move(*race->winner);
  std::string tried;
  for (const auto& f : race->failures) {
    tried += (tried.empty() ? "" : ", ") + f;
  }
  co_return Error(race->all_timed_out ? errc::timed_out : errc::connect_failed,
                  "cannot connect: tried " + tried);
}

}  // namespace

std::vector<tcp::endpoint> interleave(std::vector<tcp::endpoint> endpoints) {
  if (endpoints.empty()) return endpoints;
  std::deque<tcp::endpoint> first;
  std::deque<tcp::endpoint> other;
  const bool v6_first = endpoints.front().address().is_v6();
  for (auto& e : endpoints) {
    (e.address().is_v6() == v6_first ? first : other).push_back(e);
  }
  std::vector<tcp::endpoint> out;
  out.reserve(endpoints.size());
  while (!first.empty() || !other.empty()) {
    for (auto* q : {&first, &other}) {
      if (q->empty()) continue;
      out.push_back(q->front());
      q->pop_front();
    }
  }
  return out;
}

asio::awaitable<Result<tcp::socket>> connect_endpoints(asio::any_io_executor executor,
                                                       std::vector<tcp::endpoint> endpoints,
                                                       milliseconds attempt_delay,
                                                       milliseconds attempt_timeout) {
  co_return co_await race_to_connect(std::move(executor), std::move(endpoints), attempt_delay,
                                     attempt_timeout, nullptr);
}

Result<std::shared_ptr<TlsContext>> TlsContext::make(const net::TlsOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  if (auto r = net::tls::configure_context(impl->context.native_handle(), options); !r) {
    return std::move(r).error();
  }
  return std::shared_ptr<TlsContext>(new TlsContext(std::move(impl)));
}

TlsContext::TlsContext(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;
const net::TlsOptions& TlsContext::options() const noexcept {
  return impl_->options;
}

// The TLS handshake over the connected socket, which the TLS stream takes
// over, then the certificate policy before a byte of POP3 crosses.
asio::awaitable<Result<void>> Client::Impl::handshake(std::string host) {
  if (!context) context = options.tls_context;
  if (!context) {
    auto made = TlsContext::make(options.tls);
    if (!made) co_return fail(std::move(made).error());
    context = std::move(*made);
  }
  if (!socket) co_return Error(errc::not_connected, "not connected");
  tls =
      std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(*socket), context->impl().context);
  socket.reset();
  SSL* ssl = tls->native_handle();
  if (auto r = net::tls::configure_connection(ssl, host); !r) co_return fail(std::move(r).error());
  auto wait = io_wait(options.io_timeout);
  if (!wait) co_return fail(std::move(wait).error());
  arm(*wait);
  auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kTuple);
  disarm();
  if (cancelled) co_return cancelled_error();
  if (timed_out) {
    co_return fail(io_error(Error(errc::timed_out, "TLS handshake with " + peer + " timed out")));
  }
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated) {
    co_return fail(Error(errc::connection_closed,
                         "the server " + peer + " closed the connection during the TLS handshake"));
  }
  if (ec) {
    co_return fail(
        Error(errc::tls_failed, "TLS handshake with " + peer + " failed: " + ec.message()));
  }
  auto info = net::tls::check_peer(ssl, host, context->options());
  if (!info) co_return fail(std::move(info).error());
  certificate = std::move(*info);
  co_return Result<void>();
}

// A fresh session on the connected socket: the greeting, and nothing with it.
asio::awaitable<Result<void>> Client::Impl::greet() {
  engine = std::make_unique<proto::Engine>(options.limits);
  if (options.trace) engine->set_trace(options.trace);
  greeting = {};
  caps = {};
  caps_before_tls = {};
  highest.reset();
  deleted = 0;
  sasl_login = {};
  channel_bound = false;
  session::AwaitGreeting await;
  if (auto r = co_await run(await); !r) co_return r;
  greeting.text = await.text();
  greeting.apop_timestamp = await.apop_timestamp();
  if (auto e = session::buffered_unasked(*engine)) co_return fail(std::move(*e));
  co_return Result<void>();
}

asio::awaitable<Result<void>> Client::Impl::starttls(std::string host) {
  if (tls) co_return Error(errc::wrong_state, "STLS needs a plain TCP connection without TLS");
  session::StartTls stls;
  tls_host = std::move(host);
  auto r = co_await run(stls);
  if (stls.capabilities_before()) caps = *stls.capabilities_before();
  if (stls.accepted()) {
    caps_before_tls = std::move(caps);
    caps = stls.capabilities_after().value_or(Capabilities{});
  }
  co_return r;
}

asio::awaitable<Result<void>> Client::connect(std::string host, std::uint16_t port) {
  Impl& d = *impl_;
  d.close();
  // Cancelled before or while connecting: no connection is made.
  if (d.cancelled) co_return d.cancelled_error();
  const std::string shown = sanitize(host, 100);
  const Scope scope(d, "connecting to " +
                           (host.find(':') == std::string::npos ? shown : "[" + shown + "]") + ":" +
                           std::to_string(port));
  tcp::resolver resolver(d.executor);
  std::optional<StopWhile> clear;
  clear.emplace(d.stop_connecting);
  d.stop_connecting = [&resolver] { resolver.cancel(); };
  auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port),
                                                       tcp::resolver::numeric_service, kTuple);
  clear.reset();
  if (d.cancelled) co_return d.cancelled_error();
  if (ec) {
    co_return Error(errc::host_not_found, "cannot resolve '" + shown + "': " + ec.message());
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    const bool v6 = entry.endpoint().address().is_v6();
    if ((d.options.family == net::Family::ipv4 && v6) ||
        (d.options.family == net::Family::ipv6 && !v6)) {
      continue;
    }
    endpoints.push_back(entry.endpoint());
  }
  if (endpoints.empty()) {
    co_return Error(errc::host_not_found, "'" + shown + "' has no address of the family asked for");
  }
  auto wait = d.io_wait(d.options.connect_timeout);
  if (!wait) co_return std::move(wait).error();
  auto sock = co_await race_to_connect(d.executor, interleave(std::move(endpoints)),
                                       d.options.attempt_delay, *wait, &d.stop_connecting);
  if (d.cancelled) co_return d.cancelled_error();
  if (!sock) {
    Error e = d.io_error(std::move(sock).error());
    e.message = "connecting to " + shown + ":" + std::to_string(port) + ": " + e.message;
    co_return e;
  }
  std::error_code ignored;
  d.peer = endpoint_text(sock->remote_endpoint(ignored));
  sock->set_option(tcp::no_delay(true), ignored);
  d.socket.emplace(std::move(*sock));
  if (d.options.security == Security::tls) {
    if (auto r = co_await d.handshake(host); !r) co_return r;
    auto r = co_await d.greet();
    if (r) d.engine->set_tls_active();
    co_return r;
  }
  auto r = co_await d.greet();
  if (r && d.options.security == Security::starttls) r = co_await d.starttls(host);
  co_return r;
}

asio::awaitable<Result<void>> Client::connect(tcp::socket socket) {
  Impl& d = *impl_;
  d.close();
  std::error_code ignored;
  d.peer = endpoint_text(socket.remote_endpoint(ignored));
  d.socket.emplace(std::move(socket));
  const Scope scope(d, "waiting for the greeting");
  co_return co_await d.greet();
}

}  // namespace pop3kit::async
