// SASL (RFC 5034) and the automatic choice of a login method.
#include <algorithm>

#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/client.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

using proto::Command;

namespace {

bool ends_with_plus(std::string_view name) {
  return name.size() > 5 && name.ends_with("-PLUS");
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<void> Client::authenticate(std::string_view mechanism,
                                  const auth::SaslCredentials& credentials) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  const std::string name = upper(mechanism);
  OperationScope op(*this, "AUTH " + name);
  auth::SaslOptions sasl_options;
  if (tls_active()) {
    // -PLUS binds to this TLS channel. Plain SCRAM gets the data too, so it
    // can tell the server it could have bound ("y"), when the server offers
    // no -PLUS variant: a man in the middle who removed it is then caught.
    // (The -PLUS names are in the SASL list, not capability names.)
    const bool plus = ends_with_plus(name);
    if (plus || (name.starts_with("SCRAM-") && !caps_.offers_sasl(name + "-PLUS"))) {
      auto cb = tls_->channel_binding();
      if (!cb) return std::move(cb).error();
      sasl_options.channel_binding = auth::ChannelBinding{cb->type, cb->data};
    }
  }
  auto made = auth::make_sasl_mechanism(name, credentials, sasl_options);
  if (!made) return std::move(made).error();
  auth::SaslMechanism& mech = **made;
  const std::string what = "AUTH " + name;

  // RFC 5034 §4: an initial response only when the server lists SASL, and
  // only on the AUTH line when it keeps the line within 255 octets.
  std::optional<std::string> initial;
  if (mech.client_first()) {
    auto ir = mech.initial_response();
    if (!ir) return std::move(ir).error();
    initial = auth::base64_encode(*ir);
  }
  const bool inline_ir = initial && caps_.has("SASL") &&
                         5 + name.size() + 1 + std::max<std::size_t>(initial->size(), 1) + 2 <=
                             options_.limits.max_command;
  std::error_code queued =
      inline_ir ? engine_->auth(name, std::string_view(*initial)) : engine_->auth(name);
  if (queued) return detail::refused(queued, Command::auth, engine_->state());
  bool initial_pending = initial && !inline_ir;
  std::optional<Error> local;  // why the client cancelled, if it did

  for (;;) {
    if (auto r = flush(); !r) return r;
    auto ev = next();
    if (!ev) {
      Error e = std::move(ev).error();
      // A server that goes on after "*": say why the client had cancelled.
      if (local && e.code == errc::bad_sasl_exchange)
        e.message += " (cancelled: " + local->message + ")";
      return e;
    }
    if (const auto* ch = std::get_if<proto::SaslChallenge>(&*ev)) {
      if (initial_pending && ch->data.empty()) {
        initial_pending = false;
        if (auto ec = engine_->sasl_response(*initial))
          return detail::refused(ec, Command::auth, engine_->state());
        continue;
      }
      initial_pending = false;
      auto decoded = auth::base64_decode(ch->data);
      Result<std::string> response =
          decoded
              ? mech.step(*decoded)
              : Result<std::string>(Error(errc::malformed_response,
                                          what + ": the server's challenge is not valid base64"));
      if (!response) {
        local = std::move(response).error();
        (void)engine_->sasl_cancel();
        continue;
      }
      if (auto ec = engine_->sasl_response(auth::base64_encode(*response))) {
        return detail::refused(ec, Command::auth, engine_->state());
      }
      continue;
    }
    const auto* st = std::get_if<proto::Status>(&*ev);
    if (st == nullptr || st->command != Command::auth) {
      return fail(Error(errc::unexpected_data, "unexpected answer during " + what));
    }
    if (!st->ok) {
      if (local) return *local;
      Error e = server_error(*st, what + " refused");
      if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
      return e;
    }
    if (local) {
      // The server said +OK to a cancelled exchange: nothing it says can be trusted.
      return fail(Error(errc::auth_failed, what + ": the server accepted a cancelled exchange"));
    }
    if (auto fin = mech.finish(); !fin) {
      Error e = std::move(fin).error();
      e.code = make_error_code(errc::auth_failed);
      e.message = what + ": " + e.message;
      return fail(std::move(e));
    }
    return after_login(false, capa_again_after_login(), nullptr);
  }
}

std::string Client::choose_mechanism() const {
  const bool tls = tls_active();
  const bool reusable_ok = tls || options_.allow_plaintext_password;
  // Strongest first; whether a mechanism may go over this connection is
  // sasl_mechanism_info()'s answer, the same the login planning uses.
  for (const char* m : {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"}) {
    const auth::SaslMechanismInfo* info = auth::sasl_mechanism_info(m);
    if (info->channel_binding && !tls) continue;
    if (info->sends_reusable_secret && !reusable_ok) continue;
    if (caps_.offers_sasl(m)) return m;
  }
  // USER/PASS sends the password itself. RFC 1939 baseline; absent only when
  // CAPA was asked and left it out.
  if (!reusable_ok) return {};
  if (caps_.entries.empty() || caps_.has("USER")) return "USER";
  return {};
}

Result<void> Client::login_auto(std::string_view user, std::string_view password) {
  const std::string m = choose_mechanism();
  if (m.empty()) {
    return Error(errc::unsupported,
                 tls_active() || options_.allow_plaintext_password
                     ? "the server offers no login method pop3kit can use"
                     : "the server offers no login method that keeps the password off an "
                       "unencrypted connection");
  }
  if (m == "USER") return login(user, password);
  auth::SaslCredentials creds;
  creds.authcid = user;
  creds.password = password;
  return authenticate(m, creds);
}

}  // namespace pop3kit
