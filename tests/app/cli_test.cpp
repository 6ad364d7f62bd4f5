// Argument checks and login planning of the pop3kit command: the decisions
// taken before anything touches the network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "args.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "session.hpp"

namespace pop3kit::cli {
namespace {

// Runs `fn`, expects a Failure with `code`, returns its message.
template <class Fn>
std::string failure(int code, Fn&& fn) {
  try {
    fn();
  } catch (const Failure& f) {
    EXPECT_EQ(f.code(), code) << f.what();
    return f.what();
  }
  ADD_FAILURE() << "no Failure thrown";
  return {};
}

TEST(Args, MessageNumbers) {
  EXPECT_EQ(parse_message_number("1"), 1u);
  EXPECT_EQ(parse_message_number("18446744073709551615"), 18446744073709551615u);
  for (const char* bad : {"0", "", "-1", "+1", "1x", " 1", "0x10", "18446744073709551616", "1.0"}) {
    failure(exit_code::usage, [&] { parse_message_number(bad); });
  }
  EXPECT_NE(failure(exit_code::usage, [] { parse_message_number("abc"); }).find("abc"),
            std::string::npos);
}

TEST(Args, MessageNumberEchoIsSanitised) {
  const std::string m = failure(exit_code::usage, [] { parse_message_number("\x1b[31m"); });
  EXPECT_EQ(m.find('\x1b'), std::string::npos);
}

TEST(Args, LineCounts) {
  EXPECT_EQ(parse_line_count("0"), 0u);
  EXPECT_EQ(parse_line_count("25"), 25u);
  failure(exit_code::usage, [] { parse_line_count("-1"); });
  failure(exit_code::usage, [] { parse_line_count(""); });
}

TEST(Args, DeleNumbersKeepOrderAndDropDuplicates) {
  EXPECT_EQ(parse_message_numbers({"3", "1", "3", "2", "1"}),
            (std::vector<std::uint64_t>{3, 1, 2}));
  failure(exit_code::usage, [] { parse_message_numbers({"1", "0"}); });
}

TEST(Args, UrlErrorsAreUsageErrors) {
  EXPECT_EQ(parse_url_arg("pop://u@h:7").port, 7);
  const std::string m = failure(exit_code::usage, [] { parse_url_arg("pop://u:pw@h"); });
  EXPECT_EQ(m.rfind("bad URL: ", 0), 0u) << m;
  failure(exit_code::usage, [] { parse_url_arg("imap://h"); });
}

TEST(Args, HostPort) {
  EXPECT_EQ(host_port(parse_url_arg("pop://h")), "h:110");
  EXPECT_EQ(host_port(parse_url_arg("pop://[::1]:2")), "[::1]:2");
}

GlobalOptions plaintext(bool password_too) {
  GlobalOptions g;
  g.plaintext = true;
  g.plaintext_password = password_too;
  return g;
}

LoginPlan plan(const std::string& url, const GlobalOptions& g = {}) {
  return plan_login(parse_url_arg(url), g, LoginNeed::required, "list");
}

TEST(Plan, NoUserMeansNoLoginForCapa) {
  const LoginPlan p = plan_login(parse_url_arg("pop://h"), {}, LoginNeed::optional, "capa");
  EXPECT_FALSE(p.login);
  EXPECT_EQ(p.security, Security::starttls);
}

TEST(Plan, NoUserIsUsageErrorWhenLoginNeeded) {
  const std::string m = failure(exit_code::usage, [] {
    plan_login(parse_url_arg("pop://h:5"), plaintext(true), LoginNeed::required, "stat");
  });
  EXPECT_NE(m.find("stat"), std::string::npos) << m;
  EXPECT_NE(m.find("pop://USER@h:5"), std::string::npos) << m;
}

TEST(Plan, SecurityFromSchemeAndFlag) {
  EXPECT_EQ(plan("pop://u@h").security, Security::starttls);
  EXPECT_EQ(plan("pops://u@h").security, Security::tls);
  EXPECT_EQ(plan("pop3s://u@h").security, Security::tls);
  EXPECT_EQ(plan("pop://u@h", plaintext(false)).security, Security::plain);
  // Contradictions are usage errors.
  failure(exit_code::usage, [] { plan("pops://u@h", plaintext(false)); });
  GlobalOptions second_only;
  second_only.plaintext_password = true;
  failure(exit_code::usage, [&] { plan("pop://u@h", second_only); });
  GlobalOptions ca_plain = plaintext(false);
  ca_plain.ca_file = "ca.pem";
  failure(exit_code::usage, [&] { plan("pop://u@h", ca_plain); });
}

TEST(Plan, PinsAreChecked) {
  GlobalOptions g;
  g.pins = {"cert:" + std::string(64, 'a'), "spki:" + std::string(64, 'B'), std::string(64, '0')};
  EXPECT_EQ(plan("pops://u@h", g).security, Security::tls);
  std::string colons;
  for (int i = 0; i < 32; ++i)
    colons += (i ? ":" : "") + std::string("Ab");
  g.pins = {colons};
  EXPECT_NO_THROW(plan("pops://u@h", g));
  for (const std::string& bad : std::vector<std::string>{
           "cert:abc", "sha256:" + std::string(64, 'a'), "cert:" + std::string(63, 'a') + "g"}) {
    g.pins = {bad};
    failure(exit_code::usage, [&] { plan("pops://u@h", g); });
  }
  GlobalOptions only;
  only.pin_only = true;
  failure(exit_code::usage, [&] { plan("pops://u@h", only); });
}

TEST(Plan, AutomaticByDefaultAndWithStar) {
  for (const char* url : {"pop://u@h", "pop://u;auth=*@h", "pops://u@h"}) {
    const LoginPlan p = plan(url);
    EXPECT_TRUE(p.login);
    EXPECT_EQ(p.kind, LoginKind::automatic);
    EXPECT_TRUE(p.needs_password);
    EXPECT_FALSE(p.needs_token);
  }
  // Over plain TCP too: the choice then skips reusable-password methods.
  EXPECT_EQ(plan("pop://u@h", plaintext(false)).kind, LoginKind::automatic);
}

TEST(Plan, ReusablePasswordOverPlainNeedsSecondOptIn) {
  for (const char* url : {"pop://u;auth=PLAIN@h", "pop://u;auth=LOGIN@h", "pop://u;auth=USER@h",
                          "pop://u;auth=XOAUTH2@h", "pop://u;auth=OAUTHBEARER@h"}) {
    const std::string m = failure(exit_code::config, [&] { plan(url, plaintext(false)); });
    EXPECT_NE(m.find("--allow-plaintext-password"), std::string::npos) << m;
    EXPECT_EQ(plan(url, plaintext(true)).kind, LoginKind::sasl);
    // Over TLS no opt-in is needed.
    EXPECT_EQ(plan(url).kind, LoginKind::sasl);
  }
  // Methods that never send the password need only --plaintext.
  for (const char* url :
       {"pop://u;auth=SCRAM-SHA-256@h", "pop://u;auth=SCRAM-SHA-1@h", "pop://u;auth=CRAM-MD5@h"}) {
    const LoginPlan p = plan(url, plaintext(false));
    EXPECT_EQ(p.kind, LoginKind::sasl);
    EXPECT_TRUE(p.needs_password);
  }
  const LoginPlan apop = plan("pop://u;auth=+APOP@h", plaintext(false));
  EXPECT_EQ(apop.kind, LoginKind::apop);
  EXPECT_TRUE(apop.needs_password);
}

TEST(Plan, MechanismRules) {
  const LoginPlan p = plan("pop://u;auth=scram-sha-256@h");
  EXPECT_EQ(p.kind, LoginKind::sasl);
  EXPECT_EQ(p.mechanism, "SCRAM-SHA-256");
  const std::string m = failure(exit_code::config, [] { plan("pop://u;auth=GSSAPI@h"); });
  EXPECT_NE(m.find("GSSAPI is not supported"), std::string::npos) << m;
  // Channel binding and EXTERNAL need TLS; EXTERNAL needs a certificate.
  failure(exit_code::config, [] { plan("pop://u;auth=SCRAM-SHA-256-PLUS@h", plaintext(true)); });
  failure(exit_code::config, [] { plan("pop://u;auth=EXTERNAL@h", plaintext(true)); });
  failure(exit_code::config, [] { plan("pops://u;auth=EXTERNAL@h"); });
  GlobalOptions cert;
  cert.client_cert = "client.pem";
  const LoginPlan ext = plan("pops://u;auth=EXTERNAL@h", cert);
  EXPECT_FALSE(ext.needs_password);
  EXPECT_FALSE(ext.needs_token);
  // OAuth takes the token, not the password.
  const LoginPlan oauth = plan("pops://u;auth=OAUTHBEARER@h");
  EXPECT_TRUE(oauth.needs_token);
  EXPECT_FALSE(oauth.needs_password);
  GlobalOptions token;
  token.token_command = "echo t";
  const LoginPlan auto_token = plan("pops://u@h", token);
  EXPECT_EQ(auto_token.kind, LoginKind::automatic);
  EXPECT_TRUE(auto_token.needs_token);
  EXPECT_FALSE(auto_token.needs_password);
}

TEST(Plan, EveryTlsOptionContradictsPlaintextEvenTheDefaultMinimum) {
  GlobalOptions g = plaintext(false);
  g.tls_min = "1.2";  // the default value, but given: a contradiction all the same
  const std::string m = failure(exit_code::usage, [&] { plan("pop://u@h", g); });
  EXPECT_EQ(m,
            "TLS options (--ca-file, --ca-dir, --cert, --key, --pin, --pin-only, --tls-min) make "
            "no sense with --plaintext");
  GlobalOptions key;
  key.client_key = "k.pem";
  EXPECT_EQ(failure(exit_code::usage, [&] { plan("pops://u@h", key); }), "--key needs --cert");
}

TEST(Plan, MessagesNameTheFlags) {
  EXPECT_EQ(failure(exit_code::config, [] { plan("pop://u;auth=PLAIN@h:7", plaintext(false)); }),
            "refusing to send the password in clear text to h:7 with PLAIN: add "
            "--allow-plaintext-password to accept that, or drop --plaintext");
  EXPECT_EQ(failure(exit_code::config, [] { plan("pop://u;auth=XOAUTH2@h:7", plaintext(false)); }),
            "refusing to send the OAuth token in clear text to h:7 with XOAUTH2: add "
            "--allow-plaintext-password to accept that, or drop --plaintext");
  EXPECT_EQ(failure(exit_code::config, [] { plan("pops://u;auth=EXTERNAL@h"); }),
            "EXTERNAL logs in with a TLS client certificate: add --cert FILE (and --key)");
}

// The library's two kinds of refusal map to exit codes by code, not by text.
TEST(Plan, AccountErrorsMapToUsageAndConfig) {
  EXPECT_EQ(exit_code_for(Error(make_error_code(account_errc::conflicting_options), "x")),
            exit_code::usage);
  EXPECT_EQ(exit_code_for(Error(make_error_code(account_errc::unusable_configuration), "x")),
            exit_code::config);
}

TEST(ClientOptionsFromGlobals, TlsOptions) {
  GlobalOptions g;
  g.ca_file = "ca.pem";
  g.ca_dir = "certs";
  g.client_cert = "me.pem";
  g.pins = {"cert:" + std::string(64, 'a')};
  g.pin_only = true;
  g.tls_min = "1.3";
  const ClientOptions o = client_options(g, plan("pops://u@h", g));
  EXPECT_EQ(o.security, Security::tls);
  EXPECT_EQ(o.tls.ca_file, "ca.pem");
  EXPECT_EQ(o.tls.ca_dir, "certs");
  EXPECT_EQ(o.tls.client_cert_file, "me.pem");
  EXPECT_EQ(o.tls.client_key_file, "me.pem");  // the key may sit in the certificate's file
  EXPECT_EQ(o.tls.pins, g.pins);
  EXPECT_TRUE(o.tls.pins_replace_ca);
  EXPECT_EQ(o.tls.min_version, net::TlsVersion::tls1_3);
  EXPECT_FALSE(o.allow_plaintext_password);
  EXPECT_TRUE(
      client_options(plaintext(true), plan("pop://u@h", plaintext(true))).allow_plaintext_password);
}

TEST(ClientOptionsFromGlobals, DefaultsAndOverrides) {
  const ClientOptions defaults = client_options({});
  EXPECT_EQ(defaults.family, net::Family::any);
  EXPECT_FALSE(defaults.trace);

  GlobalOptions g;
  g.timeout = 2.5;
  g.connect_timeout = 0.25;
  g.ipv6_only = true;
  g.verbose = true;
  const ClientOptions o = client_options(g);
  EXPECT_EQ(o.io_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o.family, net::Family::ipv6);
  EXPECT_TRUE(o.trace);
  g.ipv6_only = false;
  g.ipv4_only = true;
  EXPECT_EQ(client_options(g).family, net::Family::ipv4);
}

// An unknown subcommand: the closest command, when one is close.
TEST(UnknownCommand, Suggestion) {
  const std::vector<std::string> commands{"capa", "stat", "list", "retr", "top", "dele", "fetch"};
  EXPECT_EQ(closest_command("lst", commands), "list");
  EXPECT_EQ(closest_command("lsit", commands), "list");  // a swap is one edit
  EXPECT_EQ(closest_command("stats", commands), "stat");
  EXPECT_EQ(closest_command("delete", commands), "dele");
  EXPECT_EQ(closest_command("retrieve", commands), "retr");  // a prefix
  EXPECT_EQ(closest_command("fet", commands), "fetch");
  EXPECT_EQ(closest_command("cap", commands), "capa");
  EXPECT_EQ(closest_command("frobnicate", commands), "");
  EXPECT_EQ(closest_command("xyz", commands), "");
  EXPECT_EQ(closest_command("q", commands), "");
}

TEST(UnknownCommand, MessageNamesItAndListsTheCommands) {
  const std::vector<std::string> commands{"capa", "list", "dele"};
  EXPECT_EQ(unknown_command_message("lst", commands),
            "unknown command \"lst\" (did you mean list?); the commands are capa, list, dele "
            "(see pop3kit --help)");
  EXPECT_EQ(unknown_command_message("zzzz", commands),
            "unknown command \"zzzz\"; the commands are capa, list, dele (see pop3kit --help)");
  // The word is echoed sanitised: no terminal escapes.
  EXPECT_EQ(unknown_command_message("\x1b[2J", commands).find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace pop3kit::cli
