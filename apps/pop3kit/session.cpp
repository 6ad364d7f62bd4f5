// pop3kit command — login planning, client options, connecting.
#include "session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "args.hpp"
#include "exit_codes.hpp"
#include "password.hpp"
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
  // The engine has already replaced secrets (PASS, APOP digest) with a
  // placeholder; the trace never sees them.
  const char* prefix = direction == proto::TraceDirection::sent ? "C: " : "S: ";
  std::fputs(fmt::format("{}{}\n", prefix, sanitize(line, kTraceWidth)).c_str(), stderr);
}

}  // namespace

LoginPlan plan_login(const PopUrl& url, const GlobalOptions& options, LoginNeed need,
                     const std::string& command) {
  if (url.user.empty()) {
    if (need == LoginNeed::required) {
      throw Failure(exit_code::usage,
                    fmt::format("'{}' needs a user name in the URL (pop://USER@{})", command,
                                host_port(url)));
    }
    return {};
  }
  LoginPlan plan;
  plan.login = true;
  if (url.auth == "+APOP") {
    // APOP sends an MD5 digest, not the password, so it is allowed over plain
    // TCP; it is still weak (see --help) and used only when asked for.
    plan.method = LoginMethod::apop;
    return plan;
  }
  if (!url.auth.empty() && url.auth != "*") {
    throw Failure(exit_code::config,
                  fmt::format("SASL mechanism {} is not supported yet (use no \";auth=\" for "
                              "USER/PASS, or \";auth=+APOP\")",
                              url.auth));
  }
  // USER/PASS ("*" too: without TLS it is the only method there is).
  if (!options.allow_plaintext) {
    throw Failure(exit_code::config,
                  fmt::format("refusing to send the password in clear text to {}: pop3kit has "
                              "no TLS yet, so USER/PASS goes over plain TCP; add "
                              "--allow-plaintext to accept that",
                              host_port(url)));
  }
  plan.method = LoginMethod::user_pass;
  return plan;
}

ClientOptions client_options(const GlobalOptions& options) {
  ClientOptions out;
  out.security = Security::plain;
  if (options.timeout) out.io_timeout = to_ms(*options.timeout);
  if (options.connect_timeout) out.connect_timeout = to_ms(*options.connect_timeout);
  if (options.ipv4_only) out.family = net::Family::ipv4;
  if (options.ipv6_only) out.family = net::Family::ipv6;
  if (options.verbose) out.trace = trace_line;
  return out;
}

Client open_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan) {
  std::string password;
  if (plan.login) password = obtain_password(options.password_command);

  Client client(client_options(options));
  if (auto r = client.connect(url.host, url.port); !r) throw failure_from(r.error());
  // CAPA first: it tells whether commands may be pipelined (USER and PASS
  // then go out together). A server without CAPA is still usable.
  if (auto caps = client.capa(); !caps && !client.connected()) throw failure_from(caps.error());
  if (plan.login) {
    LoginOptions login;
    login.method = plan.method;
    auto r = client.login(url.user, password, login);
    // Do not keep the secret around longer than needed (best effort: the
    // library and the environment may hold copies).
    std::fill(password.begin(), password.end(), '\0');
    if (!r) throw failure_from(r.error());
  }
  return client;
}

void finish_read_only(Client& client) {
  if (client.connected()) (void)client.quit();
}

}  // namespace pop3kit::cli
