#include "pop3kit/client.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/apop.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

using detail::refused;
using detail::saturated_sum;
using proto::Command;

namespace {

errc classify(ResponseCode rc, errc fallback) noexcept {
  switch (rc) {
    case ResponseCode::in_use:
    case ResponseCode::login_delay:
    case ResponseCode::sys_temp:
      return errc::temporary_failure;
    case ResponseCode::sys_perm:
      return errc::permanent_failure;
    case ResponseCode::auth:
      return errc::auth_failed;
    default:
      return fallback;
  }
}

}  // namespace

bool Capabilities::has(std::string_view name) const noexcept {
  return arguments(name).has_value();
}

std::optional<std::string_view> Capabilities::arguments(std::string_view name) const noexcept {
  for (const auto& e : entries) {
    if (iequals(e.name, name)) return std::string_view(e.arguments);
  }
  return std::nullopt;
}

namespace {

std::optional<Capabilities::Policy> policy(std::optional<std::string_view> args, bool never_ok) {
  if (!args) return std::nullopt;
  std::string_view rest = *args;
  const auto sp = rest.find(' ');
  const std::string_view value = rest.substr(0, sp);
  const std::string_view tail = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
  Capabilities::Policy p;
  p.per_user = iequals(tail, "USER");
  if (!tail.empty() && !p.per_user) return std::nullopt;
  if (never_ok && iequals(value, "NEVER")) return p;
  std::uint64_t v = 0;
  if (value.empty() || value.size() > 19) return std::nullopt;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  p.value = v;
  return p;
}

}  // namespace

std::optional<Capabilities::Policy> Capabilities::login_delay() const {
  return policy(arguments("LOGIN-DELAY"), false);
}

std::optional<Capabilities::Policy> Capabilities::expire() const {
  return policy(arguments("EXPIRE"), true);
}

std::optional<std::string_view> Capabilities::implementation() const noexcept {
  return arguments("IMPLEMENTATION");
}

std::vector<std::string_view> Capabilities::sasl_mechanisms() const {
  std::vector<std::string_view> out;
  std::string_view rest = arguments("SASL").value_or("");
  while (!rest.empty()) {
    const auto sp = rest.find(' ');
    if (sp != 0) out.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return out;
}

bool Capabilities::offers_sasl(std::string_view mechanism) const {
  const auto offered = sasl_mechanisms();
  return std::any_of(offered.begin(), offered.end(),
                     [mechanism](std::string_view m) { return iequals(m, mechanism); });
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

proto::State Client::state() const noexcept {
  return engine_ ? engine_->state() : proto::State::closed;
}

void Client::close() noexcept {
  if (transport_) transport_->close();
  transport_.reset();
  tls_ = nullptr;
  if (op_.scopes == 0) op_.open = false;
}

Error Client::fail(Error e) {
  close();
  return e;
}

Error Client::server_error(const proto::Status& st, std::string_view what) const {
  std::string msg(what);
  msg += ": server says \"";
  if (st.code != ResponseCode::none) {
    const char* code = to_string(st.code);
    msg += "[";
    msg += *code != '\0' ? code : "?";
    msg += "] ";
  }
  msg += sanitize(st.text);
  msg += "\"";
  // TOP and UIDL are optional (RFC 1939 §7): say so when CAPA left them out.
  if ((st.command == Command::top || st.command == Command::uidl) && !caps_.entries.empty() &&
      !caps_.has(proto::to_string(st.command))) {
    msg += std::string(" (the server does not offer ") + proto::to_string(st.command) + ")";
  }
  return Error(classify(st.code, errc::server_error), std::move(msg), st.code);
}

Result<void> Client::connect(std::string_view host, std::uint16_t port) {
  const std::string shown = sanitize(host, 100);
  OperationScope op(
      *this, "connecting to " +
                 (host.find(':') == std::string_view::npos ? shown : "[" + shown + "]") + ":" +
                 std::to_string(port));
  auto t = dial(host, port);
  if (!t) return std::move(t).error();
  if (options_.security != Security::tls) {
    auto r = connect(std::unique_ptr<net::Transport>(std::move(*t)));
    if (!r || options_.security == Security::plain) return r;
    return starttls(host);
  }
  auto tls = handshake(std::move(*t), host);
  if (!tls) return std::move(tls).error();
  net::TlsTransport* raw = tls->get();
  auto r = connect(std::unique_ptr<net::Transport>(std::move(*tls)));
  if (!r) return r;
  tls_ = raw;
  engine_->set_tls_active();
  return {};
}

Result<void> Client::starttls(std::string_view host) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  OperationScope op(*this, "STLS");
  auto* tcp = dynamic_cast<net::TcpTransport*>(transport_.get());
  if (tcp == nullptr || engine_->tls_active()) {
    return Error(errc::wrong_state, "STLS needs a plain TCP connection without TLS");
  }
  // STARTTLS stripping shows as a missing STLS or a -ERR: fail, never go on in the clear.
  auto caps = capa();
  if (!caps) {
    if (!connected()) return std::move(caps).error();
    close();
    return Error(errc::tls_unavailable, "TLS is required, but the server refused CAPA (" +
                                            caps.error().message + "), so STLS cannot be used");
  }
  if (!caps->has("STLS")) {
    close();
    return Error(
        errc::tls_unavailable,
        "TLS is required, but the server does not offer STLS (someone may have removed it)");
  }
  auto st = send_and_wait(engine_->stls(), Command::stls);
  if (!st) return std::move(st).error();
  if (!st->ok) {
    Error e = server_error(*st, "STLS");
    close();
    return Error(errc::tls_unavailable, "TLS is required, but " + e.message, e.response_code);
  }
  caps_before_tls_ = std::move(caps_);
  caps_ = {};
  std::unique_ptr<net::TcpTransport> plain(static_cast<net::TcpTransport*>(transport_.release()));
  auto tls = handshake(std::move(plain), host);
  if (!tls) return fail(std::move(tls).error());
  tls_ = tls->get();
  transport_ = std::move(*tls);
  engine_->set_tls_active();
  // RFC 2595 §4: what was learnt before TLS is forgotten; ask again.
  auto again = capa();
  if (!again && !connected()) return std::move(again).error();
  return {};
}

bool Client::tls_active() const noexcept {
  return engine_ && engine_->tls_active() && tls_;
}

const net::CertificateInfo* Client::certificate() const noexcept {
  return tls_ != nullptr && transport_ ? &tls_->certificate() : nullptr;
}

Result<void> Client::connect(std::unique_ptr<net::Transport> transport) {
  OperationScope op(*this, "waiting for the greeting");
  close();
  transport_ = std::move(transport);
  engine_ = std::make_unique<proto::Engine>(options_.limits);
  if (options_.trace) engine_->set_trace(options_.trace);
  greeting_ = {};
  caps_ = {};
  caps_before_tls_ = {};
  highest_.reset();
  deleted_ = 0;
  sasl_login_ = {};
  channel_bound_ = false;
  auto ev = next();
  if (!ev) return std::move(ev).error();
  const auto* g = std::get_if<proto::Greeting>(&*ev);
  if (g == nullptr) return fail(Error(errc::bad_greeting, "no greeting from the server"));
  if (!g->ok) {
    return fail(Error(errc::greeting_refused,
                      "the server refused the session: \"" + sanitize(g->text) + "\"", g->code));
  }
  greeting_.text = g->text;
  greeting_.apop_timestamp = g->apop_timestamp;
  // Anything that came with the greeting answers no command: taken for the
  // answer to the next one, it would shift every answer after it.
  if (engine_->buffered() > 0) {
    const proto::Event after = engine_->next_event();
    if (const auto* f = std::get_if<proto::Failed>(&after)) {
      return fail(Error(f->code, std::string(f->message)));
    }
  }
  return {};
}

Result<void> Client::flush() {
  if (auto quiet = check_quiet(); !quiet) return quiet;
  while (!engine_->pending_output().empty()) {
    auto wait = io_wait();
    if (!wait) return fail(std::move(wait).error());
    auto n = transport_->write_some(engine_->pending_output(), *wait);
    if (!n) return fail(io_error(std::move(n).error()));
    engine_->consume_output(*n);
  }
  return {};
}

Result<proto::Event> Client::next() {
  if (!transport_) return Error(errc::not_connected, "not connected");
  for (;;) {
    proto::Event ev = engine_->next_event();
    if (const auto* f = std::get_if<proto::Failed>(&ev)) {
      return fail(Error(f->code, std::string(f->message)));
    }
    if (!std::holds_alternative<proto::NeedData>(ev)) {
      exchange_done();
      return ev;
    }
    if (!engine_->wants_read()) {
      return fail(Error(errc::connection_closed, "the server closed the connection"));
    }
    auto wait = io_wait();
    if (!wait) return fail(std::move(wait).error());
    auto n = transport_->read_some(engine_->receive_space(), *wait);
    if (!n) return fail(io_error(std::move(n).error()));
    op_.received += *n;
    if (*n == 0) {
      engine_->receive_eof();
    } else {
      engine_->commit_received(*n);
    }
  }
}

Result<proto::Status> Client::wait_status(Command c) {
  auto ev = next();
  if (!ev) return std::move(ev).error();
  const auto* st = std::get_if<proto::Status>(&*ev);
  if (st == nullptr || st->command != c) {
    return fail(Error(errc::unexpected_data,
                      std::string("expected the status line of ") + proto::to_string(c)));
  }
  return *st;
}

Result<proto::Status> Client::send_and_wait(std::error_code queued, Command c) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  if (queued) return refused(queued, c, engine_->state());
  if (auto r = flush(); !r) return std::move(r).error();
  return wait_status(c);
}

Result<void> Client::simple(std::error_code queued, Command c, std::string_view what) {
  auto st = send_and_wait(queued, c);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, what);
  return {};
}

// Reads and drops every answer still outstanding (those of commands that
// went out with a login the server refused).
Result<void> Client::drain() {
  while (engine_->outstanding() > 0) {
    auto ev = next();
    if (!ev) return std::move(ev).error();
  }
  return {};
}

// After a refused login, the answers to what rode along with it. Many
// servers hang up after a refused PASS; the refusal is still what the caller
// must hear (a wrong password is not a dropped connection to retry), so a
// failure here only closes the connection. False when it is gone.
bool Client::drain_after_refusal() {
  if (drain()) return true;
  close();
  return false;
}

Result<void> Client::login(std::string_view user, std::string_view password, LoginOptions options) {
  return login_then(user, password, options, nullptr);
}

// With PIPELINING, USER and PASS go out in one write, and once PASS (or
// APOP) is answered, the CAPA asked again after login and the follow-ups go
// out together in the next. Nothing rides with PASS or APOP itself: the
// engine refuses it, because a server may hand the connection to another
// process when the login completes and lose what was buffered (Courier).
// A refused USER is seen before PASS's answer, which is read and dropped.
Result<void> Client::login_then(std::string_view user, std::string_view password,
                                const LoginOptions& options, const FollowUp* then) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  OperationScope op(*this, then == nullptr ? "login" : "login and what follows it");
  const bool together = pipelining();
  const bool capa_again = capa_again_after_login();
  std::optional<Error> apop_refused;  // when USER/PASS follows a refused APOP
  if (options.method == LoginMethod::apop) {
    if (!greeting_.apop_timestamp.empty()) {
      const std::string digest = auth::apop_digest(greeting_.apop_timestamp, password);
      if (digest.empty()) return Error(errc::unsupported, "MD5 is not available from OpenSSL");
      auto st = send_and_wait(engine_->apop(user, digest), Command::apop);
      if (!st) return std::move(st).error();
      if (st->ok) return after_login(together, capa_again, then);
      Error e = server_error(*st, "APOP login refused");
      if (e.code != errc::server_error && e.code != errc::auth_failed) return e;
      e.code = make_error_code(errc::auth_failed);
      if (!options.allow_fallback) return e;
      apop_refused = std::move(e);
    } else if (!options.allow_fallback) {
      return Error(errc::unsupported,
                   "APOP is not possible: the server's greeting has no valid timestamp");
    }
  }
  // Many servers hang up after a refused APOP: then the refusal is what the
  // caller must hear (a wrong password is not a dropped connection to retry).
  auto after_apop = [&](Error e) {
    if (apop_refused && !connected()) return std::move(*apop_refused);
    return e;
  };
  if (auto ec = engine_->user(user)) return refused(ec, Command::user, engine_->state());
  if (together) {
    if (auto ec = engine_->pass(password)) return refused(ec, Command::pass, engine_->state());
  }
  auto st = send_and_wait({}, Command::user);
  if (!st) return after_apop(std::move(st).error());
  if (!st->ok) {
    Error e = server_error(*st, "user name refused");
    if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
    if (together) (void)drain_after_refusal();  // PASS's -ERR, read and dropped
    return e;
  }
  st =
      together ? wait_status(Command::pass) : send_and_wait(engine_->pass(password), Command::pass);
  if (!st) return std::move(st).error();
  if (!st->ok) {
    // A refused PASS is a failed login, whatever else the text says.
    Error e = server_error(*st, "login refused");
    if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
    return e;
  }
  return after_login(together, capa_again, then);
}

// What a server shows can change once the user is known: values marked
// USER (RFC 2449 §6.5, §6.7), and some servers (Gmail) list PIPELINING
// only after login. Asked again only when CAPA was asked before.
bool Client::capa_again_after_login() const noexcept {
  if (caps_.entries.empty()) return false;
  const auto delay = caps_.login_delay();
  const auto expire = caps_.expire();
  return !caps_.has("PIPELINING") || (delay && delay->per_user) || (expire && expire->per_user);
}

std::error_code Client::queue_riders(bool capa_again, const FollowUp* then) {
  if (capa_again) {
    if (auto ec = engine_->capa()) return ec;
  }
  for (std::size_t i = 0; then != nullptr && i < then->count; ++i) {
    if (auto ec = then->queue(i)) return ec;
  }
  return {};
}

// Once the login is answered: the CAPA asked again (when capa_again) and
// the follow-ups, all in one write when `together` (the server pipelines),
// else CAPA first, lock-step.
Result<void> Client::after_login(bool together, bool capa_again, const FollowUp* then) {
  if (together) {
    if (auto ec = queue_riders(capa_again, then))
      return fail(Error(ec, "cannot queue what follows the login: " + ec.message()));
  }
  if (capa_again) {
    auto st = send_and_wait(together ? std::error_code{} : engine_->capa(), Command::capa);
    if (!st) return std::move(st).error();
    // A -ERR to the second CAPA keeps what the first one said.
    if (auto again = read_capa(*st); !again && !connected()) return std::move(again).error();
  }
  if (then == nullptr) return {};
  // Lock-step here may still pipeline: the new CAPA may list PIPELINING.
  return pipeline(then->count, then->queue, then->on_event, together ? then->count : 0);
}

Result<Capabilities> Client::capa() {
  auto st = send_and_wait(engine_ ? engine_->capa() : std::error_code{}, Command::capa);
  if (!st) return std::move(st).error();
  return read_capa(*st);
}

Result<Capabilities> Client::read_capa(const proto::Status& status) {
  if (!status.ok) return server_error(status, "CAPA");
  Capabilities caps;
  for (;;) {
    auto ev = next();
    if (!ev) return std::move(ev).error();
    if (std::holds_alternative<proto::End>(*ev)) {
      caps_ = caps;
      return caps;
    }
    if (const auto* c = std::get_if<proto::Capability>(&*ev)) {
      caps.entries.push_back({std::string(c->name), std::string(c->arguments)});
    }
  }
}

Result<MailboxStat> Client::stat() {
  auto st = send_and_wait(engine_ ? engine_->stat() : std::error_code{}, Command::stat);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, "STAT");
  auto ev = next();
  if (!ev) return std::move(ev).error();
  const auto& r = std::get<proto::StatReply>(*ev);
  if (!highest_) highest_ = saturated_sum(r.count, deleted_);
  return MailboxStat{r.count, r.size};
}

Result<std::vector<MessageInfo>> Client::list() {
  auto st = send_and_wait(engine_ ? engine_->list() : std::error_code{}, Command::list);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, "LIST");
  std::vector<MessageInfo> out;
  detail::ListingCheck check("LIST", highest_message(), options_.max_listing);
  for (;;) {
    auto ev = next();
    if (!ev) return std::move(ev).error();
    if (std::holds_alternative<proto::End>(*ev)) {
      if (auto bad = check.finish()) return fail(std::move(*bad));
      return out;
    }
    const auto& e = std::get<proto::ListEntry>(*ev);
    if (auto bad = check.add(e.number)) return fail(std::move(*bad));
    out.push_back({e.number, e.size});
  }
}

Result<MessageInfo> Client::list(std::uint64_t number) {
  auto st = send_and_wait(engine_ ? engine_->list(number) : std::error_code{}, Command::list);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, "LIST " + std::to_string(number));
  auto ev = next();
  if (!ev) return std::move(ev).error();
  const auto& e = std::get<proto::ListEntry>(*ev);
  return MessageInfo{e.number, e.size};
}

Result<std::vector<MessageUid>> Client::uidl() {
  auto st = send_and_wait(engine_ ? engine_->uidl() : std::error_code{}, Command::uidl);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, "UIDL");
  std::vector<MessageUid> out;
  detail::ListingCheck check("UIDL", highest_message(), options_.max_listing);
  for (;;) {
    auto ev = next();
    if (!ev) return std::move(ev).error();
    if (std::holds_alternative<proto::End>(*ev)) {
      if (auto bad = check.finish()) return fail(std::move(*bad));
      return out;
    }
    const auto& e = std::get<proto::UidlEntry>(*ev);
    if (auto bad = check.add(e.number)) return fail(std::move(*bad));
    out.push_back({e.number, std::string(e.uid)});
  }
}

Result<MessageUid> Client::uidl(std::uint64_t number) {
  auto st = send_and_wait(engine_ ? engine_->uidl(number) : std::error_code{}, Command::uidl);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, "UIDL " + std::to_string(number));
  auto ev = next();
  if (!ev) return std::move(ev).error();
  const auto& e = std::get<proto::UidlEntry>(*ev);
  return MessageUid{e.number, std::string(e.uid)};
}

Result<std::uint64_t> Client::stream_body(std::string_view what, const Sink& sink) {
  std::uint64_t total = 0;
  std::error_code sink_error;
  for (;;) {
    auto ev = next();
    if (!ev) return std::move(ev).error();
    if (std::holds_alternative<proto::End>(*ev)) break;
    const auto& chunk = std::get<proto::BodyChunk>(*ev);
    if (sink_error) continue;  // drain the rest so the session stays usable
    if (sink) sink_error = sink(chunk.data);
    if (!sink_error) total += chunk.data.size();
  }
  if (sink_error) {
    return Error(errc::sink_failed,
                 std::string(what) + ": storing the message failed: " + sink_error.message());
  }
  return total;
}

Result<std::uint64_t> Client::retrieve(std::uint64_t number, const Sink& sink) {
  const std::string what = "RETR " + std::to_string(number);
  auto st = send_and_wait(engine_ ? engine_->retr(number) : std::error_code{}, Command::retr);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, what);
  return stream_body(what, sink);
}

Result<std::uint64_t> Client::top(std::uint64_t number, std::uint64_t lines, const Sink& sink) {
  const std::string what = "TOP " + std::to_string(number) + " " + std::to_string(lines);
  auto st = send_and_wait(engine_ ? engine_->top(number, lines) : std::error_code{}, Command::top);
  if (!st) return std::move(st).error();
  if (!st->ok) return server_error(*st, what);
  return stream_body(what, sink);
}

Result<void> Client::dele(std::uint64_t number) {
  auto r = simple(engine_ ? engine_->dele(number) : std::error_code{}, Command::dele,
                  "DELE " + std::to_string(number));
  if (r) ++deleted_;
  return r;
}

Result<void> Client::utf8() {
  if (!caps_.has("UTF8")) {
    return Error(errc::unsupported, "UTF8: the server does not offer UTF8 (not in its CAPA)");
  }
  return simple(engine_ ? engine_->utf8() : std::error_code{}, Command::utf8, "UTF8");
}

Result<void> Client::noop() {
  return simple(engine_ ? engine_->noop() : std::error_code{}, Command::noop, "NOOP");
}

Result<void> Client::rset() {
  auto r = simple(engine_ ? engine_->rset() : std::error_code{}, Command::rset, "RSET");
  if (r) deleted_ = 0;
  return r;
}

// The server closes the connection right after its answer to QUIT (RFC
// 1939 §6). Whatever it sends before closing answers no command: its
// answers were out of step with the commands (an unsolicited line earlier
// was taken for the answer to a later command), so the line taken for
// QUIT's answer may have been another command's, and a refused QUIT may
// look like success. The close normally comes with the answer; the wait for
// it is short, and a server that is slow to close only costs that wait.
bool Client::out_of_step_after_quit() {
  if (engine_->buffered() > 0) return true;
  auto wait = io_wait(std::chrono::milliseconds(500));
  if (!wait) return false;
  char scratch[64];
  auto n = transport_->read_some(scratch, *wait);
  return n && *n > 0;
}

Result<void> Client::quit() {
  auto st = send_and_wait(engine_ ? engine_->quit() : std::error_code{}, Command::quit);
  if (!st) return std::move(st).error();
  const bool out_of_step = out_of_step_after_quit();
  close();
  if (out_of_step) {
    return Error(errc::unexpected_data,
                 "QUIT: the server sent more after its answer, so its answers were out of step "
                 "with the commands; the answer to QUIT cannot be trusted (the deleted messages "
                 "may not have been removed)");
  }
  if (!st->ok) {
    return server_error(*st, "QUIT (the server may not have removed the deleted messages)");
  }
  return {};
}

}  // namespace pop3kit
