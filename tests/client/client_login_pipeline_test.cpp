// Login round trips: USER and PASS together, then what follows the login
// (a listing or STAT Query, the CAPA asked again after login) in one write
// once it is answered, never behind PASS, APOP or AUTH (Courier).
//
// Round trips are counted by the scripted server: it reads every command of
// a batch before it answers any of them, so a client that waited for an
// answer before sending the next command would stall (and time out). quiet()
// proves the other way round: the client waits where it must.
#include <gtest/gtest.h>

#include "pop3kit/client.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

const std::string kCapaPipelining = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";
const std::string kCapaPlain = "+OK\r\nUSER\r\nUIDL\r\n.\r\n";
const std::string kListing = "+OK\r\n1 10\r\n2 20\r\n.\r\n+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n";

// Connected, CAPA asked (as the pop3kit command does), not logged in.
Client connected(const ScriptServer& server) {
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.capa().ok());
  return c;
}

// login() with a listing Query: the login's error, else the query's.
Result<std::vector<MessageEntry>> login_list(Client& c, std::string_view user,
                                             std::string_view password, LoginOptions lo = {}) {
  Query q(Query::Kind::listing);
  if (auto r = c.login(user, password, lo, &q); !r) return std::move(r).error();
  if (!q.outcome()) return q.outcome().error();
  return std::move(q.entries());
}

// login() with a STAT Query, the same way.
Result<MailboxStat> login_stat(Client& c, std::string_view user, std::string_view password,
                               LoginOptions lo = {}) {
  Query q(Query::Kind::stat);
  if (auto r = c.login(user, password, lo, &q); !r) return std::move(r).error();
  if (!q.outcome()) return q.outcome().error();
  return q.mailbox();
}

void expect_listing(const Result<std::vector<MessageEntry>>& l) {
  ASSERT_TRUE(l.ok()) << l.error().message;
  ASSERT_EQ(l->size(), 2U);
  EXPECT_EQ((*l)[0].number, 1U);
  EXPECT_EQ((*l)[0].size, 10U);
  EXPECT_EQ((*l)[0].uid, "aaa");
  EXPECT_EQ((*l)[1].number, 2U);
  EXPECT_EQ((*l)[1].size, 20U);
  EXPECT_EQ((*l)[1].uid, "bbb");
}

// Greeting, CAPA, one round trip for USER and PASS, one for LIST and UIDL.
TEST(LoginPipeline, UserPassThenListUidlInTwoRoundTrips) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n+OK\r\n"), S::expect("LIST"), S::expect("UIDL"),
                       S::send(kListing), S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  expect_listing(login_list(c, "u", "p"));
  EXPECT_EQ(c.state(), proto::State::transaction);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// A server that hangs up right after refusing a pipelined PASS: the caller
// hears the refusal (credentials, exit 77 in the command), not "connection
// closed" (temporary, to be retried with the same wrong password).
TEST(LoginPipeline, RefusedPassThenHangUpIsStillARefusal) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n-ERR [AUTH] wrong password\r\n"), S::close()});
  Client c = connected(server);
  auto l = login_list(c, "u", "p");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, errc::auth_failed) << l.error().message;
  EXPECT_EQ(l.error().response_code, ResponseCode::auth);
}

TEST(LoginPipeline, RefusedApopThenHangUpIsStillARefusal) {
  ScriptServer server({S::send("+OK <1.2@h>\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("APOP u "), S::quiet(50ms),
                       S::send("-ERR [AUTH] wrong password\r\n"), S::close()});
  Client c = connected(server);
  auto st =
      login_stat(c, "u", "p", LoginOptions{.method = LoginMethod::apop, .allow_fallback = true});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::auth_failed) << st.error().message;
}

// EXPIRE marked USER: CAPA must be asked again after login. It goes in one
// write with the listing once PASS is answered, and its answer replaces the
// first one.
TEST(LoginPipeline, CapaAgainGoesWithTheListing) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nPIPELINING\r\nEXPIRE 31 USER\r\n.\r\n"),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n+OK\r\n"), S::expect("CAPA"), S::expect("LIST"),
                       S::expect("UIDL"),
                       S::send("+OK\r\nPIPELINING\r\nEXPIRE 0\r\n.\r\n" + kListing),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  expect_listing(login_list(c, "u", "p"));
  ASSERT_TRUE(c.capabilities().expire().has_value());
  EXPECT_EQ(c.capabilities().expire()->value, 0U);
  EXPECT_FALSE(c.capabilities().expire()->per_user);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// login() alone: the CAPA asked again goes once PASS is answered.
TEST(LoginPipeline, LoginAloneSendsCapaAfterPass) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nPIPELINING\r\nLOGIN-DELAY 900 USER\r\n.\r\n"),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nPIPELINING\r\nLOGIN-DELAY 60\r\n.\r\n"), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Client c = connected(server);
  ASSERT_TRUE(c.login("u", "p").ok());
  EXPECT_EQ(c.capabilities().login_delay()->value, 60U);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// A refused PASS: nothing of the listing was sent; the login's error is
// reported; the session stays in step (QUIT still works).
TEST(LoginPipeline, RefusedPassSendsNothingMore) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n-ERR [AUTH] invalid password\r\n"), S::expect("QUIT"),
                       S::send("+OK bye\r\n")});
  Client c = connected(server);
  auto l = login_list(c, "u", "p");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, errc::auth_failed);
  EXPECT_EQ(l.error().message, "login refused: server says \"[AUTH] invalid password\"");
  EXPECT_EQ(c.state(), proto::State::authorization);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// A refused USER: PASS's answer is read and dropped.
TEST(LoginPipeline, RefusedUserDropsPassAnswer) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("-ERR [SYS/TEMP] try later\r\n-ERR\r\n"), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Client c = connected(server);
  auto st = login_stat(c, "u", "p");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::temporary_failure);
  EXPECT_EQ(st.error().message, "user name refused: server says \"[SYS/TEMP] try later\"");
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Logged in, then LIST refused: the listing's error, in TRANSACTION state.
TEST(LoginPipeline, ListRefusedAfterLogin) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::send("+OK\r\n+OK\r\n"),
                       S::expect("LIST"), S::expect("UIDL"),
                       S::send("-ERR [SYS/TEMP] index busy\r\n+OK\r\n1 a\r\n.\r\n"),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  auto l = login_list(c, "u", "p");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, errc::temporary_failure);
  EXPECT_EQ(l.error().message, "LIST: server says \"[SYS/TEMP] index busy\"");
  EXPECT_EQ(c.state(), proto::State::transaction);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(LoginPipeline, StatRightAfterPass) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::quiet(50ms),
                       S::send("+OK\r\n+OK\r\n"), S::expect("STAT"), S::send("+OK 2 30\r\n"),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  auto st = login_stat(c, "u", "p");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->count, 2U);
  EXPECT_EQ(st->size, 30U);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Without PIPELINING: one command at a time, same results. The CAPA asked
// again after login still lists no PIPELINING, so LIST and UIDL go one by one.
TEST(LoginPipeline, WithoutPipeliningLockStep) {
  ScriptServer server(
      {S::send("+OK\r\n"),  S::expect("CAPA"), S::send(kCapaPlain),
       S::expect("USER u"), S::quiet(50ms),    S::send("+OK\r\n"),
       S::expect("PASS p"), S::quiet(50ms),    S::send("+OK\r\n"),
       S::expect("CAPA"),   S::quiet(50ms),    S::send(kCapaPlain),
       S::expect("LIST"),   S::quiet(50ms),    S::send("+OK\r\n1 10\r\n2 20\r\n.\r\n"),
       S::expect("UIDL"),   S::quiet(50ms),    S::send("+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n"),
       S::expect("QUIT"),   S::send("+OK\r\n")});
  Client c = connected(server);
  expect_listing(login_list(c, "u", "p"));
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Without PIPELINING a refused PASS sends nothing more.
TEST(LoginPipeline, WithoutPipeliningRefusedPassSendsNothingMore) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPlain),
                       S::expect("USER u"), S::send("+OK\r\n"), S::expect("PASS p"),
                       S::send("-ERR nope\r\n"), S::wait_close()});
  Client c = connected(server);
  auto l = login_list(c, "u", "p");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, errc::auth_failed);
  c.close();
  EXPECT_EQ(server.finish().size(), 3U);  // CAPA USER PASS
  EXPECT_EQ(server.problem(), "");
}

// Gmail lists PIPELINING only after login: lock-step login, then the
// listing pipelined on the strength of the CAPA asked after it.
TEST(LoginPipeline, PipeliningShownOnlyAfterLogin) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPlain),
                       S::expect("USER u"), S::quiet(50ms), S::send("+OK\r\n"), S::expect("PASS p"),
                       S::quiet(50ms), S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send(kCapaPipelining), S::expect("LIST"), S::expect("UIDL"),
                       S::send(kListing), S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  expect_listing(login_list(c, "u", "p"));
  EXPECT_TRUE(c.pipelining());
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// APOP: the listing goes once APOP is answered. Refused with fallback
// allowed: USER/PASS, then the listing.
TEST(LoginPipeline, ApopRefusedThenUserPassWithFallback) {
  ScriptServer server({S::send("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
                       S::expect("CAPA"), S::send(kCapaPipelining), S::expect("APOP u "),
                       S::quiet(50ms), S::send("-ERR [AUTH] wrong digest\r\n"), S::expect("USER u"),
                       S::expect("PASS p"), S::quiet(50ms), S::send("+OK\r\n+OK\r\n"),
                       S::expect("LIST"), S::expect("UIDL"), S::send(kListing), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Client c = connected(server);
  LoginOptions lo;
  lo.method = LoginMethod::apop;
  lo.allow_fallback = true;
  expect_listing(login_list(c, "u", "p", lo));
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(LoginPipeline, ApopWithListing) {
  ScriptServer server({S::send("+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
                       S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("APOP u c4c9334bac560ecc979e58001b3e22fb"), S::quiet(50ms),
                       S::send("+OK\r\n"), S::expect("LIST"), S::expect("UIDL"), S::send(kListing),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  LoginOptions lo;
  lo.method = LoginMethod::apop;
  expect_listing(login_list(c, "u", "tanstaaf", lo));
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Courier: the login process reads everything that arrived, authenticates,
// then starts the mail process; what it had buffered is gone. Nothing may go
// out behind the command that completes the login.
TEST(LoginPipeline, CourierDropsWhatCameWithPass) {
  ScriptServer server({S::send("+OK Hello there.\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n"), S::expect("USER u"),
                       S::expect("PASS p"), S::discard(),
                       S::send("+OK Password required.\r\n+OK logged in.\r\n"), S::expect("STAT"),
                       S::send("+OK 2 30\r\n"), S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = connected(server);
  auto st = login_stat(c, "u", "p");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->count, 2U);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  EXPECT_EQ(server.discarded(), 0U);
}

TEST(LoginPipeline, CourierDropsWhatCameWithApop) {
  ScriptServer server({S::send("+OK Hello there. <1896.697170952@dbc.mtview.ca.us>\r\n"),
                       S::expect("CAPA"), S::send(kCapaPipelining), S::expect("APOP u "),
                       S::discard(), S::send("+OK logged in.\r\n"), S::expect("LIST"),
                       S::expect("UIDL"), S::send(kListing), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Client c = connected(server);
  expect_listing(login_list(c, "u", "p", LoginOptions{.method = LoginMethod::apop}));
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  EXPECT_EQ(server.discarded(), 0U);
}

// AUTH PLAIN with its initial response completes the login in one line.
TEST(LoginPipeline, CourierDropsWhatCameWithAuthPlain) {
  ScriptServer server({S::send("+OK Hello there.\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nSASL PLAIN\r\nPIPELINING\r\nUIDL\r\n.\r\n"),
                       S::expect("AUTH PLAIN "), S::discard(), S::send("+OK logged in.\r\n"),
                       S::expect("STAT"), S::send("+OK 2 30\r\n"), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  ClientOptions o;
  o.security = Security::plain;
  o.allow_plaintext_password = true;
  o.io_timeout = 5s;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  auth::SaslCredentials creds;
  creds.authcid = "u";
  creds.password = "p";
  auto r = c.authenticate("PLAIN", creds);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto st = c.stat();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  EXPECT_EQ(server.discarded(), 0U);
}

}  // namespace
}  // namespace pop3kit::test
