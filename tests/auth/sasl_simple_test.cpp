// PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), EXTERNAL.
#include <gtest/gtest.h>

#include <string>

#include "pop3kit/sasl.hpp"
#include "sasl_test_util.hpp"

namespace {

using pop3kit::errc;
using sasl_test::code_of;
using sasl_test::make;
using sasl_test::ok_value;
using C = pop3kit::auth::SaslCredentials;

TEST(SaslPlain, Rfc4616Examples) {
  auto m = make("PLAIN", C{.authcid = "tim", .password = "tanstaaftanstaaf"});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->client_first());
  EXPECT_TRUE(m->sends_reusable_secret());
  EXPECT_EQ(ok_value(m->initial_response()), std::string("\0tim\0tanstaaftanstaaf", 21));
  EXPECT_TRUE(m->finish().ok());

  auto m2 = make("PLAIN", C{.authcid = "Kurt", .password = "xipj3plmq", .authzid = "Ursel"});
  ASSERT_TRUE(m2);
  EXPECT_EQ(ok_value(m2->initial_response()), std::string("Ursel\0Kurt\0xipj3plmq", 20));
}

TEST(SaslPlain, EmptyChallengeAsksForTheInitialResponse) {
  auto m = make("plain", C{.authcid = "tim", .password = "tanstaaftanstaaf"});
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->step("")), std::string("\0tim\0tanstaaftanstaaf", 21));
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslPlain, RefusesAChallenge) {
  auto m = make("PLAIN", C{.authcid = "tim", .password = "x"});
  ASSERT_TRUE(m);
  (void)m->initial_response();
  auto r = m->step("something");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::malformed_response);
  EXPECT_FALSE(m->finish().ok());  // sticky
}

TEST(SaslLogin, AnswersUserThenPassword) {
  auto m = make("LOGIN", C{.authcid = "tim", .password = "secret"});
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->client_first());
  EXPECT_TRUE(m->sends_reusable_secret());
  auto ir = m->initial_response();
  ASSERT_FALSE(ir.ok());
  EXPECT_EQ(code_of(ir.error()), errc::wrong_state);
  EXPECT_EQ(ok_value(m->step("Username:")), "tim");
  EXPECT_EQ(ok_value(m->step("Password:")), "secret");
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslLogin, CountsChallengesWhateverTheirText) {
  auto m = make("LOGIN", C{.authcid = "tim", .password = "secret"});
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->step("Password:")), "tim");  // order by count, not by text
  EXPECT_EQ(ok_value(m->step("")), "secret");
  auto third = m->step("Username:");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(code_of(third.error()), errc::malformed_response);
}

TEST(SaslCramMd5, Rfc2195Example) {
  auto m = make("CRAM-MD5", C{.authcid = "tim", .password = "tanstaaftanstaaf"});
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->client_first());
  EXPECT_FALSE(m->sends_reusable_secret());
  EXPECT_EQ(ok_value(m->step("<1896.697170952@postoffice.reston.mci.net>")),
            "tim b913a602c7eda7a495b4e6e7334d3890");
  EXPECT_TRUE(m->finish().ok());
  EXPECT_FALSE(m->step("<again@host>").ok());
}

TEST(SaslCramMd5, RefusesEmptyChallenge) {
  auto m = make("CRAM-MD5", C{.authcid = "tim", .password = "x"});
  ASSERT_TRUE(m);
  auto r = m->step("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::malformed_response);
}

TEST(SaslExternal, InitialResponseIsTheAuthzid) {
  auto m = make("EXTERNAL", C{});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->client_first());
  EXPECT_EQ(ok_value(m->initial_response()), "");
  auto m2 = make("external", C{.authzid = "admin"});
  ASSERT_TRUE(m2);
  EXPECT_EQ(ok_value(m2->step("")), "admin");
  EXPECT_TRUE(m2->finish().ok());
  auto m3 = make("EXTERNAL", C{});
  ASSERT_TRUE(m3);
  EXPECT_FALSE(m3->step("hello").ok());
}

}  // namespace
