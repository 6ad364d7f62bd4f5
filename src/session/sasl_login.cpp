// SASL (RFC 5034), the retry without channel binding, and the automatic
// choice of a login method.
#include <algorithm>
#include <iterator>
#include <variant>

#include "pop3kit/session_auth.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

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

bool offers_sasl(const Capabilities* caps, std::string_view mechanism) {
  return caps != nullptr && caps->offers_sasl(mechanism);
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

namespace session {

using proto::Command;

Result<std::string> choose_mechanism(const Capabilities& caps, bool tls,
                                     bool allow_plaintext_password, ChannelBindingChoice choice) {
  const bool reusable_ok = tls || allow_plaintext_password;
  // Strongest first; whether a mechanism may go over this connection is
  // sasl_mechanism_info()'s answer, the same the login planning uses.
  // A binding type named: binding or nothing.
  if (const std::string_view named = named_type(choice); !named.empty()) {
    for (const char* m : {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"}) {
      if (tls && caps.offers_sasl(m)) return std::string(m);
    }
    return Error(errc::unsupported,
                 "the server offers no -PLUS login method over this connection, "
                 "and channel binding " +
                     std::string(named) + " was asked for");
  }
  const bool bind = choice != ChannelBindingChoice::none;
  for (const char* m : {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"}) {
    const auth::SaslMechanismInfo* info = auth::sasl_mechanism_info(m);
    if (info->channel_binding && (!tls || !bind)) continue;
    if (info->sends_reusable_secret && !reusable_ok) continue;
    if (caps.offers_sasl(m)) return std::string(m);
  }
  // USER/PASS sends the password itself. RFC 1939 baseline; absent only when
  // CAPA was asked and left it out.
  if (reusable_ok && (caps.entries.empty() || caps.has("USER"))) return std::string("USER");
  return Error(errc::unsupported,
               reusable_ok ? "the server offers no login method pop3kit can use"
                           : "the server offers no login method that keeps the password off an "
                             "unencrypted connection");
}

std::optional<std::string_view> channel_binding_wanted(std::string_view mechanism,
                                                       const Capabilities* caps, bool tls,
                                                       ChannelBindingChoice choice) noexcept {
  if (!tls || choice == ChannelBindingChoice::none) return std::nullopt;
  const std::string name = ascii_upper(mechanism);
  if (ends_with_plus(name)) return named_type(choice);
  // Plain SCRAM: "y" needs the data; "n" when the server offers -PLUS.
  // (The -PLUS names are in the SASL list, not capability names.)
  if (name.starts_with("SCRAM-") && !offers_sasl(caps, name + "-PLUS")) {
    return std::string_view();
  }
  return std::nullopt;
}

SaslLogin::SaslLogin(std::string_view mechanism, const auth::SaslCredentials& credentials,
                     SaslLoginOptions options, const Facts& facts)
    : Operation(Error(errc::wrong_state, "AUTH not sent")),
      mechanism_(ascii_upper(mechanism)),
      credentials_(credentials),
      options_(std::move(options)),
      facts_(facts) {}

const std::optional<Capabilities>& SaslLogin::capabilities_after() const noexcept {
  static const std::optional<Capabilities> none;
  return after_ ? after_->capabilities_after() : none;
}

void SaslLogin::start(proto::Engine& engine) {
  if (ends_with_plus(mechanism_) && options_.channel_binding == ChannelBindingChoice::none) {
    return finish(Error(errc::invalid_argument,
                        mechanism_ +
                            " binds the login to the TLS channel, but channel binding is set "
                            "to none"));
  }
  attempt(engine, mechanism_, options_.sasl, {});
}

void SaslLogin::attempt(proto::Engine& engine, const std::string& name,
                        const auth::SaslOptions& sasl, std::string refused_binding) {
  info_ = {name, {}, false, std::move(refused_binding)};
  if (ends_with_plus(name) && sasl.channel_binding) {
    info_.channel_binding = sasl.channel_binding->type;
  }
  what_ = "AUTH " + name;
  local_.reset();
  server_said_no_ = false;
  initial_.reset();
  auto made = auth::make_sasl_mechanism(name, credentials_, sasl);
  if (!made) return fail(std::move(made).error());
  mech_ = std::move(*made);
  // RFC 5034 §4: an initial response only when the server lists SASL, and
  // only on the AUTH line when it keeps the line within 255 octets.
  if (mech_->client_first()) {
    auto ir = mech_->initial_response();
    if (!ir) return fail(std::move(ir).error());
    initial_ = auth::base64_encode(*ir);
  }
  const bool inline_ir = initial_ && facts_.capabilities != nullptr &&
                         facts_.capabilities->has("SASL") &&
                         5 + name.size() + 1 + std::max<std::size_t>(initial_->size(), 1) + 2 <=
                             engine.limits().max_command;
  const std::error_code queued =
      inline_ir ? engine.auth(name, std::string_view(*initial_)) : engine.auth(name);
  if (inline_ir) initial_.reset();
  if (queued) fail(refused(queued, Command::auth, engine.state()));
}

// A server that goes on after "*": say why the client had cancelled.
Error SaslLogin::on_lost(Error error) {
  if (local_ && error.code == errc::bad_sasl_exchange) {
    error.message += " (cancelled: " + local_->message + ")";
  }
  if (retried_) error.message += " (" + info_.refused_binding + " was refused before)";
  return error;
}

void SaslLogin::fail(Error error) {
  if (retried_) error.message += " (" + info_.refused_binding + " was refused before)";
  finish(std::move(error));
}

void SaslLogin::on_challenge(proto::Engine& engine, std::string_view data) {
  if (initial_ && data.empty()) {
    const std::string initial = std::move(*initial_);
    initial_.reset();
    if (auto ec = engine.sasl_response(initial)) {
      fail(refused(ec, Command::auth, engine.state()));
    }
    return;
  }
  initial_.reset();
  auto decoded = auth::base64_decode(data);
  Result<std::string> response =
      decoded ? mech_->step(*decoded)
              : Result<std::string>(Error(errc::malformed_response,
                                          what_ + ": the server's challenge is not valid base64"));
  if (!response) {
    // A SCRAM "e=" (channel-bindings-dont-match, ...) is the server's
    // refusal, in the mechanism's words; anything else is the client's.
    server_said_no_ =
        decoded && info_.mechanism.starts_with("SCRAM-") && decoded->starts_with("e=");
    local_ = std::move(response).error();
    (void)engine.sasl_cancel();
    return;
  }
  if (auto ec = engine.sasl_response(auth::base64_encode(*response))) {
    fail(refused(ec, Command::auth, engine.state()));
  }
}

void SaslLogin::on_event(proto::Engine& engine, const proto::Event& ev) {
  if (const auto* ch = std::get_if<proto::SaslChallenge>(&ev))
    return on_challenge(engine, ch->data);
  const auto* st = std::get_if<proto::Status>(&ev);
  if (st == nullptr || st->command != Command::auth) {
    return lose(Error(errc::unexpected_data, "unexpected answer during " + what_));
  }
  if (!st->ok) {
    info_.refused = !local_ || server_said_no_;
    if (local_) {
      if (server_said_no_ && !info_.channel_binding.empty()) {
        local_->message += " (with channel binding " + info_.channel_binding + ")";
      }
      return on_refused(engine, std::move(*local_));
    }
    const std::string& binding = info_.channel_binding;
    std::string what = what_;
    if (!binding.empty()) what += " with channel binding " + binding;
    what += " refused";
    Error e = server_error(*st, what);
    if (e.code == errc::server_error) e.code = make_error_code(errc::auth_failed);
    // The refusal cannot tell a binding type the server lacks from a
    // wrong password: say both, blame neither.
    if (!binding.empty()) {
      e.message += " (the server may not support channel binding " + binding + ")";
    }
    return on_refused(engine, std::move(e));
  }
  if (local_) {
    // The server said +OK to a cancelled exchange: nothing it says can be trusted.
    return lose(Error(errc::auth_failed, what_ + ": the server accepted a cancelled exchange"));
  }
  if (auto fin = mech_->finish(); !fin) {
    Error e = std::move(fin).error();
    e.code = make_error_code(errc::auth_failed);
    e.message = what_ + ": " + e.message;
    return lose(std::move(e));
  }
  hand_over(after_.emplace(facts_, false), true);
}

// Cyrus SASL binds with tls-unique only, so never over TLS 1.3, and
// answers -PLUS with "-ERR [AUTH] ... bad protocol". One more try, with
// the same SCRAM unbound: the password stays as safe (SCRAM never sends
// it), and a man in the middle who forced this needs a certificate the
// driver trusts. ChannelBindingChoice::tls_* is for those who would rather
// not log in.
void SaslLogin::on_refused(proto::Engine& engine, Error error) {
  const std::string& name = info_.mechanism;
  if (retried_ || !options_.unbound_retry || !info_.refused ||
      options_.channel_binding != ChannelBindingChoice::automatic || !ends_with_plus(name) ||
      !refusal_may_be_the_binding(error)) {
    return fail(std::move(error));
  }
  std::string unbound = name.substr(0, name.size() - 5);
  if (!offers_sasl(facts_.capabilities, unbound) || engine.state() != proto::State::authorization) {
    return finish(std::move(error));
  }
  retried_ = true;
  const std::string refused_binding = name + " with channel binding " + info_.channel_binding;
  auth::SaslOptions sasl = options_.sasl;
  if (!channel_binding_wanted(unbound, facts_.capabilities, true, options_.channel_binding)) {
    sasl.channel_binding.reset();
  }
  attempt(engine, unbound, sasl, refused_binding);
}

}  // namespace session
}  // namespace pop3kit
