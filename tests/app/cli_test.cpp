// Argument checks and login planning of the pop3kit command: the decisions
// taken before anything touches the network.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "exit_codes.hpp"
#include "numbers.hpp"
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

// Every number the user gives goes through numbers.hpp. What CLI11's
// double options and strtod let through must not: nan, inf, signs,
// exponents, hex floats, trailing junk, values that overflow milliseconds.
TEST(Numbers, SecondsAcceptPlainDecimals) {
  using std::chrono::milliseconds;
  const std::pair<const char*, milliseconds> good[] = {
      {"30", milliseconds(30'000)},
      {"2.5", milliseconds(2'500)},
      {"0.25", milliseconds(250)},
      {"0.001", milliseconds(1)},
      {"007", milliseconds(7'000)},
      {"1.0009", milliseconds(1'000)},
      {"1000000", milliseconds(1'000'000'000)},
      {"000000000001000000", milliseconds(1'000'000'000)},
  };
  for (const auto& [text, ms] : good) {
    const auto v = parse_seconds(text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.reason();
    EXPECT_EQ(v.value(), ms) << text;
  }
}

TEST(Numbers, SecondsRefuseEverythingElse) {
  for (const char* bad : {"",
                          "nan",
                          "NaN",
                          "-nan",
                          "inf",
                          "-inf",
                          "+inf",
                          "infinity",
                          "Infinity",
                          "-1",
                          "+1",
                          "-0",
                          "0",
                          "0.0",
                          "0.0004",
                          "1e3",
                          "1E3",
                          "1e-3",
                          "0x10",
                          "0x1p3",
                          "0X1P-2",
                          "1.5s",
                          "1s",
                          "1 ",
                          " 1",
                          "1,5",
                          "1.",
                          ".5",
                          "1..2",
                          "1.2.3",
                          "1000000.001",
                          "1000001",
                          "18446744073709551616",
                          "99999999999999999999999999",
                          "\xd9\xa1"}) {
    const auto v = parse_seconds(bad);
    EXPECT_FALSE(v.ok()) << '"' << bad << "\" gave " << (v.ok() ? v.value().count() : -1);
  }
  EXPECT_FALSE(parse_seconds(std::string_view("1\0", 2)).ok());
  EXPECT_EQ(parse_seconds("0").reason(), "must be at least 0.001 s");
  EXPECT_EQ(parse_seconds("1000001").reason(), "must be at most 1000000 s");
  EXPECT_EQ(parse_seconds("nan").reason(),
            "not a number of seconds (expected digits, as in 30 or 2.5)");
}

TEST(Numbers, SecondsFromFileNumbers) {
  using std::chrono::milliseconds;
  EXPECT_EQ(seconds_value(2.5).value(), milliseconds(2500));
  EXPECT_EQ(seconds_value(1e6).value(), milliseconds(1'000'000'000));
  for (const double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(), -1.0, 0.0, 0.0004, 1e6 + 1, 1e300, -0.0}) {
    EXPECT_FALSE(seconds_value(bad).ok()) << bad;
  }
}

TEST(Numbers, SecondsOptionIsAUsageError) {
  EXPECT_EQ(seconds_option("--timeout", "1.5"), std::chrono::milliseconds(1500));
  for (const char* option : {"--timeout", "--connect-timeout", "--deadline"}) {
    for (const char* bad : {"nan", "inf", "-5", "0", "1e9", "0x1p3", "5x", "9999999999999"}) {
      const std::string m = failure(exit_code::usage, [&] { seconds_option(option, bad); });
      EXPECT_EQ(m.rfind(std::string("bad ") + option + " \"" + bad + "\": ", 0), 0u) << m;
    }
  }
  // Echoed to a terminal: sanitised.
  const std::string m = failure(exit_code::usage, [] { seconds_option("--timeout", "\x1b[2J"); });
  EXPECT_EQ(m.find('\x1b'), std::string::npos);
}

TEST(Numbers, Counts) {
  struct Case {
    const char* text;
    std::uint64_t min, max;
    bool ok;
  };
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  const Case cases[] = {
      {"0", 0, kMax, true},
      {"1", 1, kMax, true},
      {"0", 1, kMax, false},
      {"18446744073709551615", 0, kMax, true},
      {"18446744073709551616", 0, kMax, false},
      {"65535", 1, 65535, true},
      {"65536", 1, 65535, false},
      {"", 0, kMax, false},
      {"-1", 0, kMax, false},
      {"+1", 0, kMax, false},
      {"0x10", 0, kMax, false},
      {"1e3", 0, kMax, false},
      {"1.0", 0, kMax, false},
      {" 1", 0, kMax, false},
      {"1 ", 0, kMax, false},
      {"12abc", 0, kMax, false},
      {"nan", 0, kMax, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_count(c.text, c.min, c.max).ok(), c.ok)
        << c.text << " in [" << c.min << ", " << c.max << "]";
  }
}

TEST(Numbers, Sizes) {
  EXPECT_EQ(parse_octets("1").value(), 1u);
  EXPECT_EQ(parse_octets("20M").value(), 20u << 20);
  EXPECT_EQ(parse_octets("4k").value(), 4096u);
  EXPECT_EQ(parse_octets("4K").value(), 4096u);
  EXPECT_EQ(parse_octets("2G").value(), 2ULL << 30);
  EXPECT_EQ(parse_octets("17179869183G").value(), 17179869183ULL << 30);
  for (const char* bad : {"0", "0k", "", "k", "M", "-1", "+1", "1.5M", "1e6", "0x10", "12 M", "12m",
                          "12MB", "nan", "inf", "17179869184G", "18446744073709551616"}) {
    EXPECT_FALSE(parse_octets(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_octets("0").reason(), "must be at least 1 octet(s)");
  EXPECT_EQ(parse_octets("0", 0).value(), 0u);
}

TEST(Numbers, UrlPortsAreCheckedToo) {
  // Ports come in the URL (pop3kit/url.hpp), checked by its own parser.
  EXPECT_EQ(parse_url_arg("pop://u@h:65535").port, 65535);
  for (const char* bad :
       {"pop://u@h:0", "pop://u@h:65536", "pop://u@h:-1", "pop://u@h:+1", "pop://u@h:0x10",
        "pop://u@h:1e3", "pop://u@h:99999999999999999999", "pop://u@h:110x", "pop://u@h: 110"}) {
    failure(exit_code::usage, [&] { parse_url_arg(bad); });
  }
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
  EXPECT_EQ(defaults.operation_deadline, std::chrono::seconds(300));
  EXPECT_FALSE(defaults.trace);

  GlobalOptions g;
  g.timeout = std::chrono::milliseconds(2500);
  g.connect_timeout = std::chrono::milliseconds(250);
  g.deadline = std::chrono::milliseconds(7000);
  g.ipv6_only = true;
  g.verbose = true;
  const ClientOptions o = client_options(g);
  EXPECT_EQ(o.io_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o.operation_deadline, std::chrono::milliseconds(7000));
  EXPECT_EQ(o.deadline_per_mib, ClientOptions{}.deadline_per_mib);
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
