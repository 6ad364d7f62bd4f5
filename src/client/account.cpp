// pop3kit — account planning and the connect-and-login sequence.
#include "pop3kit/account.hpp"

#include "account_rules.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string>
#include <utility>

#include "pop3kit/sasl.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {
namespace {

class AccountCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pop3kit.account"; }
  std::string message(int value) const override {
    switch (static_cast<account_errc>(value)) {
      case account_errc::conflicting_options:
        return "the account's options contradict each other";
      case account_errc::unusable_configuration:
        return "the account asks for something unsafe or unsupported";
    }
    return "unknown account error";
  }
};

Error conflict(std::string message) {
  return {account_errc::conflicting_options, std::move(message)};
}
Error unusable(std::string message) {
  return {account_errc::unusable_configuration, std::move(message)};
}

// "host:port" for messages, as the URL writes it (brackets, zone ID escaped).
std::string host_port(const PopUrl& url) {
  return format_host_port(url);
}

// "[cert:|spki:]" then a SHA-256 in hex, colons allowed: catching a typo here
// beats a "pin mismatch" after connecting.
bool valid_pin(std::string_view pin) {
  if (pin.starts_with("cert:") || pin.starts_with("spki:")) pin.remove_prefix(5);
  std::size_t digits = 0;
  for (const char c : pin) {
    if (c == ':') continue;
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
    ++digits;
  }
  return digits == 64;
}

bool any_tls_option(const net::TlsOptions& t) {
  return !t.ca_file.empty() || !t.ca_dir.empty() || !t.client_cert_file.empty() ||
         !t.client_key_file.empty() || !t.pins.empty() || t.pins_replace_ca ||
         t.min_version != net::TlsVersion::tls1_2;
}

bool binding_named(ChannelBindingChoice c) {
  return c != ChannelBindingChoice::automatic && c != ChannelBindingChoice::none;
}

// "--channel-binding=tls-unique", as the account's names spell it.
std::string binding_option(const Account& a) {
  return a.names.channel_binding + "=" + std::string(to_string(a.channel_binding));
}

// Options that contradict each other, whatever the login.
Result<void> check_options(const Account& a) {
  const OptionNames& n = a.names;
  if (a.url.tls && a.allow_plaintext) {
    return conflict(n.plaintext +
                    " contradicts the pops:// URL, which means TLS from the first byte (use "
                    "pop:// for plain TCP)");
  }
  if (a.allow_plaintext_password && !a.allow_plaintext) {
    return conflict(n.plaintext_password + " only applies with " + n.plaintext +
                    " (over TLS the password is protected anyway)");
  }
  if (a.allow_plaintext && binding_named(a.channel_binding)) {
    return conflict(binding_option(a) +
                    " binds the login to the TLS channel: it makes no sense with " + n.plaintext);
  }
  if (a.allow_plaintext && any_tls_option(a.tls)) {
    return conflict("TLS options (" + n.ca_file + ", " + n.ca_dir + ", " + n.client_cert + ", " +
                    n.client_key + ", " + n.pin + ", " + n.pin_only + ", " + n.tls_min +
                    ") make no sense with " + n.plaintext);
  }
  for (const std::string& pin : a.tls.pins) {
    if (!valid_pin(pin)) {
      return conflict("bad " + n.pin + " \"" + sanitize(pin, 100) +
                      "\": expected [cert:|spki:] and a SHA-256 fingerprint (64 hex digits, "
                      "colons allowed), as `pop3kit capa` shows it");
    }
  }
  if (a.tls.pins_replace_ca && a.tls.pins.empty()) {
    return conflict(n.pin_only + " needs at least one " + n.pin);
  }
  if (!a.tls.client_key_file.empty() && a.tls.client_cert_file.empty()) {
    return conflict(n.client_key + " needs " + n.client_cert);
  }
  return {};
}

Error cleartext_refusal(const Account& a, std::string_view secret, std::string_view with) {
  return unusable("refusing to send the " + std::string(secret) + " in clear text to " +
                  host_port(a.url) + std::string(with) + ": add " + a.names.plaintext_password +
                  " to accept that, or drop " + a.names.plaintext);
}

// ";auth=MECH" (or "USER"): the mechanism's own needs decide the plan.
Result<void> plan_named(const Account& a, AccountPlan& plan) {
  const std::string& mech = a.url.auth;
  const bool plain = plan.security == Security::plain;
  if (mech == "USER") {
    // Not a SASL name: how a URL asks for USER/PASS (RFC 1939 §7), which
    // sends the password itself.
    plan.login = LoginChoice::user_pass;
    if (plain && !a.allow_plaintext_password) {
      return cleartext_refusal(a, "password", " with USER");
    }
    plan.needs_password = true;
    return {};
  }
  const auth::SaslMechanismInfo* info = auth::sasl_mechanism_info(mech);
  if (info == nullptr) {
    std::string names;
    for (const auto name : auth::sasl_mechanism_names())
      names += " " + std::string(name);
    return unusable("SASL mechanism " + sanitize(mech, 64) +
                    " is not supported (pop3kit knows +APOP, USER and" + names +
                    "; ;auth=* lets it choose)");
  }
  plan.login = LoginChoice::sasl;
  plan.mechanism = mech;
  if (info->channel_binding && a.channel_binding == ChannelBindingChoice::none) {
    return conflict(binding_option(a) + " contradicts ;auth=" + mech +
                    ", which binds the login to the TLS channel");
  }
  if (plain && info->channel_binding) {
    return unusable(mech + " binds the login to the TLS channel: it needs TLS (drop " +
                    a.names.plaintext + ")");
  }
  if (info->secret == auth::SaslSecret::client_certificate) {
    if (plain) return unusable(mech + " logs in with a TLS client certificate: it needs TLS");
    if (a.tls.client_cert_file.empty()) {
      return unusable(mech + " logs in with a TLS client certificate: add " + a.names.client_cert +
                      " FILE (and " + a.names.client_key + ")");
    }
    return {};
  }
  const bool token = info->secret == auth::SaslSecret::token;
  if (plain && info->sends_reusable_secret && !a.allow_plaintext_password) {
    return cleartext_refusal(a, token ? "OAuth token" : "password", " with " + mech);
  }
  plan.needs_token = token;
  plan.needs_password = !token;
  return {};
}

}  // namespace

namespace detail {

Result<void> obtain(const SecretSource& source, std::string_view what, std::string& out) {
  if (!source) {
    return unusable("the login needs a " + std::string(what) + ", but the account has no " +
                    std::string(what) + " source");
  }
  Result<std::string> r = source();
  if (!r) return std::move(r).error();
  // Copied, then the source's string wiped: a move could leave a short
  // secret behind in place.
  out = *r;
  OPENSSL_cleanse(r->data(), r->size());
  return {};
}

// When a login may be tried again after [LOGIN-DELAY]: CAPA's LOGIN-DELAY
// seconds from now (RFC 2449 §6.5), as a UTC time of day.
static std::string next_login(const Capabilities& caps) {
  const auto delay = caps.login_delay();
  if (!delay || !delay->value) {
    return " (temporary: the server limits how often the account may log in (LOGIN-DELAY); try "
           "again later)";
  }
  const auto seconds = std::min<std::uint64_t>(*delay->value, 366ULL * 24 * 3600);
  const std::time_t at = std::time(nullptr) + static_cast<std::time_t>(seconds);
  std::tm tm{};
  char when[32] = "later";
  if (gmtime_r(&at, &tm) != nullptr) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return " (temporary: the server allows one login every " + std::to_string(seconds) +
         " seconds (LOGIN-DELAY); try again after " + when + ")";
}

// A refused login says which method was tried, and what the server's code
// means; `caps`: what the server said before the login; `sasl`: the SASL
// exchange, if the login was one.
Error login_failure(std::string_view method, Error error, const Capabilities& caps,
                    const Account& a, const SaslLoginInfo* sasl) {
  std::string text = error.message.empty() ? error.code.message() : std::move(error.message);
  error.message = "login with " + login_method_label(method) + " failed: " + text;
  if (sasl != nullptr && sasl->refused && !sasl->channel_binding.empty() &&
      (error.code == errc::auth_failed || error.code == errc::server_error)) {
    // A -PLUS refusal: maybe the password, maybe a binding type the server
    // lacks (Cyrus: tls-unique only); the server does not say which, and
    // the Client's message says so. What the user can do about the latter:
    const std::string& m = sasl->mechanism;
    error.message += "; to log in otherwise, choose another binding type with " +
                     a.names.channel_binding +
                     ", or log in without binding with ;auth=" + m.substr(0, m.size() - 5);
  } else if (error.response_code == ResponseCode::auth) {
    error.message += " (the server refused the credentials)";
  } else if (error.response_code == ResponseCode::login_delay) {
    error.message += next_login(caps);
  } else if (error.code == errc::temporary_failure) {
    error.message += " (temporary: try again later)";
  }
  return error;
}

// The method for this session: "USER", "APOP" or a SASL mechanism.
Result<std::string> choose_method(const Capabilities& caps, const std::string& chosen,
                                  const Account& a, const AccountPlan& plan) {
  switch (plan.login) {
    case LoginChoice::apop:
      return std::string("APOP");
    case LoginChoice::user_pass:
      return std::string("USER");
    case LoginChoice::sasl:
      return plan.mechanism;
    case LoginChoice::automatic:
    case LoginChoice::none:
      break;
  }
  if (plan.needs_token) {
    // OAUTHBEARER (RFC 7628) over Google's older XOAUTH2.
    for (const char* m : {"OAUTHBEARER", "XOAUTH2"}) {
      if (caps.offers_sasl(m)) return std::string(m);
    }
    return unusable("a token was given, but " + host_port(a.url) +
                    " offers neither OAUTHBEARER nor XOAUTH2 (name a mechanism with ;auth=)");
  }
  if (!chosen.empty()) return chosen;
  if (binding_named(a.channel_binding)) {
    return unusable(host_port(a.url) +
                    " offers no login method with channel binding (no "
                    "SCRAM-SHA-256-PLUS or SCRAM-SHA-1-PLUS) over this connection, and " +
                    binding_option(a) + " allows no other; drop " + a.names.channel_binding +
                    " to log in without binding");
  }
  if (plan.security == Security::plain && !a.allow_plaintext_password) {
    return unusable(host_port(a.url) +
                    " offers no login method that keeps the password off this unencrypted "
                    "connection; use TLS (drop " +
                    a.names.plaintext + "), or add " + a.names.plaintext_password);
  }
  return unusable(host_port(a.url) +
                  " offers no login method pop3kit chooses by itself (name one with ;auth=)");
}

}  // namespace detail

namespace {

using detail::login_failure;
using detail::Secrets;

// `mechanism`: the one to use; afterwards, the one last tried (after the
// automatic choice's fallback, the one without -PLUS).
Result<void> authenticate(Client& client, std::string& mechanism, const Account& a,
                          const AccountPlan& plan, const Secrets& secrets) {
  auth::SaslCredentials creds;
  creds.authcid = a.url.user;
  creds.password = secrets.password;
  creds.token = secrets.token;
  creds.host = a.url.host;
  creds.port = a.url.port;
  if (a.on_oauth_error) {
    creds.on_error_challenge = [&a, &mechanism](std::string_view challenge) {
      a.on_oauth_error(mechanism, challenge);
    };
  }
  auto r = plan.login == LoginChoice::automatic ? client.authenticate_chosen(mechanism, creds)
                                                : client.authenticate(mechanism, creds);
  if (!client.sasl_login().mechanism.empty()) mechanism = client.sasl_login().mechanism;
  OPENSSL_cleanse(creds.password.data(), creds.password.size());
  OPENSSL_cleanse(creds.token.data(), creds.token.size());
  return r;
}

// USER/PASS or APOP, with the query sent as soon as the login is answered
// (Client::login).
Result<void> login_simple(AccountSession& s, const Account& a, const std::string& method,
                          const std::string& password, Query* query) {
  LoginOptions login;
  if (method == "APOP") login.method = LoginMethod::apop;
  if (auto r = s.client.login(a.url.user, password, login, query); !r) {
    // With a query, TRANSACTION state means the login worked and what came
    // after it (the CAPA asked again) failed.
    if (query != nullptr && s.client.state() == proto::State::transaction) {
      return std::move(r).error();
    }
    return login_failure(method, std::move(r).error(), s.client.capabilities(), a);
  }
  if (query != nullptr && !query->outcome()) return query->outcome().error();
  return {};
}

}  // namespace

const std::error_category& account_category() noexcept {
  static const AccountCategory category;
  return category;
}

std::string login_method_label(std::string_view method) {
  if (method == "USER") return "USER/PASS";
  return std::string(method);
}

Result<AccountPlan> plan_account(const Account& account) {
  if (auto r = check_options(account); !r) return std::move(r).error();
  AccountPlan plan;
  plan.security = account.url.tls           ? Security::tls
                  : account.allow_plaintext ? Security::plain
                                            : Security::starttls;
  if (account.url.user.empty()) return plan;

  const std::string& auth = account.url.auth;
  if (auth.empty() || auth == "*") {
    // RFC 2384 §3: a user without ";auth=" means ";auth=*", the client's
    // choice; the choice itself needs CAPA (see open_account).
    plan.login = LoginChoice::automatic;
    if (!account.token_available) {
      plan.needs_password = true;
      return plan;
    }
    // Whichever OAuth mechanism it will be sends the token reusably.
    if (plan.security == Security::plain && !account.allow_plaintext_password) {
      return cleartext_refusal(account, "OAuth token", "");
    }
    plan.needs_token = true;
    return plan;
  }
  if (auth == "+APOP") {
    // APOP sends an MD5 digest, not the password, so it is allowed over
    // plain TCP; it is still weak and used only when asked for.
    plan.login = LoginChoice::apop;
    plan.needs_password = true;
    return plan;
  }
  if (auto r = plan_named(account, plan); !r) return std::move(r).error();
  return plan;
}

ClientOptions client_options(const Account& account, const AccountPlan& plan) {
  ClientOptions out;
  out.security = plan.security;
  out.allow_plaintext_password = account.allow_plaintext_password;
  out.channel_binding = account.channel_binding;
  out.tls = account.tls;
  if (out.tls.client_key_file.empty()) out.tls.client_key_file = out.tls.client_cert_file;
  out.connect_timeout = account.connect_timeout;
  out.io_timeout = account.io_timeout;
  out.operation_deadline = account.operation_deadline;
  out.deadline_per_mib = account.deadline_per_mib;
  out.family = account.family;
  out.trace = account.trace;
  return out;
}

Result<AccountSession> open_account(const Account& account, const AccountPlan& plan, Query* query) {
  // Secrets before connecting: a failing password command costs no connection.
  Secrets secrets;
  if (plan.needs_password) {
    if (auto r = detail::obtain(account.password, "password", secrets.password); !r) {
      return std::move(r).error();
    }
  }
  if (plan.needs_token) {
    if (auto r = detail::obtain(account.token, "token", secrets.token); !r) {
      return std::move(r).error();
    }
  }

  AccountSession s{Client(client_options(account, plan)), {}};
  if (auto r = s.client.connect(account.url.host, account.url.port); !r) {
    return std::move(r).error();
  }
  if (account.on_connected) account.on_connected(s.client);
  // CAPA decides the method and whether commands may be pipelined; after
  // STLS the client has already asked it over TLS.
  if (s.client.capabilities().entries.empty()) {
    if (auto caps = s.client.capa(); !caps && !s.client.connected()) {
      return std::move(caps).error();
    }
  }
  if (plan.login == LoginChoice::none) {
    if (query != nullptr) {
      if (auto r = s.client.query(*query); !r) return std::move(r).error();
    }
    return s;
  }
  auto method =
      detail::choose_method(s.client.capabilities(), s.client.choose_mechanism(), account, plan);
  if (!method) return std::move(method).error();
  s.method = std::move(*method);
  // After STLS (RFC 6856 forbids STLS after UTF8), before the login. A -ERR
  // leaves the session as it was: messages come as the server sends them.
  if (account.utf8 && s.client.capabilities().has("UTF8")) {
    if (auto r = s.client.utf8(); !r && !s.client.connected()) return std::move(r).error();
  }
  if (s.method == "USER" || s.method == "APOP") {
    if (auto r = login_simple(s, account, s.method, secrets.password, query); !r) {
      return std::move(r).error();
    }
    return s;
  }
  if (auto r = authenticate(s.client, s.method, account, plan, secrets); !r) {
    return login_failure(s.method, std::move(r).error(), s.client.capabilities(), account,
                         &s.client.sasl_login());
  }
  if (query != nullptr) {
    if (auto r = s.client.query(*query); !r) return std::move(r).error();
  }
  return s;
}

}  // namespace pop3kit
