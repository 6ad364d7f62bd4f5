// Strict base64 and the mechanism factory.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "pop3kit/channel_binding.hpp"
#include "pop3kit/sasl.hpp"
#include "sasl_test_util.hpp"

namespace {

using pop3kit::errc;
using pop3kit::auth::base64_decode;
using pop3kit::auth::base64_encode;
using pop3kit::auth::make_sasl_mechanism;
using sasl_test::code_of;

TEST(SaslBase64, EncodesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\0\xff\xfe", 3)), "AP/+");
}

TEST(SaslBase64, DecodesGoodInput) {
  EXPECT_EQ(base64_decode(""), std::string());
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("AP/+"), std::string("\0\xff\xfe", 3));
  EXPECT_EQ(base64_decode("AQ=="), "\x01");
}

TEST(SaslBase64, RoundTripsLongData) {
  std::string data;
  for (int i = 0; i < 40000; ++i)
    data.push_back(static_cast<char>(i * 7));
  const auto back = base64_decode(base64_encode(data));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, data);
}

TEST(SaslBase64, RejectsBadCharacters) {
  EXPECT_FALSE(base64_decode("Zm9v!mFy"));
  EXPECT_FALSE(base64_decode("Zm9-YmFy"));  // base64url
  EXPECT_FALSE(base64_decode("Zm9_YmFy"));
  EXPECT_FALSE(base64_decode(std::string("Zm9\0YmFy", 8)));
  EXPECT_FALSE(base64_decode("*"));
}

TEST(SaslBase64, RejectsBadPadding) {
  EXPECT_FALSE(base64_decode("Zg"));     // missing padding
  EXPECT_FALSE(base64_decode("Zg="));    // short padding
  EXPECT_FALSE(base64_decode("Zg==="));  // too much
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding in the middle
  EXPECT_FALSE(base64_decode("Z=m9"));
  EXPECT_FALSE(base64_decode("Zh=="));  // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm9="));
  EXPECT_FALSE(base64_decode("Zm9vY"));  // length % 4 != 0
}

TEST(SaslBase64, RejectsWhitespace) {
  EXPECT_FALSE(base64_decode(" Zm9v"));
  EXPECT_FALSE(base64_decode("Zm9v "));
  EXPECT_FALSE(base64_decode("Zm9v\r\n"));
  EXPECT_FALSE(base64_decode("Zm 9v"));
  EXPECT_FALSE(base64_decode("Zm9v\tYmFy"));
  EXPECT_FALSE(base64_decode("    "));
}

TEST(SaslFactory, NamesAreCaseInsensitive) {
  pop3kit::auth::SaslCredentials c{.authcid = "u", .password = "p"};
  for (const char* n : {"plain", "Plain", "PLAIN", "scram-sha-256", "Cram-Md5", "login"}) {
    auto m = make_sasl_mechanism(n, c);
    ASSERT_TRUE(m.ok()) << n;
  }
  auto m = make_sasl_mechanism("scram-sha-1", c);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->name(), "SCRAM-SHA-1");
}

TEST(SaslFactory, UnknownNameIsUnsupported) {
  pop3kit::auth::SaslCredentials c{.authcid = "u", .password = "p"};
  for (const char* n : {"GSSAPI", "DIGEST-MD5", "SCRAM-SHA-512", "SCRAM-SHA-", "", "PLAIN "}) {
    auto m = make_sasl_mechanism(n, c);
    ASSERT_FALSE(m.ok()) << n;
    EXPECT_EQ(code_of(m.error()), errc::unsupported) << n;
  }
}

// An unknown name is the caller's or the server's text: shown sanitised as
// all such text is (pop3kit::sanitize), control octets escaped, cut at 40.
TEST(SaslFactory, UnknownNameIsSanitisedInTheMessage) {
  pop3kit::auth::SaslCredentials c{.authcid = "u", .password = "p"};
  auto m = make_sasl_mechanism("X-\x1b[2J\x07", c);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "unsupported SASL mechanism: X-\\x1b[2J\\x07");
  auto l = make_sasl_mechanism(std::string(50, 'x'), c);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message, "unsupported SASL mechanism: " + std::string(40, 'x') + "...");
}

// Channel binding data is the one struct the TLS layer gives
// (pop3kit/channel_binding.hpp): a SASL option takes it as it is.
TEST(SaslFactory, TakesTheSharedChannelBinding) {
  static_assert(std::is_same_v<pop3kit::auth::ChannelBinding, pop3kit::ChannelBinding>);
  pop3kit::auth::SaslCredentials c{.authcid = "u", .password = "p"};
  pop3kit::auth::SaslOptions o;
  const pop3kit::ChannelBinding cb{"tls-exporter", std::string(32, 'x')};
  o.channel_binding = cb;
  auto m = make_sasl_mechanism("scram-sha-256-plus", c, o);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)->name(), "SCRAM-SHA-256-PLUS");
}

TEST(SaslFactory, EveryListedNameIsAccepted) {
  pop3kit::auth::SaslCredentials c{.authcid = "u", .password = "p", .token = "tok"};
  pop3kit::auth::SaslOptions o;
  o.channel_binding = pop3kit::auth::ChannelBinding{"tls-exporter", "xyz"};
  for (const auto n : pop3kit::auth::sasl_mechanism_names()) {
    auto m = make_sasl_mechanism(n, c, o);
    ASSERT_TRUE(m.ok()) << n << ": " << m.error().message;
    EXPECT_EQ((*m)->name(), n);
  }
}

TEST(SaslFactory, RefusesUnusableCredentials) {
  using C = pop3kit::auth::SaslCredentials;
  const struct {
    const char* mech;
    C creds;
  } cases[] = {
      {"PLAIN", C{.authcid = "", .password = "p"}},
      {"PLAIN", C{.authcid = "u", .password = ""}},
      {"PLAIN", C{.authcid = std::string("u\0v", 3), .password = "p"}},
      {"PLAIN", C{.authcid = "u", .password = "p", .authzid = std::string("a\0", 2)}},
      {"LOGIN", C{.authcid = "u", .password = ""}},
      {"CRAM-MD5", C{.authcid = "u\n", .password = "p"}},
      {"SCRAM-SHA-256", C{.authcid = "", .password = "p"}},
      {"SCRAM-SHA-256", C{.authcid = "u", .password = ""}},
      {"SCRAM-SHA-1", C{.authcid = "u\r", .password = "p"}},
      {"XOAUTH2", C{.authcid = "u", .token = ""}},
      {"XOAUTH2", C{.authcid = "", .token = "t"}},
      {"XOAUTH2", C{.authcid = "u", .token = "t\x01"}},
      {"OAUTHBEARER", C{.authcid = "u", .token = "a b"}},
      {"OAUTHBEARER", C{.authcid = "u", .token = "t", .host = "h\x01"}},
  };
  for (const auto& t : cases) {
    auto m = make_sasl_mechanism(t.mech, t.creds);
    ASSERT_FALSE(m.ok()) << t.mech;
    EXPECT_EQ(code_of(m.error()), errc::invalid_argument) << t.mech;
  }
}

}  // namespace
