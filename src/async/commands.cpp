// The async client's calls: each runs session operations with this
// session's facts, as the blocking Client's do; only the bookkeeping of the
// session (capabilities, STAT's count, deletions, SASL) is theirs. Each call
// is one operation under ClientOptions::operation_deadline.
#include "impl.hpp"
#include "pop3kit/text.hpp"
#include "pop3kit/tls_policy.hpp"

namespace pop3kit::async {
namespace {

using proto::Command;

}  // namespace

Client::Client(const asio::any_io_executor& executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

Client::~Client() {
  impl_->close();
}

session::Facts Client::Impl::facts() const noexcept {
  session::Facts f;
  f.apop_timestamp = greeting.apop_timestamp;
  f.capabilities = &caps;
  f.pipelining_allowed = options.pipelining;
  f.pipeline_window = options.pipeline_window;
  f.pipeline_octets = options.pipeline_octets;
  f.highest = highest;
  f.max_listing = options.max_listing;
  return f;
}

std::optional<Error> Client::Impl::not_ready(Command command,
                                             std::span<const std::uint64_t> numbers) const {
  if (!connected() || !engine) return Error(errc::not_connected, "not connected");
  return session::check_numbers(*engine, command, numbers);
}

session::Facts Client::facts() const noexcept {
  return impl_->facts();
}

asio::awaitable<Result<void>> Client::run(session::Operation& op) {
  Scope scope(*impl_, "reading the server's answer");
  co_return co_await impl_->run(op);
}

asio::awaitable<Result<void>> Client::login(std::string user, std::string password,
                                            LoginOptions options, session::Query* query) {
  Impl& d = *impl_;
  if (!d.connected()) co_return Error(errc::not_connected, "not connected");
  Scope scope(d, query == nullptr ? "login" : "login and what follows it");
  session::Login login({user, password}, options, d.facts(), query);
  auto r = co_await d.run(login);
  if (login.capabilities_after()) d.caps = *login.capabilities_after();
  if (query != nullptr && query->kind() == session::Query::Kind::stat && query->done() &&
      query->outcome() && !d.highest) {
    d.highest = session::saturated_sum(query->mailbox().count, d.deleted);
  }
  co_return r;
}

asio::awaitable<Result<void>> Client::Impl::sasl(std::string mechanism,
                                                 auth::SaslCredentials credentials,
                                                 bool unbound_retry) {
  if (!connected()) co_return Error(errc::not_connected, "not connected");
  const std::string name = ascii_upper(mechanism);
  session::SaslLoginOptions sasl_options;
  sasl_options.channel_binding = options.channel_binding;
  sasl_options.unbound_retry = unbound_retry;
  Scope scope(*this, "AUTH " + name);
  const bool tls_on = tls != nullptr && engine->tls_active();
  if (auto type = session::channel_binding_wanted(name, &caps, tls_on, options.channel_binding)) {
    // The same data the blocking client's TlsTransport computes.
    SSL* ssl = tls->native_handle();
    auto cb = net::tls::channel_binding(
        ssl, type->empty() ? net::tls::default_channel_binding_type(ssl) : std::string(*type));
    if (!cb) {
      sasl_login = {name, {}, false, {}};
      Error e = std::move(cb).error();
      e.message = name + ": " + e.message;
      co_return e;
    }
    sasl_options.sasl.channel_binding = std::move(*cb);
  }
  session::SaslLogin login(name, credentials, std::move(sasl_options), facts());
  auto r = co_await run(login);
  if (!login.info().mechanism.empty()) sasl_login = login.info();
  if (login.logged_in()) channel_bound = login.channel_bound();
  if (login.capabilities_after()) caps = *login.capabilities_after();
  co_return r;
}

asio::awaitable<Result<void>> Client::authenticate(std::string mechanism,
                                                   auth::SaslCredentials credentials) {
  co_return co_await impl_->sasl(std::move(mechanism), std::move(credentials), false);
}

asio::awaitable<Result<void>> Client::authenticate_chosen(std::string mechanism,
                                                          auth::SaslCredentials credentials) {
  co_return co_await impl_->sasl(std::move(mechanism), std::move(credentials), true);
}

std::string Client::choose_mechanism() const {
  auto m =
      session::choose_mechanism(impl_->caps, tls_active(), impl_->options.allow_plaintext_password,
                                impl_->options.channel_binding);
  return m ? std::move(*m) : std::string();
}

asio::awaitable<Result<void>> Client::login_auto(std::string user, std::string password) {
  auto m =
      session::choose_mechanism(impl_->caps, tls_active(), impl_->options.allow_plaintext_password,
                                impl_->options.channel_binding);
  if (!m) co_return std::move(m).error();
  if (*m == "USER") co_return co_await login(std::move(user), std::move(password));
  auth::SaslCredentials creds;
  creds.authcid = std::move(user);
  creds.password = std::move(password);
  co_return co_await impl_->sasl(std::move(*m), std::move(creds), true);
}

asio::awaitable<Result<Capabilities>> Client::capa() {
  Impl& d = *impl_;
  Scope scope(d, "CAPA");
  session::Exchange op({Command::capa}, d.facts());
  if (auto r = co_await d.run(op); !r) co_return std::move(r).error();
  d.caps = op.capabilities();
  co_return std::move(op.capabilities());
}

asio::awaitable<Result<MailboxStat>> Client::stat() {
  Impl& d = *impl_;
  Scope scope(d, "STAT");
  session::Exchange op({Command::stat}, d.facts());
  if (auto r = co_await d.run(op); !r) co_return std::move(r).error();
  if (!d.highest) d.highest = session::saturated_sum(op.mailbox().count, d.deleted);
  co_return op.mailbox();
}

asio::awaitable<Result<void>> Client::query(session::Query& query) {
  Impl& d = *impl_;
  const bool stat = query.kind() == session::Query::Kind::stat;
  Scope scope(d, stat ? "STAT" : "LIST and UIDL");
  if (auto bad = d.not_ready(stat ? Command::stat : Command::list, {})) co_return std::move(*bad);
  query.prepare(d.facts(), d.pipelining());
  auto r = co_await d.run(query);
  if (stat && query.done() && query.outcome() && !d.highest) {
    d.highest = session::saturated_sum(query.mailbox().count, d.deleted);
  }
  co_return r;
}

asio::awaitable<Result<std::vector<MessageEntry>>> Client::list_with_uidl() {
  session::Query listing(session::Query::Kind::listing);
  if (auto r = co_await query(listing); !r) co_return std::move(r).error();
  co_return std::move(listing.entries());
}

asio::awaitable<Result<std::uint64_t>> Client::retrieve(std::uint64_t number, session::Sink sink) {
  Impl& d = *impl_;
  Scope scope(d, "RETR");
  session::Exchange op({Command::retr, number}, d.facts(), &sink);
  if (auto r = co_await d.run(op); !r) co_return std::move(r).error();
  co_return op.octets();
}

asio::awaitable<Result<std::uint64_t>> Client::top(std::uint64_t number, std::uint64_t lines,
                                                   session::Sink sink) {
  Impl& d = *impl_;
  Scope scope(d, "TOP");
  session::Exchange op({Command::top, number, lines}, d.facts(), &sink);
  if (auto r = co_await d.run(op); !r) co_return std::move(r).error();
  co_return op.octets();
}

asio::awaitable<Result<void>> Client::dele(std::uint64_t number) {
  Impl& d = *impl_;
  Scope scope(d, "DELE");
  session::Exchange op({Command::dele, number}, d.facts());
  auto r = co_await d.run(op);
  if (r) ++d.deleted;
  co_return r;
}

asio::awaitable<Result<void>> Client::utf8() {
  if (!impl_->caps.has("UTF8")) {
    co_return Error(errc::unsupported, "UTF8: the server does not offer UTF8 (not in its CAPA)");
  }
  Scope scope(*impl_, "UTF8");
  session::Exchange op({Command::utf8}, impl_->facts());
  co_return co_await impl_->run(op);
}

asio::awaitable<Result<void>> Client::noop() {
  Scope scope(*impl_, "NOOP");
  session::Exchange op({Command::noop}, impl_->facts());
  co_return co_await impl_->run(op);
}

asio::awaitable<Result<void>> Client::rset() {
  Impl& d = *impl_;
  Scope scope(d, "RSET");
  session::Exchange op({Command::rset}, d.facts());
  auto r = co_await d.run(op);
  if (r) d.deleted = 0;
  co_return r;
}

asio::awaitable<Result<void>> Client::quit() {
  Impl& d = *impl_;
  Scope scope(d, "QUIT");
  session::Quit quit;
  auto r = co_await d.run(quit);
  if (quit.closes_connection()) d.close();
  co_return r;
}

asio::awaitable<Result<void>> Client::retrieve_many(std::span<const std::uint64_t> numbers,
                                                    MessageHandler& handler,
                                                    std::span<const std::uint64_t> sizes,
                                                    ReadGate gate) {
  Impl& d = *impl_;
  Scope scope(d, "RETR");
  session::Batch batch(d.facts(), numbers, handler, sizes);
  d.read_gate = std::move(gate);
  auto r = co_await d.run(batch);
  d.read_gate = nullptr;
  co_return r;
}

asio::awaitable<Result<void>> Client::top_many(std::span<const std::uint64_t> numbers,
                                               std::uint64_t lines, MessageHandler& handler) {
  Impl& d = *impl_;
  Scope scope(d, "TOP");
  session::Batch batch(d.facts(), numbers, lines, handler);
  co_return co_await d.run(batch);
}

asio::awaitable<Result<std::vector<Result<void>>>> Client::dele_many(
    std::span<const std::uint64_t> numbers) {
  Impl& d = *impl_;
  Scope scope(d, "DELE");
  session::Batch batch(d.facts(), numbers);
  auto r = co_await d.run(batch);
  d.deleted += batch.deleted();
  if (!r) co_return std::move(r).error();
  co_return std::move(batch.results());
}

const GreetingInfo& Client::greeting() const noexcept {
  return impl_->greeting;
}
const Capabilities& Client::capabilities() const noexcept {
  return impl_->caps;
}
const Capabilities& Client::capabilities_before_tls() const noexcept {
  return impl_->caps_before_tls;
}
bool Client::tls_active() const noexcept {
  return impl_->tls != nullptr && impl_->engine && impl_->engine->tls_active();
}
const net::CertificateInfo* Client::certificate() const noexcept {
  return impl_->tls ? &impl_->certificate : nullptr;
}
const SaslLoginInfo& Client::sasl_login() const noexcept {
  return impl_->sasl_login;
}
bool Client::channel_bound() const noexcept {
  return impl_->channel_bound;
}
bool Client::pipelining() const noexcept {
  return impl_->pipelining();
}
bool Client::connected() const noexcept {
  return impl_->connected();
}
proto::State Client::state() const noexcept {
  return impl_->engine ? impl_->engine->state() : proto::State::closed;
}
void Client::close() noexcept {
  impl_->close();
}
void Client::cancel() noexcept {
  Impl& d = *impl_;
  d.cancelled = true;
  d.disarm();
  if (d.stop_connecting) d.stop_connecting();
  if (!d.connected()) return;
  // The pending operations complete with operation_aborted; the call that
  // waits sees `cancelled` and closes the connection then, not while the
  // (TLS) stream still has an operation in flight.
  std::error_code ignored;
  d.lowest().cancel(ignored);
}

}  // namespace pop3kit::async
