// Login: USER/PASS and APOP with the fallback rules, the CAPA asked again
// after login, and the query in the write that follows the login's answer.
// Each transcript runs at every split of the server's bytes; `batches` are
// the writes between reads, one per round trip.
#include <gtest/gtest.h>

#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using Batches = std::vector<std::string>;
using Kind = session::Query::Kind;

const std::string kListing = "+OK\r\n1 10\r\n2 20\r\n.\r\n+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n";
const std::string kRfcGreeting = "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n";
const std::string kRfcApop = "APOP u c4c9334bac560ecc979e58001b3e22fb\r\n";  // password tanstaaf

LoginSetup pipelining(std::optional<Kind> kind = Kind::listing) {
  LoginSetup s;
  s.caps = caps_of({{"USER", ""}, {"PIPELINING", ""}, {"UIDL", ""}});
  s.query_kind = kind;
  return s;
}

LoginSetup lock_step(std::optional<Kind> kind = Kind::listing) {
  LoginSetup s;
  s.caps = caps_of({{"USER", ""}, {"UIDL", ""}});
  s.query_kind = kind;
  return s;
}

// USER and PASS in one write, LIST and UIDL in the next once PASS is answered.
TEST(SessionLogin, UserPassThenListingInTwoRoundTrips) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"}, {"LIST\r\nUIDL\r\n", kListing}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\nPASS p\r\n", "LIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
  EXPECT_EQ(o.found, "logged in; query list 1:10:aaa,2:20:bbb");
}

TEST(SessionLogin, LoginAloneSendsNothingMore) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining(std::nullopt)));
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\n");
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "logged in");
}

// EXPIRE marked USER: CAPA again, in one write with the listing; its answer
// replaces the capabilities from before.
TEST(SessionLogin, CapaAgainGoesWithTheListing) {
  LoginSetup s = pipelining();
  s.caps = caps_of({{"USER", ""}, {"PIPELINING", ""}, {"EXPIRE", "31 USER"}});
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"},
              {"CAPA\r\nLIST\r\nUIDL\r\n", "+OK\r\nPIPELINING\r\nEXPIRE 0\r\n.\r\n" + kListing}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\nPASS p\r\n", "CAPA\r\nLIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.found, "logged in; caps PIPELINING,EXPIRE 0; query list 1:10:aaa,2:20:bbb");
}

// A -ERR to the CAPA after login keeps the capabilities; the query goes on.
TEST(SessionLogin, CapaAgainRefusedKeepsGoing) {
  LoginSetup s = pipelining(Kind::stat);
  s.caps = caps_of({{"PIPELINING", ""}, {"LOGIN-DELAY", "900 USER"}});
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"},
              {"CAPA\r\nSTAT\r\n", "-ERR no\r\n+OK 2 30\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "logged in; query stat 2 30");
}

// Without PIPELINING: one command at a time, CAPA asked again (PIPELINING
// may show up now), and the listing lock-step since it did not.
TEST(SessionLogin, WithoutPipeliningLockStep) {
  Script sc;
  sc.turns = {{"USER u\r\n", "+OK\r\n"},
              {"PASS p\r\n", "+OK\r\n"},
              {"CAPA\r\n", "+OK\r\nUSER\r\nUIDL\r\n.\r\n"},
              {"LIST\r\n", "+OK\r\n1 10\r\n2 20\r\n.\r\n"},
              {"UIDL\r\n", "+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(lock_step()));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\n", "PASS p\r\n", "CAPA\r\n", "LIST\r\n", "UIDL\r\n"}));
  EXPECT_EQ(o.found, "logged in; caps USER,UIDL; query list 1:10:aaa,2:20:bbb");
}

// Gmail lists PIPELINING only after login: lock-step login, pipelined listing.
TEST(SessionLogin, PipeliningShownOnlyAfterLogin) {
  Script sc;
  sc.turns = {{"USER u\r\n", "+OK\r\n"},
              {"PASS p\r\n", "+OK\r\n"},
              {"CAPA\r\n", "+OK\r\nPIPELINING\r\nUIDL\r\n.\r\n"},
              {"LIST\r\nUIDL\r\n", kListing}};
  const auto o = run_session_all_splits(sc, login_factory(lock_step()));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\n", "PASS p\r\n", "CAPA\r\n", "LIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.found, "logged in; caps PIPELINING,UIDL; query list 1:10:aaa,2:20:bbb");
}

// Pipelining turned off by the caller: lock-step although the server offers it.
TEST(SessionLogin, PipeliningTurnedOff) {
  LoginSetup s = pipelining(Kind::listing);
  s.pipelining_allowed = false;
  Script sc;
  sc.turns = {{"USER u\r\n", "+OK\r\n"},
              {"PASS p\r\n", "+OK\r\n"},
              {"LIST\r\n", "+OK\r\n.\r\n"},
              {"UIDL\r\n", "+OK\r\n.\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\n", "PASS p\r\n", "LIST\r\n", "UIDL\r\n"}));
  EXPECT_EQ(o.found, "logged in; query list ");
}

// A refused PASS: nothing of the query was sent; the session stays usable.
TEST(SessionLogin, RefusedPassSendsNothingMore) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n-ERR [AUTH] invalid password\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\n");
  EXPECT_EQ(o.outcome, "error 301 [AUTH]: login refused: server says \"[AUTH] invalid password\"");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found,
            "not logged in; query error 102: not sent: the login before it did not succeed");
}

// A -ERR without a response code to PASS is still a failed login.
TEST(SessionLogin, RefusedPassIsAuthFailed) {
  Script sc;
  sc.turns = {{"USER u\r\n", "+OK\r\n"}, {"PASS p\r\n", "-ERR nope\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(lock_step()));
  EXPECT_EQ(o.outcome, "error 301: login refused: server says \"nope\"");
}

// A server that hangs up right after refusing: the refusal is reported.
TEST(SessionLogin, RefusedPassThenHangUp) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n-ERR [AUTH] wrong password\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_EQ(o.outcome, "error 301 [AUTH]: login refused: server says \"[AUTH] wrong password\"");
}

// A refused USER: PASS's answer is read and dropped, the USER refusal kept.
TEST(SessionLogin, RefusedUserDropsPassAnswer) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "-ERR [SYS/TEMP] try later\r\n-ERR\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining(Kind::stat)));
  EXPECT_EQ(o.outcome,
            "error 302 [SYS/TEMP]: user name refused: server says \"[SYS/TEMP] try later\"");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
}

// ... and when the server hangs up instead of answering PASS.
TEST(SessionLogin, RefusedUserThenHangUp) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "-ERR no such user\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_EQ(o.outcome, "error 301: user name refused: server says \"no such user\"");
  EXPECT_TRUE(o.closes);
}

TEST(SessionLogin, RefusedUserLockStep) {
  Script sc;
  sc.turns = {{"USER u\r\n", "-ERR no\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(lock_step()));
  EXPECT_EQ(o.sent, "USER u\r\n");
  EXPECT_EQ(o.outcome, "error 301: user name refused: server says \"no\"");
  EXPECT_FALSE(o.closes);
}

// RFC 1939 §7's example digest; the listing once APOP is answered.
TEST(SessionLogin, ApopThenListing) {
  LoginSetup s = pipelining();
  s.password = "tanstaaf";
  s.options.method = LoginMethod::apop;
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "+OK\r\n"}, {"LIST\r\nUIDL\r\n", kListing}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.batches, (Batches{kRfcApop, "LIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.found, "logged in; query list 1:10:aaa,2:20:bbb");
}

TEST(SessionLogin, ApopRefusedWithoutFallback) {
  LoginSetup s = pipelining();
  s.password = "tanstaaf";
  s.options.method = LoginMethod::apop;
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "-ERR wrong digest\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.sent, kRfcApop);
  EXPECT_EQ(o.outcome, "error 301: APOP login refused: server says \"wrong digest\"");
}

// Refused with fallback allowed: USER/PASS (together), then the listing.
TEST(SessionLogin, ApopRefusedThenUserPass) {
  LoginSetup s = pipelining();
  s.password = "tanstaaf";
  s.options = {LoginMethod::apop, true};
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "-ERR [AUTH] wrong digest\r\n"},
              {"USER u\r\nPASS tanstaaf\r\n", "+OK\r\n+OK\r\n"},
              {"LIST\r\nUIDL\r\n", kListing}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.batches, (Batches{kRfcApop, "USER u\r\nPASS tanstaaf\r\n", "LIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.outcome, "ok");
}

// A temporary refusal is no reason to send the password: no fallback.
TEST(SessionLogin, ApopTemporaryRefusalDoesNotFallBack) {
  LoginSetup s = pipelining();
  s.password = "tanstaaf";
  s.options = {LoginMethod::apop, true};
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "-ERR [IN-USE] locked\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.sent, kRfcApop);
  EXPECT_EQ(o.outcome, "error 302 [IN-USE]: APOP login refused: server says \"[IN-USE] locked\"");
}

// The NetX Duo rule: any refusal goes on with USER/PASS.
TEST(SessionLogin, ApopAnyRefusalFallsBackUnderTheNetxRule) {
  LoginSetup s;  // no CAPA asked: lock-step, no CAPA after login
  s.password = "tanstaaf";
  s.options = {LoginMethod::apop, true};
  s.fallback = session::ApopFallback::any;
  s.show_method = true;
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "-ERR [IN-USE] locked\r\n"},
              {"USER u\r\n", "+OK\r\n"},
              {"PASS tanstaaf\r\n", "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "logged in with USER/PASS");
  sc.turns = {{kRfcApop, "+OK\r\n"}};
  const auto a = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(a.found, "logged in with APOP");
}

// Refused, then the server hangs up on the fallback: the APOP refusal counts.
TEST(SessionLogin, ApopRefusedThenHangUp) {
  LoginSetup s = pipelining(Kind::stat);
  s.password = "tanstaaf";
  s.options = {LoginMethod::apop, true};
  Script sc;
  sc.greeting = kRfcGreeting;
  sc.turns = {{kRfcApop, "-ERR [AUTH] wrong password\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.outcome,
            "error 301 [AUTH]: APOP login refused: server says \"[AUTH] wrong password\"");
  EXPECT_TRUE(o.closes);
}

TEST(SessionLogin, ApopWithoutTimestamp) {
  LoginSetup s = pipelining(std::nullopt);
  s.options.method = LoginMethod::apop;
  Script sc;
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.sent, "");
  EXPECT_EQ(o.outcome,
            "error 106: APOP is not possible: the server's greeting has no valid timestamp");
  s.options.allow_fallback = true;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"}};
  const auto f = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(f.sent, "USER u\r\nPASS p\r\n");
  EXPECT_EQ(f.outcome, "ok");
}

// An argument the engine refuses: a caller error, nothing sent.
TEST(SessionLogin, BadUserNameSendsNothing) {
  LoginSetup s = pipelining();
  s.user = "a\r\nDELE 1";
  Script sc;
  const auto o = run_session_all_splits(sc, login_factory(s));
  EXPECT_EQ(o.sent, "");
  EXPECT_EQ(o.outcome,
            "error 100: cannot send USER: invalid argument (empty, zero, or containing CR, LF or "
            "NUL)");
  EXPECT_FALSE(o.closes);
}

// A broken answer ends the session.
TEST(SessionLogin, GarbageAnswerClosesTheConnection) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "HELLO\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.outcome.substr(0, 9), "error 200");
  EXPECT_EQ(o.found,
            "not logged in; query error 102: not sent: the login before it did not succeed");
}

// Logged in, then LIST refused: the query's error; the login stands.
TEST(SessionLogin, ListRefusedAfterLogin) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"},
              {"LIST\r\nUIDL\r\n", "-ERR [SYS/TEMP] index busy\r\n+OK\r\n1 a\r\n.\r\n"}};
  const auto o = run_session_all_splits(sc, login_factory(pipelining()));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found,
            "logged in; query error 302 [SYS/TEMP]: LIST: server says \"[SYS/TEMP] index busy\"");
}

// The connection lost during the query: the query's error, the login stands.
TEST(SessionLogin, ConnectionLostDuringQuery) {
  Script sc;
  sc.turns = {{"USER u\r\nPASS p\r\n", "+OK\r\n+OK\r\n"}, {"STAT\r\n", ""}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, login_factory(pipelining(Kind::stat)));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found,
            "logged in; query error 403: connection closed while waiting for the response to "
            "STAT");
}

}  // namespace
}  // namespace pop3kit::test
