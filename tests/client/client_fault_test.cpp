// The blocking Client against a scripted server: faults a real server will
// not produce on demand.
#include <gtest/gtest.h>

#include "pop3kit/apop.hpp"
#include "pop3kit/client.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

ClientOptions quick() {
  ClientOptions o;
  o.security = Security::plain;
  o.connect_timeout = 5s;
  o.io_timeout = 5s;
  return o;
}

Client connected(const ScriptServer& server, ClientOptions o = quick()) {
  Client c(std::move(o));
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  return c;
}

const std::string kLogin = "+OK ready\r\n";

std::vector<S::Step> logged_in(std::vector<S::Step> rest) {
  std::vector<S::Step> s = {S::send(kLogin), S::expect("USER u"), S::send("+OK\r\n"),
                            S::expect("PASS p"), S::send("+OK\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

Client login(const ScriptServer& server, ClientOptions o = quick()) {
  Client c = connected(server, std::move(o));
  auto r = c.login("u", "p");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return c;
}

TEST(Apop, Rfc1939Example) {
  EXPECT_EQ(auth::apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb");
}

TEST(ClientFault, CloseBeforeGreeting) {
  ScriptServer server({S::close()});
  Client c(quick());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed);
  EXPECT_EQ(r.error().message, "connection closed before the greeting");
  EXPECT_FALSE(c.connected());
}

TEST(ClientFault, GarbageGreeting) {
  ScriptServer server({S::send("220 smtp.example.org ESMTP\r\n"), S::wait_close()});
  Client c(quick());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_greeting);
  EXPECT_NE(r.error().message.find("220 smtp.example.org"), std::string::npos);
  EXPECT_TRUE(server.finish().empty());  // nothing was sent to a non-POP3 server
}

TEST(ClientFault, RefusedGreeting) {
  ScriptServer server({S::send("-ERR [SYS/TEMP] maintenance\r\n"), S::wait_close()});
  Client c(quick());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::greeting_refused);
  EXPECT_EQ(r.error().response_code, ResponseCode::sys_temp);
}

TEST(ClientFault, CloseMidStatus) {
  ScriptServer server(logged_in({S::expect("STAT"), S::send("+OK 2 3"), S::close()}));
  Client c = login(server);
  auto r = c.stat();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed);
  EXPECT_EQ(r.error().message, "connection closed while waiting for the response to STAT");
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.noop().error().code, errc::not_connected);
}

TEST(ClientFault, CloseMidBody) {
  ScriptServer server(
      logged_in({S::expect("RETR 1"), S::send("+OK\r\nSubject: x\r\n\r\nhalf a bo"), S::close()}));
  Client c = login(server);
  std::string got;
  auto r = c.retrieve(1, [&](std::string_view d) {
    got += d;
    return std::error_code{};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed);
  EXPECT_EQ(r.error().message, "connection closed in the middle of the response to RETR");
  EXPECT_EQ(got, "Subject: x\r\n\r\nhalf a bo");
}

TEST(ClientFault, ResponseThatNeverComesTimesOut) {
  ScriptServer server(logged_in({S::expect("NOOP"), S::wait_close()}));
  ClientOptions o = quick();
  o.io_timeout = 300ms;
  Client c = login(server, o);
  const auto start = std::chrono::steady_clock::now();
  auto r = c.noop();
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::timed_out);
  EXPECT_EQ(r.error().message,
            "no answer from 127.0.0.1:" + std::to_string(server.port()) + " within 300 ms");
  EXPECT_GE(took, 250ms);
  EXPECT_FALSE(c.connected());
}

TEST(ClientFault, GreetingThatNeverComesTimesOut) {
  ScriptServer server({S::wait_close()});
  ClientOptions o = quick();
  o.io_timeout = 200ms;
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::timed_out);
}

TEST(ClientLogin, RejectedPassIsAFailedLogin) {
  ScriptServer server({S::send(kLogin), S::expect("USER u"), S::send("+OK\r\n"),
                       S::expect("PASS p"), S::send("-ERR invalid login\r\n"), S::wait_close()});
  Client c = connected(server);
  auto r = c.login("u", "p");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  EXPECT_EQ(r.error().message, "login refused: server says \"invalid login\"");
  EXPECT_EQ(c.state(), proto::State::authorization);
}

TEST(ClientLogin, TemporaryRefusalIsNotABadPassword) {
  for (const char* code : {"IN-USE", "LOGIN-DELAY", "SYS/TEMP"}) {
    ScriptServer server({S::send(kLogin), S::expect("USER u"), S::send("+OK\r\n"),
                         S::expect("PASS p"), S::send(std::string("-ERR [") + code + "] later\r\n"),
                         S::wait_close()});
    Client c = connected(server);
    auto r = c.login("u", "p");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::temporary_failure) << code;
    EXPECT_TRUE(is_temporary(r.error().code));
  }
}

TEST(ClientLogin, ApopUsesGreetingTimestamp) {
  ScriptServer server({S::send("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
                       S::expect("APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
                       S::send("+OK maildrop has 2 messages\r\n"), S::wait_close()});
  Client c = connected(server);
  ASSERT_TRUE(c.login("mrose", "tanstaaf", {LoginMethod::apop}).ok());
  EXPECT_EQ(c.state(), proto::State::transaction);
  c.close();
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientLogin, ApopWithoutTimestampRefusedUnlessFallbackAllowed) {
  {
    ScriptServer server({S::send("+OK no timestamp\r\n"), S::wait_close()});
    Client c = connected(server);
    auto r = c.login("u", "p", {LoginMethod::apop});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::unsupported);
    c.close();
    EXPECT_TRUE(server.finish().empty());  // the password never crossed
  }
  {
    ScriptServer server({S::send("+OK no timestamp\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
                         S::expect("PASS p"), S::send("+OK\r\n"), S::wait_close()});
    Client c = connected(server);
    EXPECT_TRUE(c.login("u", "p", {LoginMethod::apop, true}).ok());
  }
}

TEST(ClientLogin, ApopRejectedFallsBackOnlyWhenAllowed) {
  {
    ScriptServer server({S::send("+OK <1.2@h>\r\n"), S::expect("APOP u "),
                         S::send("-ERR [AUTH] bad digest\r\n"), S::wait_close()});
    Client c = connected(server);
    auto r = c.login("u", "p", {LoginMethod::apop});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::auth_failed);
    c.close();
    EXPECT_EQ(server.finish().size(), 1U);
  }
  {
    ScriptServer server({S::send("+OK <1.2@h>\r\n"), S::expect("APOP u "),
                         S::send("-ERR not enabled\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
                         S::expect("PASS p"), S::send("+OK\r\n"), S::wait_close()});
    Client c = connected(server);
    EXPECT_TRUE(c.login("u", "p", {LoginMethod::apop, true}).ok());
  }
}

TEST(ClientCommands, ServerErrorCarriesSanitisedTextAndCode) {
  ScriptServer server(
      logged_in({S::expect("RETR 9"), S::send("-ERR [SYS/PERM] no \x1b[2Jsuch message\r\n"),
                 S::expect("NOOP"), S::send("+OK\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.retrieve(9, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::permanent_failure);
  EXPECT_EQ(r.error().response_code, ResponseCode::sys_perm);
  EXPECT_EQ(r.error().message, "RETR 9: server says \"[SYS/PERM] no \\x1b[2Jsuch message\"");
  EXPECT_TRUE(c.noop().ok());  // a -ERR leaves the session usable
}

TEST(ClientCommands, SinkFailureDrainsAndKeepsSession) {
  ScriptServer server(
      logged_in({S::expect("RETR 1"), S::send("+OK\r\nline one\r\nline two\r\n.\r\n"),
                 S::expect("NOOP"), S::send("+OK\r\n"), S::wait_close()}));
  Client c = login(server);
  int calls = 0;
  auto r = c.retrieve(1, [&](std::string_view) {
    ++calls;
    return std::make_error_code(std::errc::no_space_on_device);
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::sink_failed);
  EXPECT_NE(r.error().message.find("No space left on device"), std::string::npos);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(c.noop().ok());
}

TEST(ClientCommands, QuitErrIsReported) {
  ScriptServer server(
      logged_in({S::expect("DELE 1"), S::send("+OK\r\n"), S::expect("QUIT"),
                 S::send("-ERR some deleted messages not removed\r\n"), S::wait_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.dele(1).ok());
  auto r = c.quit();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::server_error);
  EXPECT_FALSE(c.connected());
}

TEST(ClientCommands, CallerErrorsSendNothing) {
  ScriptServer server(logged_in({S::wait_close()}));
  Client c = login(server);
  EXPECT_EQ(c.retrieve(0, {}).error().code, errc::invalid_argument);
  EXPECT_EQ(c.dele(0).error().code, errc::invalid_argument);
  auto r = c.login("x", "y");
  EXPECT_EQ(r.error().code, errc::wrong_state);
  EXPECT_EQ(r.error().message, "cannot send USER: not allowed in the TRANSACTION state");
  c.close();
  EXPECT_EQ(server.finish().size(), 2U);  // USER and PASS only
}

TEST(ClientConnect, RefusedPort) {
  std::uint16_t port;
  {
    ScriptServer s({});  // bound then closed: nothing listens there afterwards
    port = s.port();
  }
  Client c(quick());
  auto r = c.connect("127.0.0.1", port);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connect_failed);
  EXPECT_NE(r.error().message.find("Connection refused"), std::string::npos) << r.error().message;
}

TEST(ClientConnect, UnknownHost) {
  Client c(quick());
  auto r = c.connect("no-such-host.invalid", 110);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::host_not_found);
  EXPECT_NE(r.error().message.find("no-such-host.invalid"), std::string::npos);
}

TEST(ClientConnect, Ipv6Loopback) {
  ScriptServer server({S::send("+OK v6\r\n"), S::expect("QUIT"), S::send("+OK\r\n")}, true);
  Client c(quick());
  auto r = c.connect("::1", server.port());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(c.greeting().text, "v6");
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

}  // namespace
}  // namespace pop3kit::test
