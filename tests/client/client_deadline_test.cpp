// The overall deadline of each operation (ClientOptions::operation_deadline)
// against a server that trickles: never silent long enough for io_timeout,
// never done either. Bounds are generous: the trickles last a minute, the
// deadlines a second or two, and each test asks only for "well before".
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "pop3kit/client.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;
using Clock = std::chrono::steady_clock;

// io_timeout far above the trickle's interval: only the deadline can fire.
ClientOptions trickle_options(std::chrono::milliseconds deadline) {
  ClientOptions o;
  o.security = Security::plain;
  o.connect_timeout = 5s;
  o.io_timeout = 5s;
  o.operation_deadline = deadline;
  return o;
}

// A minute of trickle at 200 ms an octet.
std::string minute_of(std::string head) {
  return head + std::string(300 - head.size(), 'x') + "\r\n";
}

std::vector<S::Step> logged_in(std::vector<S::Step> rest) {
  std::vector<S::Step> s = {S::send("+OK ready\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
                            S::expect("PASS p"), S::send("+OK\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

Client login(const ScriptServer& server, const ClientOptions& o) {
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  auto l = c.login("u", "p");
  EXPECT_TRUE(l.ok()) << l.error().message;
  return c;
}

Sink collect(std::string& into) {
  return [&into](std::string_view chunk) {
    into += chunk;
    return std::error_code{};
  };
}

TEST(ClientDeadline, TrickledStatusLineEndsAtTheDeadline) {
  ScriptServer server(logged_in({S::expect("NOOP"), S::trickle(minute_of("+OK "), 200ms)}));
  Client c = login(server, trickle_options(2s));
  const auto start = Clock::now();
  auto r = c.noop();
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded);
  EXPECT_EQ(r.error().message, "NOOP did not finish within its deadline of 2 s");
  EXPECT_TRUE(is_temporary(r.error().code));
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 10s);
  EXPECT_FALSE(c.connected());
}

TEST(ClientDeadline, TrickledBodyEndsAtTheDeadline) {
  ScriptServer server(logged_in({S::expect("RETR 1"), S::send("+OK\r\nSubject: slow\r\n\r\n"),
                                 S::trickle(minute_of("body "), 200ms)}));
  Client c = login(server, trickle_options(2s));
  std::string got;
  const auto start = Clock::now();
  auto r = c.retrieve(1, collect(got));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded);
  // A handful of octets buys nothing worth showing: the message names the
  // operation and the deadline, and the octets that added to it.
  EXPECT_EQ(r.error().message.rfind("RETR did not finish within its deadline of 2", 0), 0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("octets received"), std::string::npos) << r.error().message;
  EXPECT_EQ(got.rfind("Subject: slow\r\n\r\nbody", 0), 0u) << got;
  EXPECT_LT(took, 10s);
  EXPECT_FALSE(c.connected());
}

TEST(ClientDeadline, TrickledGreetingEndsConnect) {
  ScriptServer server({S::trickle(minute_of("+OK "), 200ms)});
  Client c(trickle_options(2s));
  const auto start = Clock::now();
  auto r = c.connect("127.0.0.1", server.port());
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded);
  EXPECT_EQ(r.error().message, "connecting to 127.0.0.1:" + std::to_string(server.port()) +
                                   " did not finish within its deadline of 2 s");
  EXPECT_LT(took, 10s);
}

TEST(ClientDeadline, LoginIsOneOperation) {
  // USER is answered after 1.2 s, PASS trickles: each exchange alone would
  // get 2 s (and the error would name PASS), the login as a whole has 2 s.
  ScriptServer server({S::send("+OK ready\r\n"), S::expect("USER u"), S::sleep(1200ms),
                       S::send("+OK\r\n"), S::expect("PASS p"),
                       S::trickle(minute_of("+OK "), 200ms)});
  Client c(trickle_options(2s));
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  const auto start = Clock::now();
  auto r = c.login("u", "p");
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded);
  EXPECT_EQ(r.error().message, "login did not finish within its deadline of 2 s");
  EXPECT_LT(took, 10s);
}

TEST(ClientDeadline, EachCallHasItsOwnDeadline) {
  // Three NOOPs of 0.8 s each: 2.4 s in all, each well within its 2 s.
  ScriptServer server(
      logged_in({S::expect("NOOP"), S::sleep(800ms), S::send("+OK\r\n"), S::expect("NOOP"),
                 S::sleep(800ms), S::send("+OK\r\n"), S::expect("NOOP"), S::sleep(800ms),
                 S::send("+OK\r\n"), S::wait_close()}));
  Client c = login(server, trickle_options(2s));
  for (int i = 0; i < 3; ++i) {
    auto r = c.noop();
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
}

TEST(ClientDeadline, PipelinedRetrieveManyIsBounded) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"), S::expect("USER u"),
                       S::expect("PASS p"), S::send("+OK\r\n+OK\r\n"), S::expect("RETR 1"),
                       S::expect("RETR 2"), S::send("+OK\r\none\r\n.\r\n+OK\r\n"),
                       S::trickle(minute_of("two "), 200ms)});
  Client c(trickle_options(2s));
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  struct Handler : MessageHandler {
    std::string log;
    std::error_code begin(std::uint64_t n) override {
      log += "begin " + std::to_string(n) + ";";
      return {};
    }
    std::error_code data(std::uint64_t, std::string_view) override { return {}; }
    std::error_code end(std::uint64_t n, std::uint64_t) override {
      log += "end " + std::to_string(n) + ";";
      return {};
    }
    void failed(std::uint64_t n, const Error&) override {
      log += "failed " + std::to_string(n) + ";";
    }
  } handler;
  const std::uint64_t numbers[] = {1, 2};
  const auto start = Clock::now();
  auto r = c.retrieve_many(numbers, handler);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded);
  EXPECT_EQ(r.error().message.rfind("RETR did not finish", 0), 0u) << r.error().message;
  EXPECT_EQ(handler.log, "begin 1;end 1;begin 2;");
  EXPECT_LT(Clock::now() - start, 10s);
}

// 2 MiB in 16 pieces, 150 ms apart: 2.25 s or more, longer than the 1 s
// base deadline; the per-MiB allowance is what lets it through.
std::vector<S::Step> slow_two_mib(std::string& body) {
  const std::string piece = std::string(128 * 1024 - 2, 'm') + "\r\n";
  std::vector<S::Step> steps = logged_in({S::expect("RETR 1"), S::send("+OK\r\n")});
  for (int i = 0; i < 16; ++i) {
    steps.push_back(S::send(piece));
    steps.push_back(S::sleep(150ms));
    body += piece;
  }
  steps.push_back(S::send(".\r\n"));
  steps.push_back(S::wait_close());
  return steps;
}

TEST(ClientDeadline, AllowancePerMibLetsALargeMessageThrough) {
  std::string body;
  ScriptServer server(slow_two_mib(body));
  ClientOptions o = trickle_options(1s);
  o.deadline_per_mib = 3s;  // 1 s + 2 MiB * 3 s = 7 s
  Client c = login(server, o);
  std::string got;
  auto r = c.retrieve(1, collect(got));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(got, body);
}

TEST(ClientDeadline, WithoutTheAllowanceTheSameMessageIsCut) {
  std::string body;
  ScriptServer server(slow_two_mib(body));
  ClientOptions o = trickle_options(1s);
  o.deadline_per_mib = 0s;
  Client c = login(server, o);
  std::string got;
  auto r = c.retrieve(1, collect(got));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::deadline_exceeded) << r.error().message;
}

TEST(ClientDeadline, FastLargeRetrieveIsNotCutByTheDefaults) {
  const std::string line = std::string(998, 'L') + "\r\n";
  std::string body;
  while (body.size() < 30u * 1024 * 1024)
    body += line;
  ScriptServer server(logged_in({S::expect("RETR 1"), S::send("+OK\r\n" + body + ".\r\n"),
                                 S::expect("QUIT"), S::send("+OK\r\n")}));
  ClientOptions o;
  o.security = Security::plain;
  ASSERT_EQ(o.operation_deadline, 300s);
  ASSERT_EQ(o.deadline_per_mib, 30s);
  Client c = login(server, o);
  std::uint64_t octets = 0;
  auto r = c.retrieve(1, [&](std::string_view chunk) {
    octets += chunk.size();
    return std::error_code{};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(octets, body.size());
  EXPECT_TRUE(c.quit().ok());
}

TEST(ClientDeadline, ZeroMeansNoOverallDeadline) {
  // Ten octets at 200 ms: 2 s, never silent for the 1 s io_timeout.
  ScriptServer server(
      logged_in({S::expect("NOOP"), S::trickle("+OK done\r\n", 200ms), S::wait_close()}));
  ClientOptions o = trickle_options(0s);
  o.io_timeout = 1s;
  Client c = login(server, o);
  auto r = c.noop();
  EXPECT_TRUE(r.ok()) << r.error().message;
}

}  // namespace
}  // namespace pop3kit::test
