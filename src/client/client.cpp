#include "pop3kit/client.hpp"

#include <chrono>

#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/session_command.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

using detail::refused;
using detail::saturated_sum;
using proto::Command;
using namespace std::chrono_literals;

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      deadline_(options_.operation_deadline, options_.deadline_per_mib) {}
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
  if (scopes_ == 0) deadline_.close();
}

Error Client::fail(Error e) {
  close();
  return e;
}

Error Client::server_error(const proto::Status& st, std::string_view what) const {
  return session::server_error(st, what, &caps_);
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
  auto tls = handshake(**t, host);
  if (!tls) return std::move(tls).error();
  net::TlsTransport* raw = tls->get();
  auto r = connect(std::unique_ptr<net::Transport>(std::move(*tls)));
  if (!r) return r;
  tls_ = raw;
  engine_->set_tls_active();
  return {};
}

// STLS is session::StartTls's; the handshake it asks for is upgrade().
Result<void> Client::starttls(std::string_view host) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  OperationScope op(*this, "STLS");
  if (!transport_->can_start_tls()) {
    return Error(errc::wrong_state, "STLS needs a plain TCP connection without TLS");
  }
  session::StartTls stls;
  tls_host_ = host;
  auto r = run(stls);
  if (stls.capabilities_before()) caps_ = *stls.capabilities_before();
  if (stls.accepted()) {
    caps_before_tls_ = std::move(caps_);
    caps_ = stls.capabilities_after().value_or(Capabilities{});
  }
  return r;
}

Result<void> Client::upgrade() {
  auto tls = handshake(*transport_, tls_host_);
  if (!tls) return fail(std::move(tls).error());
  tls_ = tls->get();
  transport_ = std::move(*tls);
  engine_->set_tls_active();
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
  session::AwaitGreeting greeting;
  if (auto r = run(greeting); !r) return r;
  greeting_.text = greeting.text();
  greeting_.apop_timestamp = greeting.apop_timestamp();
  // Anything that came with the greeting answers no command: taken for the
  // answer to the next one, it would shift every answer after it.
  if (auto e = session::buffered_unasked(*engine_)) return fail(std::move(*e));
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

// One read into the engine, waiting at most `most`.
Result<void> Client::receive(std::chrono::milliseconds most) {
  auto wait = io_wait(most);
  if (!wait) return fail(std::move(wait).error());
  auto n = transport_->read_some(engine_->receive_space(), *wait);
  if (!n) return fail(io_error(std::move(n).error()));
  deadline_.add_received(*n);
  if (*n == 0) {
    engine_->receive_eof();
  } else {
    engine_->commit_received(*n);
  }
  return {};
}

// What the session layer's operations need to know of this session.
session::Facts Client::facts() const noexcept {
  session::Facts f;
  f.apop_timestamp = greeting_.apop_timestamp;
  f.capabilities = &caps_;
  f.pipelining_allowed = options_.pipelining == ClientOptions::Pipelining::automatic;
  f.pipeline_window = options_.pipeline_window;
  f.pipeline_octets = options_.pipeline_octets;
  f.highest = highest_;
  f.max_listing = options_.max_listing;
  return f;
}

// The runner: moves bytes between the transport and a session operation
// until it is done. The policy is the operation's; this only does the I/O,
// with the deadlines and the check that nothing came unasked before a write.
Result<void> Client::run(session::Operation& op) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  for (;;) {
    switch (op.resume(*engine_)) {
      case session::Want::write:
        if (auto r = flush(); !r) op.transport_failed(std::move(r).error());
        break;
      case session::Want::write_ready:
        if (auto r = write_ready(); !r) op.transport_failed(std::move(r).error());
        break;
      case session::Want::read:
        // After QUIT the close normally comes with the answer: a server slow
        // to close only costs this short wait.
        if (auto r = receive(op.closing() ? std::chrono::milliseconds(500ms) : options_.io_timeout);
            !r) {
          op.transport_failed(std::move(r).error());
        }
        break;
      case session::Want::start_tls:
        if (auto r = upgrade(); !r) op.transport_failed(std::move(r).error());
        break;
      case session::Want::done:
        if (op.closes_connection()) close();
        exchange_done();
        return op.outcome();
    }
  }
}

// What a query found that the session keeps: STAT's count bounds later listings.
void Client::apply(const Query& query) {
  if (query.kind() == Query::Kind::stat && query.done() && query.outcome() && !highest_) {
    highest_ = saturated_sum(query.mailbox().count, deleted_);
  }
}

Result<void> Client::login(std::string_view user, std::string_view password, LoginOptions options,
                           Query* query) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  OperationScope op(*this, query == nullptr ? "login" : "login and what follows it");
  session::Login login({user, password}, options, facts(), query);
  auto r = run(login);
  if (login.capabilities_after()) caps_ = *login.capabilities_after();
  if (query != nullptr) apply(*query);
  return r;
}

Result<void> Client::query(Query& query) {
  OperationScope op(*this, query.kind() == Query::Kind::stat ? "STAT" : "LIST and UIDL");
  if (auto r = check_numbers({}, query.kind() == Query::Kind::stat ? Command::stat : Command::list);
      !r) {
    return r;
  }
  query.prepare(facts(), pipelining());
  auto r = run(query);
  apply(query);
  return r;
}

// The single commands run session::Exchange with this session's facts (the
// capabilities for the server's errors, STAT's count and max_listing for the
// listings); only the bookkeeping of the session is theirs.
Result<Capabilities> Client::capa() {
  session::Exchange op({Command::capa}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  caps_ = op.capabilities();
  return std::move(op.capabilities());
}

Result<MailboxStat> Client::stat() {
  session::Exchange op({Command::stat}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  if (!highest_) highest_ = saturated_sum(op.mailbox().count, deleted_);
  return op.mailbox();
}

Result<std::vector<MessageInfo>> Client::list() {
  session::Exchange op({Command::list}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  std::vector<MessageInfo> out;
  out.reserve(op.entries().size());
  for (const auto& e : op.entries())
    out.push_back({e.number, e.size});
  return out;
}

Result<MessageInfo> Client::list(std::uint64_t number) {
  session::Exchange op({Command::list, number}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  return MessageInfo{op.entry().number, op.entry().size};
}

Result<std::vector<MessageUid>> Client::uidl() {
  session::Exchange op({Command::uidl}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  std::vector<MessageUid> out;
  out.reserve(op.entries().size());
  for (auto& e : op.entries())
    out.push_back({e.number, std::move(e.uid)});
  return out;
}

Result<MessageUid> Client::uidl(std::uint64_t number) {
  session::Exchange op({Command::uidl, number}, facts());
  if (auto r = run(op); !r) return std::move(r).error();
  return MessageUid{op.entry().number, op.entry().uid};
}

Result<std::uint64_t> Client::retrieve(std::uint64_t number, const Sink& sink) {
  session::Exchange op({Command::retr, number}, facts(), &sink);
  if (auto r = run(op); !r) return std::move(r).error();
  return op.octets();
}

Result<std::uint64_t> Client::top(std::uint64_t number, std::uint64_t lines, const Sink& sink) {
  session::Exchange op({Command::top, number, lines}, facts(), &sink);
  if (auto r = run(op); !r) return std::move(r).error();
  return op.octets();
}

Result<void> Client::dele(std::uint64_t number) {
  session::Exchange op({Command::dele, number}, facts());
  auto r = run(op);
  if (r) ++deleted_;
  return r;
}

Result<void> Client::utf8() {
  if (!caps_.has("UTF8")) {
    return Error(errc::unsupported, "UTF8: the server does not offer UTF8 (not in its CAPA)");
  }
  session::Exchange op({Command::utf8}, facts());
  return run(op);
}

Result<void> Client::noop() {
  session::Exchange op({Command::noop}, facts());
  return run(op);
}

Result<void> Client::rset() {
  session::Exchange op({Command::rset}, facts());
  auto r = run(op);
  if (r) deleted_ = 0;
  return r;
}

// QUIT and the close after it (session::Quit); the connection is closed
// either way once QUIT was sent.
Result<void> Client::quit() {
  session::Quit quit;
  auto r = run(quit);
  if (quit.closes_connection()) close();
  return r;
}

}  // namespace pop3kit
