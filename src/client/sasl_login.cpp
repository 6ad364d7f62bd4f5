// SASL (RFC 5034) and the automatic choice of a login method.
#include <algorithm>
#include <iterator>
#include <optional>

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

constexpr std::string_view kBindingNames[] = {"auto", "tls-exporter", "tls-unique",
                                              "tls-server-end-point", "none"};

// The binding type a choice names; empty for automatic and none.
std::string_view named_type(ChannelBindingChoice choice) noexcept {
  switch (choice) {
    case ChannelBindingChoice::tls_exporter:
    case ChannelBindingChoice::tls_unique:
    case ChannelBindingChoice::tls_server_end_point:
      return to_string(choice);
    case ChannelBindingChoice::automatic:
    case ChannelBindingChoice::none:
      break;
  }
  return {};
}

// A refusal worth one try without binding: not one that says to wait
// ([IN-USE], [LOGIN-DELAY], [SYS/TEMP]) or that the server is broken ([SYS/PERM]).
bool refusal_may_be_the_binding(const Error& e) {
  return e.code == errc::auth_failed || e.code == errc::server_error;
}

}  // namespace

std::string_view to_string(ChannelBindingChoice choice) noexcept {
  const auto i = static_cast<std::size_t>(choice);
  return i < std::size(kBindingNames) ? kBindingNames[i] : std::string_view("?");
}

std::optional<ChannelBindingChoice> parse_channel_binding(std::string_view text) noexcept {
  for (std::size_t i = 0; i < std::size(kBindingNames); ++i) {
    if (text == kBindingNames[i]) return static_cast<ChannelBindingChoice>(i);
  }
  return std::nullopt;
}

Result<void> Client::authenticate_chosen(std::string_view mechanism,
                                         const auth::SaslCredentials& credentials) {
  auto r = authenticate(mechanism, credentials);
  const std::string name = ascii_upper(mechanism);
  if (r || !sasl_login_.refused || options_.channel_binding != ChannelBindingChoice::automatic ||
      !ends_with_plus(name) || !refusal_may_be_the_binding(r.error())) {
    return r;
  }
  // Cyrus SASL binds with tls-unique only, so never over TLS 1.3, and
  // answers -PLUS with "-ERR [AUTH] ... bad protocol". One more try, with
  // the same SCRAM unbound: the password stays as safe (SCRAM never sends
  // it), and a man in the middle who forced this needs a certificate
  // pop3kit trusts. ChannelBindingChoice::tls_* is for those who would
  // rather not log in.
  const std::string unbound = name.substr(0, name.size() - 5);
  if (!caps_.offers_sasl(unbound) || !connected() || state() != proto::State::authorization) {
    return r;
  }
  const std::string refused_binding =
      sasl_login_.mechanism + " with channel binding " + sasl_login_.channel_binding;
  auto again = authenticate(unbound, credentials);
  sasl_login_.refused_binding = refused_binding;
  if (again) return again;
  Error e = std::move(again).error();
  e.message += " (" + refused_binding + " was refused before)";
  return e;
}

Result<void> Client::authenticate(std::string_view mechanism,
                                  const auth::SaslCredentials& credentials) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  const std::string name = ascii_upper(mechanism);
  const bool plus = ends_with_plus(name);
  if (plus && options_.channel_binding == ChannelBindingChoice::none) {
    return Error(errc::invalid_argument,
                 name + " binds the login to the TLS channel, but channel binding is set to none");
  }
  OperationScope op(*this, "AUTH " + name);
  sasl_login_ = {name, {}, false, {}};
  auth::SaslOptions sasl_options;
  if (tls_active()) {
    // -PLUS binds to this TLS channel, with the type asked for or this
    // connection's default. Plain SCRAM gets the default's data too, so it
    // can tell the server it could have bound ("y"), when the server offers
    // no -PLUS variant: a man in the middle who removed it is then caught.
    // (The -PLUS names are in the SASL list, not capability names.) Without
    // binding by choice it says "n".
    const std::string_view named = named_type(options_.channel_binding);
    const bool could_bind = options_.channel_binding != ChannelBindingChoice::none;
    if (plus || (could_bind && name.starts_with("SCRAM-") && !caps_.offers_sasl(name + "-PLUS"))) {
      auto cb = plus && !named.empty() ? tls_->channel_binding(named) : tls_->channel_binding();
      if (!cb) {
        Error e = std::move(cb).error();
        e.message = name + ": " + e.message;
        return e;
      }
      sasl_options.channel_binding = *cb;
      if (plus) sasl_login_.channel_binding = cb->type;
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
  std::optional<Error> local;   // why the client cancelled, if it did
  bool server_said_no = false;  // local is the server's SCRAM error

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
        // A SCRAM "e=" (channel-bindings-dont-match, ...) is the server's
        // refusal, in the mechanism's words; anything else is the client's.
        server_said_no = decoded && name.starts_with("SCRAM-") && decoded->starts_with("e=");
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
      sasl_login_.refused = !local || server_said_no;
      if (local) {
        if (server_said_no && !sasl_login_.channel_binding.empty()) {
          local->message += " (with channel binding " + sasl_login_.channel_binding + ")";
        }
        return *local;
      }
      const std::string& binding = sasl_login_.channel_binding;
      std::string refused = what;
      if (!binding.empty()) refused += " with channel binding " + binding;
      refused += " refused";
      Error e = server_error(*st, refused);
      if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
      // The refusal cannot tell a binding type the server lacks from a
      // wrong password: say both, blame neither.
      if (!binding.empty()) {
        e.message += " (the server may not support channel binding " + binding + ")";
      }
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
    channel_bound_ = plus;
    return after_login();
  }
}

std::string Client::choose_mechanism() const {
  const bool tls = tls_active();
  const bool reusable_ok = tls || options_.allow_plaintext_password;
  // Strongest first; whether a mechanism may go over this connection is
  // sasl_mechanism_info()'s answer, the same the login planning uses.
  // A binding type named: binding or nothing.
  if (!named_type(options_.channel_binding).empty()) {
    for (const char* m : {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"}) {
      if (tls && caps_.offers_sasl(m)) return m;
    }
    return {};
  }
  const bool bind = options_.channel_binding != ChannelBindingChoice::none;
  for (const char* m : {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"}) {
    const auth::SaslMechanismInfo* info = auth::sasl_mechanism_info(m);
    if (info->channel_binding && (!tls || !bind)) continue;
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
  if (const auto named = named_type(options_.channel_binding); m.empty() && !named.empty()) {
    return Error(errc::unsupported,
                 "the server offers no -PLUS login method over this connection, "
                 "and channel binding " +
                     std::string(named) + " was asked for");
  }
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
  return authenticate_chosen(m, creds);
}

}  // namespace pop3kit
