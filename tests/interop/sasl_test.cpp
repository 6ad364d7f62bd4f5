// SASL (RFC 5034) against Dovecot: every mechanism the sandbox offers, with
// the right and a wrong password, with and without CAPA first, and the
// automatic choice. Dovecot's log names the mechanism that was really used.
#include <string>

#include <gtest/gtest.h>

#include "common.hpp"
#include "pop3kit/sasl.hpp"

namespace pop3kit::interop {
namespace {

class SaslTest : public DovecotTest, public ::testing::WithParamInterface<const char*> {
 protected:
  static auth::SaslCredentials credentials(const char* user, const char* password) {
    auth::SaslCredentials c;
    c.authcid = user;
    c.password = password;
    return c;
  }
  static bool logged_method(const std::string& mech) { return log_shows("method=" + mech + ","); }
};

TEST_P(SaslTest, LogsIn) {
  const std::string mech = GetParam();
  auto c = connect();
  ASSERT_TRUE(c);
  auto caps = c->capa();
  ASSERT_TRUE(caps.ok()) << describe(caps.error());
  ASSERT_TRUE(caps->arguments("SASL").has_value());
  ASSERT_NE(caps->arguments("SASL")->find(mech), std::string_view::npos);
  auto r = c->authenticate(mech, credentials(kUser, kPassword));
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c->state(), proto::State::transaction);
  auto st = c->stat();
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : describe(st.error()));
  EXPECT_TRUE(c->quit().ok());
  EXPECT_TRUE(logged_method(mech)) << server().log_tail();
}

TEST_P(SaslTest, PasswordWithSpaces) {
  const std::string mech = GetParam();
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->capa().ok());
  auto r = c->authenticate(mech, credentials(kUser2, kPassword2));
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_TRUE(c->stat().ok());
}

TEST_P(SaslTest, WithoutCapaFirst) {
  // No SASL capability known: "AUTH NAME" alone, the response after the
  // server's empty challenge.
  const std::string mech = GetParam();
  auto c = connect();
  ASSERT_TRUE(c);
  auto r = c->authenticate(mech, credentials(kUser, kPassword));
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_TRUE(c->stat().ok());
}

TEST_P(SaslTest, WrongPasswordIsAuthFailed) {
  const std::string mech = GetParam();
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->capa().ok());
  auto r = c->authenticate(mech, credentials(kUser, "not-the-password"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
  EXPECT_NE(c->state(), proto::State::transaction);
  // A refused AUTH leaves the session usable (Dovecot allows another try).
  if (c->connected()) {
    auto again = c->authenticate(mech, credentials(kUser, kPassword));
    EXPECT_TRUE(again.ok()) << describe(again.error());
  }
}

INSTANTIATE_TEST_SUITE_P(Interop, SaslTest,
                         ::testing::Values("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1",
                                           "SCRAM-SHA-256"),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

using AutoLoginTest = DovecotTest;

TEST_F(AutoLoginTest, ChoosesScramSha256) {
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->capa().ok());
  EXPECT_EQ(c->choose_mechanism(), "SCRAM-SHA-256");
  auto r = c->login_auto(kUser, kPassword);
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_TRUE(c->stat().ok());
  EXPECT_TRUE(c->quit().ok());
  // Dovecot's log process may write the line a moment after the session.
  EXPECT_TRUE(log_shows("method=SCRAM-SHA-256,")) << server().log_tail();
}

TEST_F(AutoLoginTest, WrongPasswordIsAuthFailed) {
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->capa().ok());
  auto r = c->login_auto(kUser, "not-the-password");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
}

}  // namespace
}  // namespace pop3kit::interop
