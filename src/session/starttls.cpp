// STLS (RFC 2595): CAPA, STLS, the driver's handshake, CAPA again.
//
// Every refusal before TLS closes the connection: a missing STLS or a -ERR
// is how STARTTLS stripping shows, and going on in the clear would send the
// credentials to whoever stripped it.
#include <variant>

#include "answers.hpp"
#include "pop3kit/session_auth.hpp"

namespace pop3kit::session {

using proto::Command;

namespace {

Error capa_refused(const Error& e) {
  return Error(errc::tls_unavailable, "TLS is required, but the server refused CAPA (" + e.message +
                                          "), so STLS cannot be used");
}

}  // namespace

StartTls::StartTls() : Operation(Error(errc::wrong_state, "STLS not sent")) {}

void StartTls::start(proto::Engine& engine) {
  if (engine.tls_active()) {
    return finish(Error(errc::wrong_state, "STLS needs a plain TCP connection without TLS"));
  }
  if (auto ec = engine.capa())
    return lose(capa_refused(refused(ec, Command::capa, engine.state())));
}

void StartTls::on_event(proto::Engine& engine, const proto::Event& ev) {
  switch (phase_) {
    case Phase::capa:
    case Phase::capa_again: {
      const proto::Status* st = status_of(ev, Command::capa);
      if (st == nullptr) return lose(out_of_step(Command::capa));
      if (!st->ok) {
        // Over TLS a -ERR only leaves the capabilities unknown.
        if (phase_ == Phase::capa_again) return finish();
        return lose(capa_refused(server_error(*st, "CAPA")));
      }
      phase_ = phase_ == Phase::capa ? Phase::capa_list : Phase::capa_again_list;
      return;
    }
    case Phase::capa_list:
    case Phase::capa_again_list:
      if (const auto* c = std::get_if<proto::Capability>(&ev)) {
        caps_.entries.push_back({std::string(c->name), std::string(c->arguments)});
        return;
      }
      if (!std::holds_alternative<proto::End>(ev)) return;
      if (phase_ == Phase::capa_again_list) {
        after_ = std::move(caps_);
        return finish();
      }
      before_ = std::move(caps_);
      caps_ = {};
      if (!before_->has("STLS")) {
        return lose(Error(
            errc::tls_unavailable,
            "TLS is required, but the server does not offer STLS (someone may have removed it)"));
      }
      if (auto ec = engine.stls()) return finish(refused(ec, Command::stls, engine.state()));
      phase_ = Phase::stls;
      return;
    case Phase::stls: {
      const proto::Status* st = status_of(ev, Command::stls);
      if (st == nullptr) return lose(out_of_step(Command::stls));
      if (!st->ok) {
        const Error e = server_error(*st, "STLS");
        return lose(
            Error(errc::tls_unavailable, "TLS is required, but " + e.message, e.response_code));
      }
      phase_ = Phase::handshake;
      return want_start_tls();
    }
    case Phase::handshake:
      return;
  }
}

// RFC 2595 §4: what was learnt before TLS is forgotten; ask again.
void StartTls::on_tls_started(proto::Engine& engine) {
  phase_ = Phase::capa_again;
  if (engine.capa()) finish();  // unknown capabilities: the session goes on
}

}  // namespace pop3kit::session
