// XOAUTH2 and OAUTHBEARER (RFC 7628).
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

constexpr const char* kJsonError =
    R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})";

TEST(SaslXoauth2, ExactBytes) {
  auto m = make("XOAUTH2", C{.authcid = "someuser@example.com",
                             .token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->client_first());
  EXPECT_FALSE(m->sends_reusable_password());
  EXPECT_EQ(ok_value(m->initial_response()),
            "user=someuser@example.com\x01"
            "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
  // Google's documented base64 form of the same message.
  EXPECT_EQ(pop3kit::auth::base64_encode(ok_value(m->initial_response())),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQm"
            "hkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslXoauth2, ErrorChallengeGetsAnEmptyResponse) {
  auto m = make("xoauth2", C{.authcid = "u@example.com", .token = "tok"});
  ASSERT_TRUE(m);
  (void)m->initial_response();
  EXPECT_EQ(ok_value(m->step(kJsonError)), "");
  ASSERT_EQ(m->warnings().size(), 1u);
  EXPECT_NE(m->warnings()[0].find("\"status\":\"401\""), std::string::npos);
  auto again = m->step(kJsonError);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(code_of(again.error()), errc::malformed_response);
}

TEST(SaslXoauth2, EmptyChallengeAsksForTheInitialResponse) {
  auto m = make("XOAUTH2", C{.authcid = "u", .token = "t"});
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->step("")),
            "user=u\x01"
            "auth=Bearer t\x01\x01");
}

TEST(SaslOauthbearer, ExactBytes) {
  auto m = make("OAUTHBEARER", C{.authcid = "user@example.com",
                                 .token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                 .host = "server.example.com",
                                 .port = 143});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->client_first());
  EXPECT_EQ(ok_value(m->initial_response()),
            "n,a=user@example.com,\x01"
            "host=server.example.com\x01"
            "port=143\x01"
            "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslOauthbearer, AuthzidWinsAndIsEscapedHostAndPortOptional) {
  auto m = make("oauthbearer", C{.authcid = "u", .authzid = "a,b=c", .token = "T"});
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()),
            "n,a=a=2Cb=3Dc,\x01"
            "auth=Bearer T\x01\x01");
}

TEST(SaslOauthbearer, ErrorChallengeGetsCtrlA) {
  auto m = make("OAUTHBEARER", C{.authcid = "u", .token = "T", .host = "h", .port = 995});
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()),
            "n,a=u,\x01host=h\x01port=995\x01"
            "auth=Bearer T\x01\x01");
  EXPECT_EQ(ok_value(m->step(R"({"status":"invalid_token"})")), "\x01");
  EXPECT_EQ(pop3kit::auth::base64_encode("\x01"), "AQ==");
  ASSERT_EQ(m->warnings().size(), 1u);
  EXPECT_NE(m->warnings()[0].find("invalid_token"), std::string::npos);
  EXPECT_FALSE(m->step("more").ok());
}

}  // namespace
