// USER/PASS and APOP, the CAPA asked again after the login, and the query
// that follows it, in as few round trips as the server allows.
//
// With PIPELINING, PASS follows USER without waiting for its answer (in a
// write of its own, see session.hpp), and once PASS (or APOP) is answered, the CAPA asked again and
// the query go out together in the next. Nothing rides with PASS or APOP itself: the engine refuses
// it, because a server may hand the connection to another process when the login completes and lose
// what was buffered (Courier). A refused USER is seen before PASS's answer, which is read and
// dropped.
#include <utility>
#include <variant>

#include <utility>
#include "answers.hpp"
#include "pop3kit/apop.hpp"

#include "pop3kit/session.hpp"

namespace pop3kit::session {

using proto::Command;

namespace {

// What a server shows can change once the user is known: values marked
// USER (RFC 2449 §6.5, §6.7), and some servers (Gmail) list PIPELINING
// only after login. Asked again only when CAPA was asked before.
bool capa_again_after_login(const Capabilities* caps) {
  if (caps == nullptr || caps->entries.empty()) return false;
  const auto delay = caps->login_delay();
  const auto expire = caps->expire();
  return !caps->has("PIPELINING") || (delay && delay->per_user) || (expire && expire->per_user);
}

}  // namespace

AfterLogin::AfterLogin(const Facts& facts, bool together, Query* query)
    : facts_(facts), together_(together), query_(query) {}

void AfterLogin::start(proto::Engine& engine) {
  const bool capa_again = capa_again_after_login(facts_.capabilities);
  if (together_) {
    std::error_code ec = capa_again ? engine.capa() : std::error_code{};
    if (!ec && query_ != nullptr) {
      query_->prepare(facts_, true);
      ec = query_->queue_all(engine);
    }
    if (ec) return lose(Error(ec, "cannot queue what follows the login: " + ec.message()));
  } else if (capa_again) {
    if (auto ec = engine.capa()) return finish(refused(ec, Command::capa, engine.state()));
  }
  if (!capa_again) return start_query();
}

void AfterLogin::on_event(proto::Engine&, const proto::Event& ev) {
  if (phase_ == Phase::capa) {
    const proto::Status* st = status_of(ev, Command::capa);
    if (st == nullptr) return lose(out_of_step(Command::capa));
    if (!st->ok) return start_query();  // a -ERR keeps what the first CAPA said
    phase_ = Phase::capa_list;
    return;
  }
  if (const auto* c = std::get_if<proto::Capability>(&ev)) {
    caps_.entries.push_back({std::string(c->name), std::string(c->arguments)});
  } else if (std::holds_alternative<proto::End>(ev)) {
    caps_after_ = std::move(caps_);
    start_query();
  }
}

void AfterLogin::start_query() {
  phase_ = Phase::query;
  if (query_ == nullptr) return finish();
  if (!together_) {
    // Lock-step so far may still pipeline: the new CAPA may list PIPELINING.
    Facts now = facts_;
    if (caps_after_) now.capabilities = &*caps_after_;
    query_->prepare(facts_, now.pipelining());
  }
  hand_over(*query_, false);
}

Login::Login(Credentials credentials, LoginOptions options, const Facts& facts, Query* query,
             ApopFallback fallback)
    : credentials_(credentials),
      options_(options),
      facts_(facts),
      query_(query),
      fallback_(fallback) {}

const std::optional<Capabilities>& Login::capabilities_after() const noexcept {
  static const std::optional<Capabilities> none;
  return after_ ? after_->capabilities_after() : none;
}

void Login::start(proto::Engine& engine) {
  together_ = facts_.pipelining();
  if (options_.method == LoginMethod::apop) {
    if (!facts_.apop_timestamp.empty()) {
      const std::string digest = auth::apop_digest(facts_.apop_timestamp, credentials_.password);
      if (digest.empty()) {
        return finish(Error(errc::unsupported, "MD5 is not available from OpenSSL"));
      }
      if (auto ec = engine.apop(credentials_.user, digest)) {
        return finish(refused(ec, Command::apop, engine.state()));
      }
      phase_ = Phase::apop;
      return;
    }
    if (!options_.allow_fallback) {
      return finish(Error(errc::unsupported,
                          "APOP is not possible: the server's greeting has no valid timestamp"));
    }
  }
  user_pass(engine);
}

void Login::user_pass(proto::Engine& engine) {
  user_sent_ = true;
  if (auto ec = engine.user(credentials_.user)) {
    return finish(refused(ec, Command::user, engine.state()));
  }
  pass_after_write_ = together_;
  phase_ = Phase::user;
}

// PASS in a write of its own, still before USER's answer (see the header:
// Dovecot is slow to answer the two in one segment).
void Login::on_written(proto::Engine& engine) {
  if (!std::exchange(pass_after_write_, false)) return;
  if (auto ec = engine.pass(credentials_.password)) {
    finish(refused(ec, Command::pass, engine.state()));
  }
}

// Many servers hang up after a refused login. The refusal is still what the
// caller must hear (a wrong password is not a dropped connection to retry).
Error Login::on_lost(Error error) {
  if (phase_ == Phase::user && apop_refused_) return std::move(*apop_refused_);
  if (phase_ == Phase::drain && user_refused_) return std::move(*user_refused_);
  return error;
}

void Login::on_event(proto::Engine& engine, const proto::Event& ev) {
  if (phase_ == Phase::drain) {
    // The answers to what went out with a refused USER, dropped.
    if (engine.outstanding() == 0) finish(std::move(*user_refused_));
    return;
  }
  const Command expected = phase_ == Phase::apop   ? Command::apop
                           : phase_ == Phase::user ? Command::user
                                                   : Command::pass;
  const proto::Status* st = status_of(ev, expected);
  if (st == nullptr) return lose(out_of_step(expected));
  on_status(engine, *st);
}

void Login::on_status(proto::Engine& engine, const proto::Status& st) {
  switch (phase_) {
    case Phase::apop: {
      if (st.ok) return after_login();
      Error e = server_error(st, "APOP login refused");
      if (fallback_ == ApopFallback::credentials && e.code != errc::server_error &&
          e.code != errc::auth_failed) {
        return finish(std::move(e));
      }
      e.code = make_error_code(errc::auth_failed);
      if (!options_.allow_fallback) return finish(std::move(e));
      apop_refused_ = std::move(e);
      return user_pass(engine);
    }
    case Phase::user: {
      if (!st.ok) {
        Error e = server_error(st, "user name refused");
        if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
        if (!together_ || engine.outstanding() == 0) return finish(std::move(e));
        user_refused_ = std::move(e);  // reported once PASS's -ERR is read
        phase_ = Phase::drain;
        return;
      }
      if (!together_) {
        if (auto ec = engine.pass(credentials_.password)) {
          return finish(refused(ec, Command::pass, engine.state()));
        }
      }
      phase_ = Phase::pass;
      return;
    }
    case Phase::pass: {
      if (st.ok) return after_login();
      // A refused PASS is a failed login, whatever else the text says.
      Error e = server_error(st, "login refused");
      if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
      return finish(std::move(e));
    }
    case Phase::drain:
    case Phase::after:
      return;
  }
}

// Once the login is answered, what follows it: in the next write.
void Login::after_login() {
  phase_ = Phase::after;
  hand_over(after_.emplace(facts_, together_, query_), true);
}

}  // namespace pop3kit::session
