// pop3kit command — the options as a pop3kit::Account; what the library
// decides (planning, connecting, logging in) reported as Failures.
#include "session.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "args.hpp"
#include "exit_codes.hpp"
#include "password.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Server lines can hold anything; the trace shows them sanitised, and longer
// than error messages because the point of a trace is to see what was sent.
constexpr std::size_t kTraceWidth = 1000;

void trace_line(std::string_view label, proto::TraceDirection direction, std::string_view line) {
  // The engine has already replaced secrets (PASS, APOP digest, AUTH initial
  // and continuation responses) with a placeholder; the trace never sees them.
  const char* prefix = direction == proto::TraceDirection::sent ? "C: " : "S: ";
  // One write per line, so that lines of sessions at once do not mix.
  std::fputs(fmt::format("{}{}{}\n", label, prefix, sanitize(line, kTraceWidth)).c_str(), stderr);
}

Failure usage(const std::string& message) {
  return Failure(exit_code::usage, message);
}

// The library's messages name the options as this command spells them.
OptionNames flag_names() {
  OptionNames n;
  n.plaintext = "--plaintext";
  n.plaintext_password = "--allow-plaintext-password";
  n.ca_file = "--ca-file";
  n.ca_dir = "--ca-dir";
  n.client_cert = "--cert";
  n.client_key = "--key";
  n.pin = "--pin";
  n.pin_only = "--pin-only";
  n.tls_min = "--tls-min";
  n.channel_binding = "--channel-binding";
  return n;
}

bool token_available(const GlobalOptions& options) {
  const char* env = std::getenv(kTokenEnv);
  return options.token_command.has_value() || (env != nullptr && *env != '\0');
}

// The plan as the library takes it (the command's LoginPlan keeps its
// historical shape: USER/PASS by name is LoginKind::sasl with "USER").
AccountPlan library_plan(const LoginPlan& plan) {
  AccountPlan out;
  out.security = plan.security;
  out.needs_password = plan.needs_password;
  out.needs_token = plan.needs_token;
  switch (plan.kind) {
    case LoginKind::none:
      out.login = plan.login ? LoginChoice::automatic : LoginChoice::none;
      break;
    case LoginKind::automatic:
      out.login = LoginChoice::automatic;
      break;
    case LoginKind::apop:
      out.login = LoginChoice::apop;
      break;
    case LoginKind::sasl:
      out.login = plan.mechanism == "USER" ? LoginChoice::user_pass : LoginChoice::sasl;
      if (out.login == LoginChoice::sasl) out.mechanism = plan.mechanism;
      break;
  }
  return out;
}

LoginKind command_kind(LoginChoice choice) {
  switch (choice) {
    case LoginChoice::automatic:
      return LoginKind::automatic;
    case LoginChoice::apop:
      return LoginKind::apop;
    case LoginChoice::user_pass:
    case LoginChoice::sasl:
      return LoginKind::sasl;
    case LoginChoice::none:
      break;
  }
  return LoginKind::none;
}

// -v: the certificate, once the connection is verified and before any
// credential is sent.
void print_certificate(const Client& client) {
  if (client.certificate() == nullptr) return;
  const net::CertificateInfo& cert = *client.certificate();
  std::fputs(fmt::format("* TLS certificate: {} (issuer {}), SHA-256 {}\n",
                         sanitize(cert.subject, kTraceWidth), sanitize(cert.issuer, kTraceWidth),
                         cert.sha256)
                 .c_str(),
             stderr);
}

// What a JSON value of the OAuth error says, as short printable text.
std::string oauth_field(const nlohmann::json& error, const char* key) {
  const auto it = error.find(key);
  if (it == error.end()) return {};
  return sanitize(it->is_string()
                      ? it->get<std::string>()
                      : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  120);
}

// The server's OAuth error challenge (RFC 7628 §3.2.2: base64 JSON with
// status, schemes and scope; the library hands it over decoded) for the
// login error: the status says why (an expired token, a missing scope), the
// scope which token to ask for. Server text: sanitised.
std::string describe_oauth_error(std::string_view challenge) {
  const auto error = nlohmann::json::parse(challenge, nullptr, /*allow_exceptions=*/false);
  if (!error.is_object()) {
    return "the server's OAuth error (not JSON): " + sanitize(challenge, 200);
  }
  std::string out = "the server's OAuth error:";
  const std::string status = oauth_field(error, "status");
  if (!status.empty()) {
    out += " status " + status;
    if (status == "401" || status == "invalid_token") {
      out += " (the token is invalid or has expired: get a new one)";
    } else if (status == "403" || status == "insufficient_scope") {
      out += " (the token lacks the scope the server needs)";
    }
  }
  const std::string scope = oauth_field(error, "scope");
  if (!scope.empty()) out += fmt::format("{} scope {}", status.empty() ? "" : ",", scope);
  if (status.empty() && scope.empty()) out += " " + sanitize(challenge, 200);
  return out;
}

// What a rejected certificate needs, from the reason net::TlsTransport puts
// first in its message (its wording, pinned by the TLS end-to-end tests: the
// error carries no finer code). Only the start is read: the rest quotes the
// certificate's subject, which the server chose.
std::string certificate_hint(const Error& error, const GlobalOptions& options) {
  const std::string_view m = error.message;
  const bool unknown_issuer = m.starts_with("the certificate was issued by an unknown authority");
  if (m.starts_with("host name mismatch")) {
    return "; the URL's host is not a name the certificate holds: use the host name it was "
           "issued for in the URL, or trust this very certificate with --pin cert:SHA256 "
           "--pin-only";
  }
  if (m.starts_with("pin mismatch")) {
    return "; if the server's certificate was replaced on purpose, update --pin";
  }
  const bool ca_given = options.ca_file || options.ca_dir;
  if (unknown_issuer && !ca_given) {
    return "; to trust it anyway, name its authority with --ca-file, or pin it with --pin "
           "cert:SHA256 (add --pin-only for a self-signed certificate)";
  }
  if (unknown_issuer) {
    return "; its issuer is not among the authorities you named: name the one that issued it "
           "instead, or pin the certificate with --pin cert:SHA256 --pin-only";
  }
  return "; to trust it anyway, pin it with --pin cert:SHA256 --pin-only";
}

}  // namespace

// A library error from connecting or logging in, as the command reports it.
Failure session_failure(const Error& error, const GlobalOptions& options,
                        const std::string& oauth_error) {
  const Failure f = failure_from(error);
  std::string message = f.what();
  if (error.code == errc::certificate_invalid) {
    message += certificate_hint(error, options);
  } else if (error.code == errc::tls_unavailable) {
    message += "; use pops:// if the server has implicit TLS (port 995)";
  }
  if (!oauth_error.empty()) message += "; " + oauth_error;
  return Failure(f.code(), message);
}

Account account_for(const PopUrl& url, const GlobalOptions& options) {
  Account a;
  a.url = url;
  a.allow_plaintext = options.plaintext;
  a.allow_plaintext_password = options.plaintext_password;
  if (options.timeout) a.io_timeout = *options.timeout;
  if (options.connect_timeout) a.connect_timeout = *options.connect_timeout;
  if (options.deadline) a.operation_deadline = *options.deadline;
  if (options.ipv4_only) a.family = net::Family::ipv4;
  if (options.ipv6_only) a.family = net::Family::ipv6;
  if (options.verbose) {
    a.trace = [](proto::TraceDirection d, std::string_view line) { trace_line({}, d, line); };
  }
  if (options.ca_file) a.tls.ca_file = *options.ca_file;
  if (options.ca_dir) a.tls.ca_dir = *options.ca_dir;
  if (options.client_cert) a.tls.client_cert_file = *options.client_cert;
  if (options.client_key) a.tls.client_key_file = *options.client_key;
  a.tls.pins = options.pins;
  a.tls.pins_replace_ca = options.pin_only;
  // 1.2 is the default, yet with --plaintext any --tls-min contradicts it:
  // passed on as a non-default value, planning refuses it like the other
  // TLS options (without TLS the version is never used).
  if (options.tls_min == "1.3" || (options.tls_min && options.plaintext)) {
    a.tls.min_version = net::TlsVersion::tls1_3;
  }
  // Checked by the option and the config key: only known names get here.
  if (options.channel_binding) {
    a.channel_binding =
        parse_channel_binding(*options.channel_binding).value_or(ChannelBindingChoice::automatic);
  }
  a.utf8 = !options.no_utf8;
  // Secrets are read by the library only when the plan needs them, after
  // planning and before connecting; a failure throws Failure (exit 78).
  a.password = [command = options.password_command, literal = options.password] {
    if (literal && !literal->empty()) return Result<std::string>(*literal);
    return Result<std::string>(obtain_password(command));
  };
  a.token = [command = options.token_command] {
    return Result<std::string>(obtain_token(command));
  };
  a.token_available = token_available(options);
  a.names = flag_names();
  if (options.verbose) a.on_connected = print_certificate;
  return a;
}

LoginPlan plan_login(const PopUrl& url, const GlobalOptions& options, LoginNeed need,
                     const std::string& command) {
  auto planned = plan_account(account_for(url, options));
  if (!planned) throw failure_from(planned.error());
  if (planned->login == LoginChoice::none && need == LoginNeed::required) {
    throw usage(
        fmt::format("'{}' needs a user name in the URL (pop://USER@{})", command, host_port(url)));
  }
  LoginPlan plan;
  plan.login = planned->login != LoginChoice::none;
  plan.kind = command_kind(planned->login);
  plan.mechanism =
      planned->login == LoginChoice::user_pass ? std::string("USER") : planned->mechanism;
  plan.needs_password = planned->needs_password;
  plan.needs_token = planned->needs_token;
  plan.security = planned->security;
  return plan;
}

ClientOptions client_options(const GlobalOptions& options, const LoginPlan& plan) {
  return pop3kit::client_options(account_for(PopUrl{}, options), library_plan(plan));
}

SessionSetup session_setup(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan,
                           std::string_view trace_label) {
  SessionSetup s{account_for(url, options), library_plan(plan), std::make_shared<std::string>()};
  if (s.account.trace && !trace_label.empty()) {
    s.account.trace = [label = sanitize(trace_label, 200) + ": "](proto::TraceDirection d,
                                                                  std::string_view line) {
      trace_line(label, d, line);
    };
  }
  s.account.on_oauth_error = [out = s.oauth_error](std::string_view, std::string_view challenge) {
    *out = describe_oauth_error(challenge);
  };
  return s;
}

// Every failure as a Failure.
Client open_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan,
                    Query* query) {
  Account account = account_for(url, options);
  std::string oauth_error;
  account.on_oauth_error = [&oauth_error](std::string_view, std::string_view challenge) {
    oauth_error = describe_oauth_error(challenge);
  };
  auto session = open_account(account, library_plan(plan), query);
  if (!session) throw session_failure(session.error(), options, oauth_error);
  // -v: the automatic choice's fallback, which leaves the login unbound.
  if (const SaslLoginInfo& sasl = session->client.sasl_login();
      options.verbose && !sasl.refused_binding.empty() && session->client.connected()) {
    std::fputs(fmt::format("* the server refused {}; logged in with {}, not bound to the TLS "
                           "channel (--channel-binding sets the binding, or asks for it or "
                           "nothing)\n",
                           sasl.refused_binding, sasl.mechanism)
                   .c_str(),
               stderr);
  }
  return std::move(session->client);
}

void finish_read_only(Client& client) {
  if (client.connected()) (void)client.quit();
}

}  // namespace pop3kit::cli
