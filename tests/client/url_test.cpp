// POP URL parser (RFC 2384): every accepted form and every refusal.
#include <gtest/gtest.h>

#include <string>

#include "pop3kit/url.hpp"

namespace pop3kit {
namespace {

PopUrl ok(std::string_view text) {
  auto r = parse_pop_url(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : PopUrl{};
}

// Returns the error message (empty when the URL was accepted, which fails).
std::string refused(std::string_view text) {
  auto r = parse_pop_url(text);
  EXPECT_FALSE(r.ok()) << text << " was accepted";
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument)) << text;
  EXPECT_FALSE(r.error().message.empty());
  return r.error().message;
}

TEST(PopUrl, HostOnly) {
  const PopUrl u = ok("pop://mail.example.org");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.auth, "");
  EXPECT_EQ(u.host, "mail.example.org");
  EXPECT_EQ(u.port, 110);
}

TEST(PopUrl, UserHostPort) {
  const PopUrl u = ok("pop://alice@mail.example.org:1110");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.auth, "");
  EXPECT_EQ(u.host, "mail.example.org");
  EXPECT_EQ(u.port, 1110);
}

TEST(PopUrl, Pop3SchemeIsSynonymAndSchemeIsCaseInsensitive) {
  EXPECT_EQ(ok("pop3://bob@host").user, "bob");
  EXPECT_EQ(ok("POP://bob@host").host, "host");
  EXPECT_EQ(ok("Pop3://bob@host:995").port, 995);
}

TEST(PopUrl, PopsMeansImplicitTlsOnPort995) {
  PopUrl u = ok("pops://alice@mail.example.org");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 995);
  EXPECT_EQ(u.user, "alice");
  u = ok("POP3S://alice;auth=SCRAM-SHA-256@[::1]:1995");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 1995);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.auth, "SCRAM-SHA-256");
  EXPECT_FALSE(ok("pop://alice@host").tls);
  EXPECT_FALSE(ok("pop3://alice@host").tls);
}

TEST(PopUrl, AuthTypes) {
  EXPECT_EQ(ok("pop://rg;AUTH=+APOP@mail.eudora.com:8110").auth, "+APOP");
  EXPECT_EQ(ok("pop://rg;auth=+apop@host").auth, "+APOP");
  EXPECT_EQ(ok("pop://baz;AUTH=SCRAM-MD5@foo.bar").auth, "SCRAM-MD5");
  EXPECT_EQ(ok("pop://u;auth=scram-sha-256@h").auth, "SCRAM-SHA-256");
  EXPECT_EQ(ok("pop://u;auth=*@h").auth, "*");
  EXPECT_EQ(ok("pop://u;auth=X_OAUTH2@h").auth, "X_OAUTH2");
  const PopUrl u = ok("pop://rg;AUTH=+APOP@mail.eudora.com:8110");
  EXPECT_EQ(u.user, "rg");
  EXPECT_EQ(u.host, "mail.eudora.com");
  EXPECT_EQ(u.port, 8110);
}

TEST(PopUrl, PercentEscapesInUser) {
  EXPECT_EQ(ok("pop://john%40example.org@host").user, "john@example.org");
  EXPECT_EQ(ok("pop://a%3Bb%3ac@host").user, "a;b:c");
  EXPECT_EQ(ok("pop://100%25@host").user, "100%");
  EXPECT_EQ(ok("pop://na%20me@host").user, "na me");
  EXPECT_EQ(ok("pop://caf%C3%A9@host").user, "caf\xC3\xA9");  // UTF-8 is passed through.
  EXPECT_EQ(ok("pop://a.b-c_d~e+f&g=h!$'()*,@host").user, "a.b-c_d~e+f&g=h!$'()*,");
}

TEST(PopUrl, PercentEscapesInAuthType) {
  EXPECT_EQ(ok("pop://u;auth=%2BAPOP@h").auth, "+APOP");
}

TEST(PopUrl, Ipv6Literal) {
  PopUrl u = ok("pop://[::1]");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 110);
  u = ok("pop://alice;auth=+APOP@[2001:db8::7]:2110");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.auth, "+APOP");
  EXPECT_EQ(u.host, "2001:db8::7");
  EXPECT_EQ(u.port, 2110);
  EXPECT_EQ(ok("pop://[::ffff:127.0.0.1]:1").host, "::ffff:127.0.0.1");
}

TEST(PopUrl, Ipv4AndPortBounds) {
  PopUrl u = ok("pop://u@127.0.0.1:1");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 1);
  EXPECT_EQ(ok("pop://h:65535").port, 65535);
  EXPECT_EQ(ok("pop://h:0110").port, 110);
}

TEST(PopUrl, TrailingSlashIsAccepted) {
  EXPECT_EQ(ok("pop://u@h:2/").port, 2);
  EXPECT_EQ(ok("pop://h/").host, "h");
}

TEST(PopUrl, RefusesOtherSchemes) {
  EXPECT_NE(refused("imap://u@host").find("imap"), std::string::npos);
  refused("popss://u@host");
  refused("http://host");
  refused("mail.example.org");
  refused("");
  refused("pop:/host");
  refused("pop:host");
}

TEST(PopUrl, RefusesPasswords) {
  const std::string m = refused("pop://alice:secret@host");
  EXPECT_NE(m.find("password"), std::string::npos) << m;
  // The message must not repeat what looks like the password.
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  refused("pop://alice:@host");
  refused("pop://alice;auth=+APOP:pw@host");
}

TEST(PopUrl, RefusesEmptyParts) {
  refused("pop://");
  refused("pop://u@");
  refused("pop://@host");
  refused("pop://;auth=+APOP@host");
  refused("pop://u;@host");
  refused("pop://u;auth=@host");
  refused("pop://:110");
  refused("pop://u@:110");
}

TEST(PopUrl, RefusesBadAuthParameters) {
  EXPECT_NE(refused("pop://u;type=x@host").find("type"), std::string::npos);
  refused("pop://u;auth=+APOP;auth=*@host");
  refused("pop://u;auth=PL AIN@host");
  refused("pop://u;auth=PL%2FAIN@host");
  refused("pop://u;auth=ABCDEFGHIJKLMNOPQRSTU@host");  // 21 characters
  refused("pop://u;auth=+CRAM@host");
}

TEST(PopUrl, RefusesBadEscapes) {
  EXPECT_NE(refused("pop://a%4@host").find("%"), std::string::npos);
  refused("pop://a%@host");
  refused("pop://a%zz@host");
  refused("pop://a%0D%0APASS@host");  // CR LF would inject a command
  refused("pop://a%00@host");
  refused("pop://a%7F@host");
}

TEST(PopUrl, RefusesUnescapedSpecials) {
  refused("pop://a b@host");
  refused("pop://a@b@host");
  refused("pop://a\"b@host");
  refused("pop://a[b@host");
  refused("pop://caf\xC3\xA9@host");
  refused("pop://a\tb@host");
}

TEST(PopUrl, RefusesBadPorts) {
  refused("pop://host:");
  refused("pop://host:0");
  refused("pop://host:65536");
  refused("pop://host:99999999999999999999");
  refused("pop://host:-1");
  refused("pop://host:11a");
  refused("pop://host:1:2");
  refused("pop://[::1]:");
  refused("pop://[::1]:x");
}

TEST(PopUrl, RefusesBadHosts) {
  refused("pop://ho st");
  refused("pop://host%41");
  refused("pop://[::1");
  refused("pop://[]");
  refused("pop://[not-an-address]");
  refused("pop://[::1]x");
  refused("pop://::1");  // IPv6 must be bracketed
  refused("pop://[127.0.0.1]");
}

TEST(PopUrl, RefusesPathQueryFragment) {
  refused("pop://u@host/INBOX");
  refused("pop://u@host?x=1");
  refused("pop://u@host#frag");
  refused("pop://u@host//");
}

}  // namespace
}  // namespace pop3kit
