// SCRAM-SHA-1, SCRAM-SHA-256 and -PLUS (RFC 5802, RFC 7677).
#include <gtest/gtest.h>

#include <string>

#include "pop3kit/sasl.hpp"
#include "sasl_test_util.hpp"

namespace {

using pop3kit::errc;
using pop3kit::auth::ChannelBinding;
using pop3kit::auth::SaslOptions;
using sasl_test::code_of;
using sasl_test::make;
using sasl_test::ok_value;
using C = pop3kit::auth::SaslCredentials;

SaslOptions nonce(std::string n, std::optional<ChannelBinding> cb = std::nullopt) {
  SaslOptions o;
  o.client_nonce_for_tests = std::move(n);
  o.channel_binding = std::move(cb);
  return o;
}

const C kUser{.authcid = "user", .password = "pencil"};

constexpr const char* k5802First =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
constexpr const char* k7677First =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

TEST(SaslScram, Rfc5802Sha1Example) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->client_first());
  EXPECT_FALSE(m->sends_reusable_secret());
  EXPECT_EQ(ok_value(m->initial_response()), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  EXPECT_EQ(ok_value(m->step(k5802First)),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  EXPECT_FALSE(m->finish().ok());  // no server-final yet
}

TEST(SaslScram, Rfc5802Sha1FullExchange) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k5802First);
  EXPECT_EQ(ok_value(m->step("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")), "");
  EXPECT_TRUE(m->finish().ok());
  EXPECT_TRUE(m->warnings().empty());
  auto extra = m->step("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(code_of(extra.error()), errc::wrong_state);
}

TEST(SaslScram, Rfc7677Sha256FullExchange) {
  auto m = make("SCRAM-SHA-256", kUser, nonce("rOprNGfwEbeRWgbNEkqO"));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(ok_value(m->step(k7677First)),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  EXPECT_EQ(ok_value(m->step("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")), "");
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslScram, EmptyFirstChallengeAsksForClientFirst) {
  auto m = make("SCRAM-SHA-256", kUser, nonce("rOprNGfwEbeRWgbNEkqO"));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->step("")), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(ok_value(m->step(k7677First)).substr(0, 7), "c=biws,");
}

TEST(SaslScram, WrongServerSignatureIsRejected) {
  auto m = make("SCRAM-SHA-256", kUser, nonce("rOprNGfwEbeRWgbNEkqO"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k7677First);
  auto r = m->step("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::auth_failed);
  EXPECT_FALSE(m->finish().ok());
}

TEST(SaslScram, TruncatedServerSignatureIsRejected) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k5802First);
  EXPECT_FALSE(m->step("v=rmF9pqV8S7suAoZW").ok());
  EXPECT_FALSE(m->finish().ok());
}

TEST(SaslScram, FinishWithoutServerFinalFails) {
  auto m = make("SCRAM-SHA-256", kUser, nonce("rOprNGfwEbeRWgbNEkqO"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k7677First);
  auto f = m->finish();  // +OK arrived without "+ v=..."
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(code_of(f.error()), errc::auth_failed);
  auto m2 = make("SCRAM-SHA-1", kUser);
  ASSERT_TRUE(m2);
  EXPECT_FALSE(m2->finish().ok());
}

TEST(SaslScram, ServerNonceMustExtendClientNonce) {
  for (const char* first : {
           "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",       // shorter
           "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",      // not extended
           "r=Xyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",  // different
       }) {
    auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
    ASSERT_TRUE(m);
    (void)m->initial_response();
    auto r = m->step(first);
    ASSERT_FALSE(r.ok()) << first;
    EXPECT_EQ(code_of(r.error()), errc::malformed_response) << first;
    EXPECT_FALSE(m->finish().ok());
  }
}

TEST(SaslScram, MalformedServerFirstIsRejected) {
  for (const char* first : {
           "m=ext,r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=4096",  // mandatory ext
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=0",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=-1",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=04096",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=+4096",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=4096x",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=99999999999",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=10000001",  // above the cap
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf9,i=4096",   // bad base64
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=,i=4096",                  // empty salt
           "s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawLxx,i=4096",  // order
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92",
           "r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=4096,garbage",
           "e",  // ("" as the first step is the server asking for the client-first message)
       }) {
    auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
    ASSERT_TRUE(m);
    (void)m->initial_response();
    auto r = m->step(first);
    ASSERT_FALSE(r.ok()) << first;
    EXPECT_EQ(code_of(r.error()), errc::malformed_response) << first;
  }
}

TEST(SaslScram, LowIterationCountWarns) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  ASSERT_TRUE(m->step("r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=1,x=ext").ok());
  ASSERT_EQ(m->warnings().size(), 1u);
  EXPECT_NE(m->warnings()[0].find("iteration"), std::string::npos);
}

TEST(SaslScram, ServerErrorIsSurfaced) {
  auto m = make("SCRAM-SHA-256", kUser, nonce("rOprNGfwEbeRWgbNEkqO"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k7677First);
  auto r = m->step("e=invalid-proof");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::auth_failed);
  EXPECT_NE(r.error().message.find("invalid-proof"), std::string::npos);
  EXPECT_FALSE(m->finish().ok());
  auto m2 = make("SCRAM-SHA-256", kUser);
  ASSERT_TRUE(m2);
  (void)m2->initial_response();
  auto r2 = m2->step("e=unknown-user");
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("unknown-user"), std::string::npos);
}

TEST(SaslScram, SaslnameEscapingAndAuthzid) {
  auto m = make("SCRAM-SHA-256", C{.authcid = "a,b=c", .password = "p", .authzid = "x=,y"},
                nonce("abc"));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "n,a=x=3D=2Cy,n=a=2Cb=3Dc,r=abc");
}

TEST(SaslScram, RandomNonce) {
  auto a = make("SCRAM-SHA-256", kUser);
  auto b = make("SCRAM-SHA-256", kUser);
  ASSERT_TRUE(a && b);
  const std::string fa = ok_value(a->initial_response());
  const std::string fb = ok_value(b->initial_response());
  EXPECT_EQ(fa.substr(0, 12), "n,,n=user,r=");
  EXPECT_EQ(fa.size(), 12u + 24u);
  EXPECT_NE(fa, fb);
  EXPECT_EQ(fa, ok_value(a->initial_response()));  // stable
}

TEST(SaslScramPlus, NeedsChannelBinding) {
  for (const char* n : {"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"}) {
    auto m = pop3kit::auth::make_sasl_mechanism(n, kUser);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(code_of(m.error()), errc::unsupported);
  }
  auto bad = pop3kit::auth::make_sasl_mechanism("SCRAM-SHA-256-PLUS", kUser,
                                                nonce("x", ChannelBinding{"tls-bogus", "abc"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(code_of(bad.error()), errc::unsupported);
}

// RFC 5929 tls-unique (a TLS 1.2 Finished message: 12 octets): the type in
// the GS2 header, the data after it in c=.
TEST(SaslScramPlus, TlsUniqueBinding) {
  const std::string finished = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c";
  auto m = make("SCRAM-SHA-256-PLUS", kUser,
                nonce("clientnonce123", ChannelBinding{"tls-unique", finished}));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "p=tls-unique,,n=user,r=clientnonce123");
  const std::string final =
      ok_value(m->step("r=clientnonce123servernonce,s=c2FsdHNhbHRzYWx0MTIzNA==,i=4096"));
  EXPECT_EQ(final.substr(0, final.find(",r=")),
            "c=" + pop3kit::auth::base64_encode("p=tls-unique,," + finished));
}

TEST(SaslScramPlus, TlsExporterBinding) {
  std::string data;
  for (int i = 0; i < 32; ++i)
    data.push_back(static_cast<char>(i));
  auto m = make("scram-sha-256-plus", kUser,
                nonce("clientnonce123", ChannelBinding{"tls-exporter", data}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "SCRAM-SHA-256-PLUS");
  EXPECT_EQ(ok_value(m->initial_response()), "p=tls-exporter,,n=user,r=clientnonce123");
  const std::string final =
      ok_value(m->step("r=clientnonce123servernonce,s=c2FsdHNhbHRzYWx0MTIzNA==,i=4096"));
  EXPECT_EQ(final.substr(0, final.find(",r=")),
            "c=cD10bHMtZXhwb3J0ZXIsLAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f");
}

TEST(SaslScramPlus, TlsServerEndPointFullExchange) {
  std::string data;
  for (int i = 0; i < 32; ++i)
    data.push_back(static_cast<char>(i));
  auto m = make("SCRAM-SHA-256-PLUS", kUser,
                nonce("clientnonce123", ChannelBinding{"tls-server-end-point", data}));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "p=tls-server-end-point,,n=user,r=clientnonce123");
  // Expected values computed independently (Python hashlib/hmac).
  EXPECT_EQ(ok_value(m->step("r=clientnonce123servernonce,s=c2FsdHNhbHRzYWx0MTIzNA==,i=4096")),
            "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,"
            "r=clientnonce123servernonce,p=pTS9NJD2pl+oiuehG1kOkcclJnDLppLpn80shJkRGWU=");
  EXPECT_EQ(ok_value(m->step("v=MgrSQ9porjWL+9C25y5fdaEb3W+i9pjlmCzui599i8I=")), "");
  EXPECT_TRUE(m->finish().ok());
}

TEST(SaslScramPlus, BindingValueWithAuthzid) {
  auto m = make("SCRAM-SHA-1-PLUS", C{.authcid = "user", .password = "p", .authzid = "ad,min"},
                nonce("n1", ChannelBinding{"tls-exporter", "\x01\x02"}));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "p=tls-exporter,a=ad=2Cmin,n=user,r=n1");
  const std::string final = ok_value(m->step("r=n1s,s=c2FsdA==,i=4096"));
  EXPECT_EQ(final.substr(0, final.find(",r=")), "c=cD10bHMtZXhwb3J0ZXIsYT1hZD0yQ21pbiwBAg==");
}

TEST(SaslScram, PlainScramWithBindingAvailableSendsY) {
  auto m =
      make("SCRAM-SHA-1", kUser, nonce("clientnonce123", ChannelBinding{"tls-exporter", "abc"}));
  ASSERT_TRUE(m);
  EXPECT_EQ(ok_value(m->initial_response()), "y,,n=user,r=clientnonce123");
  EXPECT_EQ(ok_value(m->step("r=clientnonce123servernonce,s=c2FsdHNhbHRzYWx0MTIzNA==,i=1000")),
            "c=eSws,r=clientnonce123servernonce,p=dv3JaqOc46ACtnt3v6En4LHkUNU=");
  EXPECT_EQ(ok_value(m->step("v=+QcRWQuaM0Cc60RqtvGQFGxKhTk=")), "");
  EXPECT_TRUE(m->finish().ok());
  EXPECT_EQ(m->warnings().size(), 1u);  // 1000 < 4096
}

TEST(SaslScram, ChallengeBeforeClientFirstIsRejected) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  auto r = m->step(k5802First);  // initial_response() never called, no empty challenge
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::malformed_response);
  auto again = m->initial_response();  // failures are sticky
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(code_of(again.error()), errc::malformed_response);
}

TEST(SaslScram, ServerFinalExtensionsAndErrorExtensions) {
  auto m = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m);
  (void)m->initial_response();
  (void)m->step(k5802First);
  EXPECT_EQ(ok_value(m->step("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,x=future")), "");
  EXPECT_TRUE(m->finish().ok());

  auto m2 = make("SCRAM-SHA-1", kUser, nonce("fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_TRUE(m2);
  (void)m2->initial_response();
  (void)m2->step(k5802First);
  auto r = m2->step("e=other-error\x07,x=y");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::auth_failed);
  // Sanitised as all server text is (pop3kit::sanitize): the control octet escaped.
  EXPECT_NE(r.error().message.find("other-error\\x07"), std::string::npos);
  EXPECT_EQ(r.error().message.find('\x07'), std::string::npos);
  EXPECT_EQ(r.error().message.find("x=y"), std::string::npos);
}

TEST(SaslScram, IterationCapIsConfigurable) {
  SaslOptions o = nonce("fyko+d2lbbFgONRv9qkxdawL");
  o.scram_max_iterations = 4095;
  auto m = make("SCRAM-SHA-1", kUser, o);
  ASSERT_TRUE(m);
  (void)m->initial_response();
  auto r = m->step(k5802First);  // i=4096
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), errc::malformed_response);
}

TEST(SaslScram, RefusesBadTestNonce) {
  for (const char* n : {"a,b", "a b", "\x01"}) {
    auto m = pop3kit::auth::make_sasl_mechanism("SCRAM-SHA-256", kUser, nonce(n));
    ASSERT_FALSE(m.ok()) << n;
    EXPECT_EQ(code_of(m.error()), errc::invalid_argument);
  }
}

}  // namespace
