// The blocking Client against hostile scripted servers: listings that never
// end or repeat numbers, SASL exchanges that never end, data nobody asked
// for. Each must end in a named protocol error, in bounded memory and time.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <string>
#include <thread>

#include "pop3kit/client.hpp"
#include "pop3kit/sasl.hpp"
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
  o.allow_plaintext_password = true;
  return o;
}

std::vector<S::Step> logged_in(std::vector<S::Step> rest) {
  std::vector<S::Step> s = {S::send("+OK ready\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
                            S::expect("PASS p"), S::send("+OK\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

Client login(const ScriptServer& server, ClientOptions o = quick()) {
  Client c(std::move(o));
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  r = c.login("u", "p");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return c;
}

std::string numbered_lines(std::uint64_t from, std::uint64_t to, const std::string& tail) {
  std::string s;
  for (std::uint64_t i = from; i <= to; ++i)
    s += std::to_string(i) + tail + "\r\n";
  return s;
}

// ---- Listings -----------------------------------------------------------------

TEST(ClientHostile, ListThatNeverEndsHitsTheLimit) {
  ScriptServer server(logged_in({S::expect("LIST"), S::send("+OK\r\n"),
                                 S::send(numbered_lines(1, 5000, " 100")), S::wait_close()}));
  ClientOptions o = quick();
  o.max_listing = 1000;
  Client c = login(server, o);
  auto r = c.list();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::listing_too_long) << r.error().message;
  EXPECT_TRUE(is_protocol_error(r.error().code));
  EXPECT_NE(r.error().message.find("1000"), std::string::npos) << r.error().message;
  EXPECT_FALSE(c.connected());
}

TEST(ClientHostile, UidlThatNeverEndsHitsTheLimit) {
  ScriptServer server(logged_in({S::expect("UIDL"), S::send("+OK\r\n"),
                                 S::send(numbered_lines(1, 5000, " uid")), S::wait_close()}));
  ClientOptions o = quick();
  o.max_listing = 1000;
  Client c = login(server, o);
  auto r = c.uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::listing_too_long) << r.error().message;
}

TEST(ClientHostile, ListWithUidlThatNeverEndsHitsTheLimit) {
  ScriptServer server(logged_in({S::expect("LIST"), S::send("+OK\r\n"),
                                 S::send(numbered_lines(1, 5000, " 100")), S::wait_close()}));
  ClientOptions o = quick();
  o.max_listing = 1000;
  Client c = login(server, o);
  auto r = c.list_with_uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::listing_too_long) << r.error().message;
  EXPECT_FALSE(c.connected());
}

// With the default bound, a UIDL that never ends (70-octet UIDs, the most
// RFC 1939 allows) stops in bounded memory. The server streams ten million
// entries (770 MB) without holding them; the client must stop at its
// 100,000-entry bound, so the peak resident size of this process grows by
// well under the 770 MB an unbounded listing would keep.
TEST(ClientHostile, UidlThatNeverEndsStaysInBoundedMemoryByDefault) {
  ScriptServer server(
      logged_in({S::expect("UIDL"), S::send("+OK\r\n"),
                 S::numbered(10'000'000, " " + std::string(69, 'u')), S::wait_close()}));
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  {
    Client c = login(server);
    auto r = c.uidl();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::listing_too_long) << r.error().message;
  }
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 64 * 1024) << "KiB";
}

// Out of order, a repeat is only certain at the listing's end; with STAT's
// count known, the entry past that count is the error, at once.
TEST(ClientHostile, OutOfOrderListLongerThanStatIsCaughtAtOnce) {
  std::string looping;
  for (int i = 0; i < 5000; ++i)
    looping += "2 100\r\n1 100\r\n";
  ScriptServer server(logged_in({S::expect("STAT"), S::send("+OK 2 200\r\n"), S::expect("LIST"),
                                 S::send("+OK\r\n" + looping), S::wait_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.stat().ok());
  auto r = c.list();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_NE(r.error().message.find("more entries than the 2 messages STAT counted"),
            std::string::npos)
      << r.error().message;
}

TEST(ClientHostile, ListBeyondTheStatCount) {
  ScriptServer server(
      logged_in({S::expect("STAT"), S::send("+OK 2 200\r\n"), S::expect("LIST"),
                 S::send("+OK\r\n1 100\r\n2 100\r\n3 100\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.stat().ok());
  auto r = c.list();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_NE(r.error().message.find("message 3"), std::string::npos) << r.error().message;
}

TEST(ClientHostile, DeletedMessagesKeepTheirNumbers) {
  // After DELE 1, STAT counts 1 message, but message 2 keeps its number.
  ScriptServer server(logged_in({S::expect("DELE 1"), S::send("+OK\r\n"), S::expect("STAT"),
                                 S::send("+OK 1 100\r\n"), S::expect("LIST"),
                                 S::send("+OK\r\n2 100\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.dele(1).ok());
  ASSERT_TRUE(c.stat().ok());
  auto r = c.list();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1U);
  EXPECT_EQ((*r)[0].number, 2U);
}

TEST(ClientHostile, ListRepeatedNumber) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 100\r\n1 100\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_NE(r.error().message.find("twice"), std::string::npos) << r.error().message;
}

TEST(ClientHostile, ListRepeatedNumberOutOfOrder) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n3 100\r\n1 100\r\n2 100\r\n1 100\r\n.\r\n"),
                 S::wait_close()}));
  Client c = login(server);
  auto r = c.list();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
}

TEST(ClientHostile, ListInAnyOrderIsAccepted) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n2 100\r\n1 50\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 2U);
}

TEST(ClientHostile, UidlRepeatedNumber) {
  ScriptServer server(logged_in(
      {S::expect("UIDL"), S::send("+OK\r\n1 a\r\n2 b\r\n2 c\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
}

TEST(ClientHostile, ListWithUidlRepeatedNumber) {
  // The attack: message 1 listed twice was retrieved twice ("2 of 2").
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 100\r\n1 100\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list_with_uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_FALSE(c.connected());
}

TEST(ClientHostile, ListAndUidlDisagree) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 100\r\n2 100\r\n.\r\n"), S::expect("UIDL"),
                 S::send("+OK\r\n1 a\r\n3 c\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list_with_uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_NE(r.error().message.find("LIST and UIDL disagree"), std::string::npos);
}

TEST(ClientHostile, UidlWithAMessageListDidNotShow) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 100\r\n.\r\n"), S::expect("UIDL"),
                 S::send("+OK\r\n1 a\r\n2 b\r\n.\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list_with_uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_message_number) << r.error().message;
  EXPECT_NE(r.error().message.find("in UIDL but not in LIST"), std::string::npos);
}

TEST(ClientHostile, ListWithUidlRefusedUidlStillWorks) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 100\r\n.\r\n"), S::expect("UIDL"),
                 S::send("-ERR no UIDL here\r\n"), S::wait_close()}));
  Client c = login(server);
  auto r = c.list_with_uidl();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1U);
  EXPECT_EQ((*r)[0].uid, "");
}

TEST(ClientHostile, MillionCapaLinesEndInANamedError) {
  std::string lines;
  for (int i = 0; i < 1'000'000; ++i)
    lines += "X\r\n";
  ScriptServer server({S::send("+OK ready\r\n"), S::expect("CAPA"), S::send("+OK\r\n"),
                       S::send(lines), S::wait_close()});
  Client c(quick());
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  auto r = c.capa();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::too_many_capabilities) << r.error().message;
}

TEST(ClientHostile, TenMegabyteUidEndsInANamedError) {
  ScriptServer server(
      logged_in({S::expect("UIDL"), S::send("+OK\r\n1 " + std::string(10 << 20, 'u') + "\r\n.\r\n"),
                 S::wait_close()}));
  Client c = login(server);
  auto r = c.uidl();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::line_too_long) << r.error().message;
}

TEST(ClientHostile, HundredMegabyteStatusLineEndsInANamedError) {
  ScriptServer server(
      logged_in({S::expect("NOOP"), S::send("+OK " + std::string(100 << 20, 's') + "\r\n"),
                 S::wait_close()}));
  Client c = login(server);
  auto r = c.noop();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::line_too_long) << r.error().message;
}

TEST(ClientHostile, HundredMegabyteBodyLineIsDeliveredIntact) {
  const std::size_t size = std::size_t{100} << 20;
  ScriptServer server(
      logged_in({S::expect("RETR 1"), S::send("+OK\r\n" + std::string(size, 'b') + "\r\n.\r\n"),
                 S::wait_close()}));
  Client c = login(server);
  std::uint64_t octets = 0;
  std::size_t largest = 0;
  bool clean = true;
  auto r = c.retrieve(1, [&](std::string_view chunk) {
    octets += chunk.size();
    largest = std::max(largest, chunk.size());
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const bool tail = octets - chunk.size() + i >= size;
      if (chunk[i] != (tail ? (octets - chunk.size() + i == size ? '\r' : '\n') : 'b')) {
        clean = false;
      }
    }
    return std::error_code{};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, size + 2);
  EXPECT_EQ(octets, size + 2);
  EXPECT_TRUE(clean);
  // Streamed: no chunk is larger than the receive buffer.
  EXPECT_LE(largest, quick().limits.receive_buffer);
}

// ---- SASL exchanges that never end --------------------------------------------

// A server that answers every line with "+ ".
std::vector<S::Step> always_continue() {
  std::vector<S::Step> s = {
      S::send("+OK ready\r\n"), S::expect("CAPA"),
      S::send("+OK\r\nSASL PLAIN LOGIN SCRAM-SHA-256 CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n.\r\n")};
  for (int i = 0; i < 200; ++i)
    s.push_back(S::respond([](const std::string&) { return std::string("+ \r\n"); }));
  s.push_back(S::wait_close());
  return s;
}

void expect_bounded_exchange(const char* mechanism) {
  SCOPED_TRACE(mechanism);
  ScriptServer server(always_continue());
  Client c(quick());
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  auth::SaslCredentials creds;
  creds.authcid = "user";
  creds.password = "pencil";
  creds.token = "token";
  creds.host = "127.0.0.1";
  const auto start = std::chrono::steady_clock::now();
  auto r = c.authenticate(mechanism, creds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::bad_sasl_exchange) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_FALSE(c.connected());
  const auto lines = server.finish();
  // CAPA, AUTH and at most a handful of answers: never "*" for ever.
  EXPECT_LE(lines.size(), 12U);
}

TEST(ClientHostile, SaslPlainCancelLoopEnds) {
  expect_bounded_exchange("PLAIN");
}

TEST(ClientHostile, SaslLoginCancelLoopEnds) {
  expect_bounded_exchange("LOGIN");
}

TEST(ClientHostile, SaslScramCancelLoopEnds) {
  expect_bounded_exchange("SCRAM-SHA-256");
}

TEST(ClientHostile, SaslOtherMechanismsEnd) {
  for (const char* m : {"CRAM-MD5", "XOAUTH2", "OAUTHBEARER"})
    expect_bounded_exchange(m);
}

// ---- Data nobody asked for ----------------------------------------------------

TEST(ClientHostile, ExtraOkAfterDeleIsNotTakenForQuit) {
  // Same segment as DELE's answer.
  ScriptServer server(
      logged_in({S::expect("DELE 1"), S::send("+OK\r\n+OK\r\n"), S::expect_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.dele(1).ok());
  auto r = c.quit();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data) << r.error().message;
  server.finish();
  EXPECT_EQ(server.problem(), "");  // QUIT never went out
}

TEST(ClientHostile, LateExtraOkAfterDeleIsNotTakenForQuit) {
  // A segment of its own, after DELE was answered: QUIT -ERR would have
  // been read as the answer to... nothing; the extra +OK as QUIT's.
  ScriptServer server(logged_in({S::expect("DELE 1"), S::send("+OK\r\n"), S::sleep(50ms),
                                 S::send("+OK\r\n"), S::expect_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.dele(1).ok());
  std::this_thread::sleep_for(300ms);
  auto r = c.quit();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data) << r.error().message;
  EXPECT_NE(r.error().message.find("+OK"), std::string::npos) << r.error().message;
  server.finish();
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientHostile, ExtraLineWithTheGreeting) {
  ScriptServer server({S::send("+OK ready\r\n+OK extra\r\n"), S::expect_close()});
  Client c(quick());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data) << r.error().message;
  EXPECT_FALSE(c.connected());
}

TEST(ClientHostile, ExtraLineAfterTheGreetingFailsAtOnce) {
  ScriptServer server(
      {S::send("+OK ready\r\n"), S::sleep(50ms), S::send("+OK extra\r\n"), S::expect_close()});
  Client c(quick());
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  std::this_thread::sleep_for(300ms);
  const auto start = std::chrono::steady_clock::now();
  auto r = c.login("u", "p");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // not the 5 s timeout
  server.finish();
  EXPECT_EQ(server.problem(), "");  // USER never went out
}

// A server's parting "-ERR" before it hangs up (autologout) is a dropped
// session (temporary), not taken for the answer to the next command.
TEST(ClientHostile, PartingErrIsAClosedConnection) {
  ScriptServer server(
      logged_in({S::sleep(100ms), S::send("-ERR Disconnected for inactivity.\r\n"), S::close()}));
  Client c = login(server);
  std::this_thread::sleep_for(300ms);
  auto r = c.noop();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed) << r.error().message;
  EXPECT_NE(r.error().message.find("Disconnected for inactivity."), std::string::npos);
  EXPECT_TRUE(is_temporary(r.error().code));
}

TEST(ClientHostile, ExtraLineAfterAListingIsCaught) {
  ScriptServer server(
      logged_in({S::expect("LIST"), S::send("+OK\r\n1 10\r\n.\r\n+OK\r\n"), S::expect_close()}));
  Client c = login(server);
  ASSERT_TRUE(c.list().ok());
  auto r = c.noop();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data) << r.error().message;
}

}  // namespace
}  // namespace pop3kit::test
