// XOAUTH2 and OAUTHBEARER (RFC 7628).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

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
  EXPECT_TRUE(m->sends_reusable_secret());  // a bearer token replays like a password
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

TEST(SaslOauth, ErrorChallengeReachesTheCallerRawBeforeTheReply) {
  for (const char* name : {"XOAUTH2", "OAUTHBEARER"}) {
    std::vector<std::string> seen;
    C c{.authcid = "u", .token = "T"};
    c.on_error_challenge = [&seen](std::string_view challenge) { seen.emplace_back(challenge); };
    auto m = make(name, c);
    ASSERT_TRUE(m);
    (void)m->initial_response();
    EXPECT_TRUE(seen.empty());
    // Raw bytes, control characters included: sanitising is the shower's job.
    const std::string challenge = std::string(kJsonError) + "\x1b";
    EXPECT_TRUE(m->step(challenge).ok()) << name;
    EXPECT_EQ(seen, std::vector<std::string>{challenge}) << name;
  }
}

TEST(SaslOauth, EmptyFirstChallengeIsNotAnError) {
  int calls = 0;
  C c{.authcid = "u", .token = "T"};
  c.on_error_challenge = [&calls](std::string_view) { ++calls; };
  auto m = make("XOAUTH2", c);
  ASSERT_TRUE(m);
  (void)m->step("");  // asks for the initial response
  EXPECT_EQ(calls, 0);
}

// One rule for "sends a reusable secret": the name's information and the
// mechanism object agree, and a bearer token counts like a password.
TEST(SaslInfo, EveryMechanismHasInfoThatMatchesItsObject) {
  const pop3kit::auth::ChannelBinding cb{"tls-exporter", std::string(32, 'x')};
  for (const auto name : pop3kit::auth::sasl_mechanism_names()) {
    const auto* info = pop3kit::auth::sasl_mechanism_info(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->name, name);
    C c{.authcid = "u", .password = "p", .token = "T"};
    pop3kit::auth::SaslOptions o;
    if (info->channel_binding) o.channel_binding = cb;
    auto m = make(name, c, o);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(m->sends_reusable_secret(), info->sends_reusable_secret) << name;
    EXPECT_EQ(info->channel_binding, name.ends_with("-PLUS")) << name;
  }
  using pop3kit::auth::SaslSecret;
  for (const char* reusable : {"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"}) {
    EXPECT_TRUE(pop3kit::auth::sasl_mechanism_info(reusable)->sends_reusable_secret) << reusable;
  }
  for (const char* safe : {"SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "CRAM-MD5", "EXTERNAL"}) {
    EXPECT_FALSE(pop3kit::auth::sasl_mechanism_info(safe)->sends_reusable_secret) << safe;
  }
  EXPECT_EQ(pop3kit::auth::sasl_mechanism_info("xoauth2")->secret, SaslSecret::token);
  EXPECT_EQ(pop3kit::auth::sasl_mechanism_info("External")->secret, SaslSecret::client_certificate);
  EXPECT_EQ(pop3kit::auth::sasl_mechanism_info("GSSAPI"), nullptr);
  EXPECT_EQ(pop3kit::auth::sasl_mechanism_info("USER"), nullptr);  // not a SASL name
}

}  // namespace
