// Logging in to Dovecot: USER/PASS, APOP, refused credentials, CAPA, NOOP,
// QUIT, address families.
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "common.hpp"
#include "pop3kit/apop.hpp"

namespace pop3kit::interop {
namespace {

using LoginTest = DovecotTest;

TEST_F(LoginTest, UserPass) {
  auto c = connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->state(), proto::State::authorization);
  auto r = c->login(kUser, kPassword);
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c->state(), proto::State::transaction);
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 0u);
  EXPECT_EQ(st->size, 0u);
  EXPECT_TRUE(c->quit().ok());
  EXPECT_FALSE(c->connected());
}

TEST_F(LoginTest, PasswordWithSpacesIsSentWhole) {
  auto c = login(kUser2, kPassword2);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->stat().ok());
}

TEST_F(LoginTest, GreetingCarriesApopTimestamp) {
  auto c = connect();
  ASSERT_TRUE(c);
  const auto& ts = c->greeting().apop_timestamp;
  ASSERT_FALSE(ts.empty()) << "greeting: " << c->greeting().text;
  EXPECT_EQ(ts.front(), '<');
  EXPECT_EQ(ts.back(), '>');
  EXPECT_NE(ts.find('@'), std::string::npos);
  EXPECT_NE(c->greeting().text.find(ts), std::string::npos);
}

TEST_F(LoginTest, Apop) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->login(kUser, kPassword, {.method = LoginMethod::apop});
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c->state(), proto::State::transaction);
  EXPECT_TRUE(c->stat().ok());
  EXPECT_TRUE(c->quit().ok());
  // Dovecot logs the mechanism: make sure it really was APOP, not a fallback.
  EXPECT_TRUE(log_shows("method=APOP")) << server().log_tail();
}

TEST_F(LoginTest, ApopDigestAcceptedOnRawConnection) {
  // The digest function on its own, against the server's own timestamp.
  test::RawPop3 raw(port());
  const std::string greeting = raw.line();
  const auto open = greeting.find('<');
  const auto close = greeting.find('>', open);
  ASSERT_NE(open, std::string::npos) << greeting;
  ASSERT_NE(close, std::string::npos) << greeting;
  const std::string digest = auth::apop_digest(greeting.substr(open, close - open + 1), kPassword2);
  ASSERT_EQ(digest.size(), 32u);
  const std::string answer = raw.command(std::string("APOP ") + kUser2 + " " + digest);
  EXPECT_EQ(answer.rfind("+OK", 0), 0u) << answer;
}

TEST_F(LoginTest, ApopWrongPasswordIsAuthFailed) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->login(kUser, "not-the-password", {.method = LoginMethod::apop});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
  EXPECT_NE(c->state(), proto::State::transaction);
}

TEST_F(LoginTest, WrongPasswordIsAuthFailed) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->login(kUser, "not-the-password");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
  // Dovecot answers "-ERR [AUTH] Authentication failed."
  EXPECT_EQ(r.error().response_code, ResponseCode::auth) << describe(r.error());
  EXPECT_NE(c->state(), proto::State::transaction);
}

TEST_F(LoginTest, UnknownUserIsAuthFailed) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->login("nobody-here", kPassword);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
}

TEST_F(LoginTest, RetryAfterRefusedPasswordOnSameConnection) {
  // A -ERR leaves the session usable: the second attempt logs in.
  auto c = connect();
  ASSERT_TRUE(c);
  auto bad = c->login(kUser, "wrong");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, make_error_code(errc::auth_failed)) << describe(bad.error());
  ASSERT_TRUE(c->connected());
  auto good = c->login(kUser, kPassword);
  ASSERT_TRUE(good.ok()) << describe(good.error());
  EXPECT_TRUE(c->stat().ok());
}

TEST_F(LoginTest, CapaBeforeLogin) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto caps = c->capa();
  ASSERT_TRUE(caps.ok()) << describe(caps.error());
  for (const char* name : {"TOP", "UIDL", "USER", "PIPELINING", "RESP-CODES", "SASL"}) {
    EXPECT_TRUE(caps->has(name)) << name;
  }
  EXPECT_TRUE(caps->has("top")) << "names compare case-insensitively";
  auto sasl = caps->arguments("SASL");
  ASSERT_TRUE(sasl.has_value());
  for (const char* mech : {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"}) {
    EXPECT_NE(sasl->find(mech), std::string_view::npos) << mech << " in SASL " << *sasl;
  }
  EXPECT_FALSE(caps->has("STLS")) << "the sandbox runs without TLS";
  // CAPA does not disturb the session: logging in still works.
  EXPECT_TRUE(c->login(kUser, kPassword).ok());
}

TEST_F(LoginTest, CapaAfterLogin) {
  auto c = login();
  ASSERT_TRUE(c);
  auto caps = c->capa();
  ASSERT_TRUE(caps.ok()) << describe(caps.error());
  // Dovecot drops USER and SASL after login; the rest stays.
  for (const char* name : {"TOP", "UIDL", "PIPELINING", "RESP-CODES"}) {
    EXPECT_TRUE(caps->has(name)) << name;
  }
  EXPECT_FALSE(caps->arguments("NO-SUCH-CAPABILITY").has_value());
}

TEST_F(LoginTest, NoopKeepsSession) {
  auto c = login();
  ASSERT_TRUE(c);
  for (int i = 0; i < 3; ++i) {
    auto r = c->noop();
    EXPECT_TRUE(r.ok()) << describe(r.error());
  }
  EXPECT_TRUE(c->stat().ok());
  EXPECT_TRUE(c->quit().ok());
}

TEST_F(LoginTest, QuitInAuthorizationState) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->quit();
  EXPECT_TRUE(r.ok()) << describe(r.error());
  EXPECT_FALSE(c->connected());
}

TEST_F(LoginTest, CallsAfterQuitFailNotConnected) {
  auto c = login();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->quit().ok());
  auto st = c->stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(errc::not_connected)) << describe(st.error());
}

TEST_F(LoginTest, CommandsBeforeLoginAreRefused) {
  auto c = connect();
  ASSERT_TRUE(c);
  auto st = c->stat();
  ASSERT_FALSE(st.ok());
  // Either the engine refuses it (wrong_state) or the server answers -ERR.
  EXPECT_TRUE(st.error().code == make_error_code(errc::wrong_state) ||
              st.error().code == make_error_code(errc::server_error))
      << describe(st.error());
}

TEST_F(LoginTest, ConnectByNameAndIpv6) {
  {
    Client c(plain_options());
    auto r = c.connect("localhost", port());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_TRUE(c.login(kUser, kPassword).ok());
  }
  // The sandbox listens on ::1 when the host has it.
  const std::string conf = [] {
    std::ifstream in(server().dir() / "dovecot.conf");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }();
  if (conf.find("::1") != std::string::npos) {
    Client c(plain_options());
    auto r = c.connect("::1", port());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_TRUE(c.login(kUser, kPassword).ok());
    ClientOptions v6only = plain_options();
    v6only.family = net::Family::ipv6;
    Client c6(v6only);
    auto r6 = c6.connect("localhost", port());
    // "localhost" may not resolve to ::1 everywhere; when it does, it must work.
    if (!r6.ok()) {
      EXPECT_EQ(r6.error().code, make_error_code(errc::host_not_found)) << describe(r6.error());
    }
  }
}

TEST_F(LoginTest, ConnectToClosedPortFails) {
  // Nothing listens on port 1 (tcpmux) on a test machine.
  Client c(plain_options());
  auto r = c.connect("127.0.0.1", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::connect_failed)) << describe(r.error());
}

}  // namespace
}  // namespace pop3kit::interop
