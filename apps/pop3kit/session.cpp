// pop3kit command — security and login planning, client options, connecting.
#include "session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <utility>

#include "args.hpp"
#include "exit_codes.hpp"
#include "password.hpp"
#include "pop3kit/sasl.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(seconds * 1000.0));
}

// Server lines can hold anything; the trace shows them sanitised, and longer
// than error messages because the point of a trace is to see what was sent.
constexpr std::size_t kTraceWidth = 1000;

void trace_line(proto::TraceDirection direction, std::string_view line) {
  // The engine has already replaced secrets (PASS, APOP digest, AUTH initial
  // and continuation responses) with a placeholder; the trace never sees them.
  const char* prefix = direction == proto::TraceDirection::sent ? "C: " : "S: ";
  std::fputs(fmt::format("{}{}\n", prefix, sanitize(line, kTraceWidth)).c_str(), stderr);
}

Failure usage(const std::string& message) {
  return Failure(exit_code::usage, message);
}
Failure config(const std::string& message) {
  return Failure(exit_code::config, message);
}

bool is_oauth(std::string_view m) {
  return m == "XOAUTH2" || m == "OAUTHBEARER";
}

// Mechanisms whose secret is worth as much to an eavesdropper as to us: the
// password itself (USER/PASS, PLAIN, LOGIN) or a bearer token.
bool sends_reusable_secret(std::string_view m) {
  return m == "USER" || m == "PLAIN" || m == "LOGIN" || is_oauth(m);
}

bool known_mechanism(std::string_view m) {
  const auto& names = auth::sasl_mechanism_names();
  return std::find(names.begin(), names.end(), m) != names.end();
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

bool any_tls_option(const GlobalOptions& o) {
  return o.ca_file || o.ca_dir || o.client_cert || o.client_key || !o.pins.empty() || o.pin_only ||
         o.tls_min;
}

void check_security_options(const PopUrl& url, const GlobalOptions& options) {
  if (url.tls && options.plaintext) {
    throw usage(
        "--plaintext contradicts the pops:// URL, which means TLS from the first byte (use "
        "pop:// for plain TCP)");
  }
  if (options.plaintext_password && !options.plaintext) {
    throw usage(
        "--allow-plaintext-password only applies with --plaintext (over TLS the password is "
        "protected anyway)");
  }
  if (options.plaintext && any_tls_option(options)) {
    throw usage(
        "TLS options (--ca-file, --ca-dir, --cert, --key, --pin, --pin-only, --tls-min) "
        "make no sense with --plaintext");
  }
  for (const std::string& pin : options.pins) {
    if (!valid_pin(pin)) {
      throw usage(fmt::format(
          "bad --pin \"{}\": expected [cert:|spki:] and a SHA-256 fingerprint (64 hex digits, "
          "colons allowed), as `pop3kit capa` shows it",
          sanitize(pin, 100)));
    }
  }
  if (options.pin_only && options.pins.empty()) throw usage("--pin-only needs at least one --pin");
  if (options.client_key && !options.client_cert) throw usage("--key needs --cert");
}

bool token_available(const GlobalOptions& options) {
  const char* env = std::getenv(kTokenEnv);
  return options.token_command.has_value() || (env != nullptr && *env != '\0');
}

// What the user calls the method, for messages.
std::string method_label(std::string_view mechanism) {
  if (mechanism == "USER") return "USER/PASS";
  return std::string(mechanism);
}

// A refused login says which method was tried, and what the server's code means.
Failure login_failure(std::string_view mechanism, const Error& error) {
  const Failure f =
      failure_from(error, fmt::format("login with {} failed: ", method_label(mechanism)));
  std::string message = f.what();
  if (error.response_code == ResponseCode::auth) {
    message += " (the server refused the credentials)";
  } else if (error.code == errc::temporary_failure) {
    message += " (temporary: try again later)";
  }
  return Failure(f.code(), message);
}

// The OAuth mechanism to use when the URL leaves the choice to us and a token
// was given: OAUTHBEARER (RFC 7628) over Google's older XOAUTH2.
std::string choose_oauth(const Client& client) {
  for (const char* m : {"OAUTHBEARER", "XOAUTH2"}) {
    if (client.capabilities().offers_sasl(m)) return m;
  }
  return {};
}

Failure connect_failure(const Error& error) {
  Failure f = failure_from(error);
  if (error.code == errc::certificate_invalid) {
    return Failure(f.code(), std::string(f.what()) +
                                 "; to trust it anyway, name its authority with --ca-file, or "
                                 "pin it with --pin cert:SHA256 (add --pin-only for a "
                                 "self-signed certificate)");
  }
  if (error.code == errc::tls_unavailable) {
    return Failure(f.code(), std::string(f.what()) +
                                 "; use pops:// if the server has implicit TLS (port 995)");
  }
  return f;
}

}  // namespace

LoginPlan plan_login(const PopUrl& url, const GlobalOptions& options, LoginNeed need,
                     const std::string& command) {
  check_security_options(url, options);
  LoginPlan plan;
  plan.security = url.tls             ? Security::tls
                  : options.plaintext ? Security::plain
                                      : Security::starttls;
  const bool plain = plan.security == Security::plain;

  if (url.user.empty()) {
    if (need == LoginNeed::required) {
      throw usage(fmt::format("'{}' needs a user name in the URL (pop://USER@{})", command,
                              host_port(url)));
    }
    return plan;
  }
  plan.login = true;

  if (url.auth.empty() || url.auth == "*") {
    // RFC 2384 §3: a user without ";auth=" means ";auth=*", the client's
    // choice. The choice itself needs CAPA (see open_session).
    plan.kind = LoginKind::automatic;
    if (token_available(options)) {
      plan.needs_token = true;
      if (plain && !options.plaintext_password) {
        throw config(
            fmt::format("refusing to send the OAuth token in clear text to {}: add "
                        "--allow-plaintext-password to accept that, or drop --plaintext",
                        host_port(url)));
      }
    } else {
      plan.needs_password = true;
    }
    return plan;
  }
  if (url.auth == "+APOP") {
    // APOP sends an MD5 digest, not the password, so it is allowed over plain
    // TCP; it is still weak (see --help) and used only when asked for.
    plan.kind = LoginKind::apop;
    plan.needs_password = true;
    return plan;
  }

  // "USER" is not a SASL name: it is how a URL asks for USER/PASS by name
  // (RFC 1939 §7), for servers whose SASL is broken.
  const std::string& mech = url.auth;
  if (mech != "USER" && !known_mechanism(mech)) {
    std::string names;
    for (const auto n : auth::sasl_mechanism_names())
      names += fmt::format(" {}", n);
    throw config(fmt::format(
        "SASL mechanism {} is not supported (pop3kit knows +APOP, USER and{}; ;auth=* lets it "
        "choose)",
        sanitize(mech, 64), names));
  }
  plan.kind = LoginKind::sasl;
  plan.mechanism = mech;
  if (plain && mech.ends_with("-PLUS")) {
    throw config(fmt::format(
        "{} binds the login to the TLS channel: it needs TLS (drop --plaintext)", mech));
  }
  if (mech == "EXTERNAL") {
    if (plain) throw config("EXTERNAL logs in with a TLS client certificate: it needs TLS");
    if (!options.client_cert) {
      throw config("EXTERNAL logs in with a TLS client certificate: add --cert FILE (and --key)");
    }
    return plan;
  }
  if (plain && sends_reusable_secret(mech) && !options.plaintext_password) {
    throw config(fmt::format(
        "refusing to send the {} in clear text to {} with {}: add --allow-plaintext-password to "
        "accept that, or drop --plaintext",
        is_oauth(mech) ? "OAuth token" : "password", host_port(url), mech));
  }
  plan.needs_token = is_oauth(mech);
  plan.needs_password = !plan.needs_token;
  return plan;
}

ClientOptions client_options(const GlobalOptions& options, const LoginPlan& plan) {
  ClientOptions out;
  out.security = plan.security;
  out.allow_plaintext_password = options.plaintext_password;
  if (options.timeout) out.io_timeout = to_ms(*options.timeout);
  if (options.connect_timeout) out.connect_timeout = to_ms(*options.connect_timeout);
  if (options.ipv4_only) out.family = net::Family::ipv4;
  if (options.ipv6_only) out.family = net::Family::ipv6;
  if (options.verbose) out.trace = trace_line;
  if (options.ca_file) out.tls.ca_file = *options.ca_file;
  if (options.ca_dir) out.tls.ca_dir = *options.ca_dir;
  if (options.client_cert) out.tls.client_cert_file = *options.client_cert;
  out.tls.client_key_file = options.client_key.value_or(out.tls.client_cert_file);
  out.tls.pins = options.pins;
  out.tls.pins_replace_ca = options.pin_only;
  if (options.tls_min == "1.3") out.tls.min_version = net::TlsVersion::tls1_3;
  return out;
}

namespace {

// The secrets a plan needs, read before connecting and wiped when done
// (best effort: the library and the environment may hold copies).
struct Secrets {
  std::string password;
  std::string token;
  Secrets(const GlobalOptions& options, const LoginPlan& plan) {
    if (plan.needs_password) password = obtain_password(options.password_command);
    if (plan.needs_token) token = obtain_token(options.token_command);
  }
  ~Secrets() {
    std::fill(password.begin(), password.end(), '\0');
    std::fill(token.begin(), token.end(), '\0');
  }
  Secrets(const Secrets&) = delete;
  Secrets& operator=(const Secrets&) = delete;
};

// Connects (TLS or STLS as planned) and makes sure CAPA was asked: it
// decides the mechanism and whether commands may be pipelined. After STLS the
// library has already asked it over TLS. A server without CAPA is still
// usable (USER/PASS only).
Client connect_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan) {
  Client client(client_options(options, plan));
  if (auto r = client.connect(url.host, url.port); !r) throw connect_failure(r.error());
  if (options.verbose && client.certificate() != nullptr) {
    const net::CertificateInfo& cert = *client.certificate();
    std::fputs(fmt::format("* TLS certificate: {} (issuer {}), SHA-256 {}\n",
                           sanitize(cert.subject, kTraceWidth), sanitize(cert.issuer, kTraceWidth),
                           cert.sha256)
                   .c_str(),
               stderr);
  }
  if (client.capabilities().entries.empty()) {
    if (auto caps = client.capa(); !caps && !client.connected()) throw failure_from(caps.error());
  }
  return client;
}

// The method for this session: "USER", "APOP" or a SASL mechanism.
std::string choose_method(const Client& client, const PopUrl& url, const LoginPlan& plan) {
  switch (plan.kind) {
    case LoginKind::apop:
      return "APOP";
    case LoginKind::sasl:
      return plan.mechanism;
    case LoginKind::automatic:
    case LoginKind::none:
      break;
  }
  if (plan.needs_token) {
    std::string m = choose_oauth(client);
    if (m.empty()) {
      throw Failure(exit_code::unavailable,
                    fmt::format("a token was given, but {} offers neither OAUTHBEARER nor "
                                "XOAUTH2 (name a mechanism with ;auth=)",
                                host_port(url)));
    }
    return m;
  }
  std::string m = client.choose_mechanism();
  if (m.empty()) {
    throw config(
        fmt::format("{} offers no login method that keeps the password off this unencrypted "
                    "connection; use TLS (drop --plaintext), or add --allow-plaintext-password",
                    host_port(url)));
  }
  return m;
}

Result<void> authenticate(Client& client, const std::string& mechanism, const PopUrl& url,
                          const Secrets& secrets) {
  auth::SaslCredentials creds;
  creds.authcid = url.user;
  creds.password = secrets.password;
  creds.token = secrets.token;
  creds.host = url.host;
  creds.port = url.port;
  auto r = client.authenticate(mechanism, creds);
  std::fill(creds.password.begin(), creds.password.end(), '\0');
  std::fill(creds.token.begin(), creds.token.end(), '\0');
  return r;
}

// Connects and logs in; then `next` (a Client query such as a listing) when
// given. USER/PASS and APOP send it in the same write as the login when the
// server pipelines (`with_login`, a Client::login_and_* call); SASL logs in
// first and then asks it.
template <class T>
std::pair<Client, std::optional<T>> session_then(
    const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan,
    const std::function<Result<T>(Client&, const std::string& user, const std::string& password,
                                  LoginOptions)>* with_login,
    const std::function<Result<T>(Client&)>* next) {
  const Secrets secrets(options, plan);
  Client client = connect_session(url, options, plan);
  std::optional<T> value;
  auto finish = [&]() {
    if (next == nullptr) return;
    auto v = (*next)(client);
    if (!v) throw failure_from(v.error());
    value = std::move(*v);
  };
  if (!plan.login) {
    finish();
    return {std::move(client), std::move(value)};
  }
  const std::string method = choose_method(client, url, plan);
  if (method == "USER" || method == "APOP") {
    LoginOptions login;
    if (method == "APOP") login.method = LoginMethod::apop;
    if (with_login != nullptr) {
      auto v = (*with_login)(client, url.user, secrets.password, login);
      // In TRANSACTION state the login worked and the query failed.
      if (!v && client.state() != proto::State::transaction) throw login_failure(method, v.error());
      if (!v) throw failure_from(v.error());
      value = std::move(*v);
      return {std::move(client), std::move(value)};
    }
    if (auto r = client.login(url.user, secrets.password, login); !r) {
      throw login_failure(method, r.error());
    }
  } else if (auto r = authenticate(client, method, url, secrets); !r) {
    throw login_failure(method, r.error());
  }
  finish();
  return {std::move(client), std::move(value)};
}

}  // namespace

Client open_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan) {
  return session_then<int>(url, options, plan, nullptr, nullptr).first;
}

ListedSession open_session_listing(const PopUrl& url, const GlobalOptions& options,
                                   const LoginPlan& plan) {
  using Listing = std::vector<MessageEntry>;
  const std::function<Result<Listing>(Client&, const std::string&, const std::string&,
                                      LoginOptions)>
      with_login = [](Client& c, const std::string& user, const std::string& password,
                      LoginOptions login) { return c.login_and_list(user, password, login); };
  const std::function<Result<Listing>(Client&)> next = [](Client& c) { return c.list_with_uidl(); };
  auto [client, listing] = session_then<Listing>(url, options, plan, &with_login, &next);
  return ListedSession{std::move(client), std::move(*listing)};
}

StatSession open_session_stat(const PopUrl& url, const GlobalOptions& options,
                              const LoginPlan& plan) {
  const std::function<Result<MailboxStat>(Client&, const std::string&, const std::string&,
                                          LoginOptions)>
      with_login = [](Client& c, const std::string& user, const std::string& password,
                      LoginOptions login) { return c.login_and_stat(user, password, login); };
  const std::function<Result<MailboxStat>(Client&)> next = [](Client& c) { return c.stat(); };
  auto [client, stat] = session_then<MailboxStat>(url, options, plan, &with_login, &next);
  return StatSession{std::move(client), *stat};
}

void finish_read_only(Client& client) {
  if (client.connected()) (void)client.quit();
}

}  // namespace pop3kit::cli
