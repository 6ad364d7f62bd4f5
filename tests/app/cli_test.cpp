// Argument checks and login planning of the pop3kit command: the decisions
// taken before anything touches the network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "args.hpp"
#include "exit_codes.hpp"
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

GlobalOptions plaintext_allowed() {
  GlobalOptions g;
  g.allow_plaintext = true;
  return g;
}

TEST(Plan, NoUserMeansNoLoginForCapa) {
  const LoginPlan p = plan_login(parse_url_arg("pop://h"), {}, LoginNeed::optional, "capa");
  EXPECT_FALSE(p.login);
}

TEST(Plan, NoUserIsUsageErrorWhenLoginNeeded) {
  const std::string m = failure(exit_code::usage, [] {
    plan_login(parse_url_arg("pop://h:5"), plaintext_allowed(), LoginNeed::required, "stat");
  });
  EXPECT_NE(m.find("stat"), std::string::npos) << m;
  EXPECT_NE(m.find("pop://USER@h:5"), std::string::npos) << m;
}

TEST(Plan, UserPassNeedsAllowPlaintext) {
  for (const char* url : {"pop://u@h", "pop://u;auth=*@h"}) {
    const std::string m = failure(exit_code::config, [&] {
      plan_login(parse_url_arg(url), {}, LoginNeed::required, "list");
    });
    EXPECT_NE(m.find("--allow-plaintext"), std::string::npos) << m;
    const LoginPlan p =
        plan_login(parse_url_arg(url), plaintext_allowed(), LoginNeed::required, "list");
    EXPECT_TRUE(p.login);
    EXPECT_EQ(p.method, LoginMethod::user_pass);
  }
  // capa with a user logs in, so the same rule applies.
  failure(exit_code::config,
          [] { plan_login(parse_url_arg("pop://u@h"), {}, LoginNeed::optional, "capa"); });
}

TEST(Plan, ApopNeedsNoPlaintextFlag) {
  const LoginPlan p =
      plan_login(parse_url_arg("pop://u;auth=+APOP@h"), {}, LoginNeed::required, "list");
  EXPECT_TRUE(p.login);
  EXPECT_EQ(p.method, LoginMethod::apop);
}

TEST(Plan, SaslIsNotSupportedYet) {
  const std::string m = failure(exit_code::config, [] {
    plan_login(parse_url_arg("pop://u;auth=scram-sha-256@h"), plaintext_allowed(),
               LoginNeed::required, "list");
  });
  EXPECT_NE(m.find("SASL mechanism SCRAM-SHA-256 is not supported yet"), std::string::npos) << m;
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

}  // namespace
}  // namespace pop3kit::cli
