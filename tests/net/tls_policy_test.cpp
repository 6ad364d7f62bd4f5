// The TLS policy functions on a bare SSL*, with no socket: the client and a
// test server shake hands in process over an OpenSSL BIO pair, as an
// asio::ssl::stream or any other driver of OpenSSL would hand them an SSL*.
#include "pop3kit/tls_policy.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cctype>
#include <memory>
#include <string>
#include <utility>

#include "support/test_certs.hpp"

namespace pop3kit::net::tls {
namespace {

using test::TestCerts;

struct CtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct SessionFree {
  void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};
using Ctx = std::unique_ptr<SSL_CTX, CtxFree>;
using Ssl = std::unique_ptr<SSL, SslFree>;

TlsOptions trusting_test_ca() {
  TlsOptions o;
  o.ca_file = TestCerts::get().ca;
  return o;
}

// A test server's context serving the test certificate `name`.
Ctx server_context(const std::string& name, int max_version = 0, bool ems = true) {
  const auto& certs = TestCerts::get();
  Ctx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx.get(), certs.cert(name).c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), certs.key(name).c_str(), SSL_FILETYPE_PEM) != 1) {
    ADD_FAILURE() << "cannot set up the test server's context";
    return ctx;
  }
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  if (!ems) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  return ctx;
}

// A client set up by configure_context() and configure_connection(), and a
// server, joined by a BIO pair: their handshake runs in this thread.
struct Pair {
  Ctx client_ctx{SSL_CTX_new(TLS_client_method())};
  Ssl client;
  Ssl server;

  Pair(SSL_CTX* server_ctx, std::string_view host, const TlsOptions& options,
       SSL_SESSION* resume = nullptr) {
    auto configured = configure_context(client_ctx.get(), options);
    EXPECT_TRUE(configured.ok()) << configured.error().message;
    client.reset(SSL_new(client_ctx.get()));
    auto named = configure_connection(client.get(), host);
    EXPECT_TRUE(named.ok()) << named.error().message;
    if (resume != nullptr) SSL_set_session(client.get(), resume);
    server.reset(SSL_new(server_ctx));
    BIO* a = nullptr;
    BIO* b = nullptr;
    BIO_new_bio_pair(&a, 0, &b, 0);
    SSL_set_bio(client.get(), a, a);
    SSL_set_bio(server.get(), b, b);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
  }

  // Both ends step in turn until both are done or one fails.
  bool handshake() {
    for (int round = 0; round < 20; ++round) {
      const int c = SSL_do_handshake(client.get());
      const int s = SSL_do_handshake(server.get());
      if (c == 1 && s == 1) return true;
      for (const auto& [ssl, r] : {std::pair{client.get(), c}, std::pair{server.get(), s}}) {
        const int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
        if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          ERR_clear_error();
          return false;
        }
      }
    }
    return false;
  }
};

std::string hex(std::string_view data) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string s;
  for (const char ch : data) {
    const auto c = static_cast<unsigned char>(ch);
    if (!s.empty()) s += ':';
    s += digits[c >> 4];
    s += digits[c & 0xf];
  }
  return s;
}

std::string who(const std::string& cert_file) {
  const std::string sha = TestCerts::sha256(cert_file);
  return " (certificate subject: CN=localhost,O=pop3kit tests; SHA-256 " + sha + ")";
}

// ---- Before the handshake ----------------------------------------------

TEST(TlsPolicyContext, UnreadableFilesAreInvalidArguments) {
  Ctx ctx(SSL_CTX_new(TLS_client_method()));
  TlsOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  auto r = configure_context(ctx.get(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_TRUE(r.error().message.starts_with(
      "cannot load the CA file or directory ('/nonexistent/ca.pem'): "))
      << r.error().message;

  o = trusting_test_ca();
  o.client_cert_file = "/nonexistent/client.pem";
  r = configure_context(ctx.get(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_TRUE(r.error().message.starts_with("cannot use the client certificate or key: "))
      << r.error().message;
  EXPECT_EQ(ERR_peek_error(), 0UL);  // what OpenSSL queued went into the message
}

TEST(TlsPolicyContext, MinimumVersionIsSet) {
  Ctx server = server_context(TestCerts::get().good, TLS1_2_VERSION);
  TlsOptions o = trusting_test_ca();
  EXPECT_TRUE(Pair(server.get(), "localhost", o).handshake());
  o.min_version = TlsVersion::tls1_3;
  EXPECT_FALSE(Pair(server.get(), "localhost", o).handshake());
}

// SNI goes out for a name, never for an address (RFC 6066 §3).
TEST(TlsPolicyContext, ServerNameOnlyForHostNames) {
  Ctx server = server_context(TestCerts::get().good);
  Pair named(server.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(named.handshake());
  const char* sni = SSL_get_servername(named.server.get(), TLSEXT_NAMETYPE_host_name);
  ASSERT_NE(sni, nullptr);
  EXPECT_STREQ(sni, "localhost");

  Pair address(server.get(), "127.0.0.1", trusting_test_ca());
  ASSERT_TRUE(address.handshake());
  EXPECT_EQ(SSL_get_servername(address.server.get(), TLSEXT_NAMETYPE_host_name), nullptr);
}

// ---- The certificate policy --------------------------------------------

TEST(TlsPolicyCheck, GoodCertificateIsDescribed) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.good);
  for (const char* host : {"localhost", "127.0.0.1", "::1", "::1%lo"}) {
    Pair p(server.get(), host, trusting_test_ca());
    ASSERT_TRUE(p.handshake()) << host;
    auto info = check_peer(p.client.get(), host, trusting_test_ca());
    ASSERT_TRUE(info.ok()) << host << ": " << info.error().message;
    EXPECT_EQ(info->subject, "CN=localhost,O=pop3kit tests");
    EXPECT_EQ(info->issuer, "CN=pop3kit test CA,O=pop3kit tests");
    EXPECT_EQ(info->sha256, TestCerts::sha256(certs.cert(certs.good)));
    EXPECT_EQ(info->spki_sha256, TestCerts::spki_sha256(certs.cert(certs.good)));
    EXPECT_TRUE(info->not_after.ends_with(" UTC")) << info->not_after;
  }
}

TEST(TlsPolicyCheck, PinMismatch) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.good);
  TlsOptions o = trusting_test_ca();
  o.pins = {"cert:" + TestCerts::sha256(certs.cert(certs.self_signed)),
            "spki:" + TestCerts::spki_sha256(certs.cert(certs.self_signed))};
  Pair p(server.get(), "localhost", o);
  ASSERT_TRUE(p.handshake());
  auto r = check_peer(p.client.get(), "localhost", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::certificate_invalid);
  EXPECT_EQ(r.error().message,
            "pin mismatch: the certificate matches none of the pinned fingerprints" +
                who(certs.cert(certs.good)));

  // Its own key, spelt in lower case without colons, matches.
  std::string spki;
  for (const char c : TestCerts::spki_sha256(certs.cert(certs.good))) {
    if (c != ':') spki += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  o.pins.push_back("spki:" + spki);
  EXPECT_TRUE(check_peer(p.client.get(), "localhost", o).ok());
}

TEST(TlsPolicyCheck, PinReplacesTheAuthorityOnlyWhenAsked) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.self_signed);
  TlsOptions o = trusting_test_ca();
  o.pins = {TestCerts::sha256(certs.cert(certs.self_signed))};
  Pair p(server.get(), "localhost", o);
  ASSERT_TRUE(p.handshake());
  auto r = check_peer(p.client.get(), "localhost", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "the certificate is self-signed and not trusted" + who(certs.cert(certs.self_signed)));
  o.pins_replace_ca = true;
  EXPECT_TRUE(check_peer(p.client.get(), "localhost", o).ok());
}

TEST(TlsPolicyCheck, HostNameMismatch) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.good);
  Pair p(server.get(), "mail.example.org", trusting_test_ca());
  ASSERT_TRUE(p.handshake());
  auto r = check_peer(p.client.get(), "mail.example.org", trusting_test_ca());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::certificate_invalid);
  EXPECT_EQ(r.error().message,
            "host name mismatch: the certificate is not for 'mail.example.org'; it names "
            "DNS:localhost, IP:127.0.0.1, IP:::1" +
                who(certs.cert(certs.good)));
}

// The zone ID is dropped before the match and in the message alike.
TEST(TlsPolicyCheck, AddressMismatchWithZone) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.good);
  Pair p(server.get(), "fe80::1%eth0", trusting_test_ca());
  ASSERT_TRUE(p.handshake());
  auto r = check_peer(p.client.get(), "fe80::1%eth0", trusting_test_ca());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().message.starts_with(
      "host name mismatch: the certificate is not for 'fe80::1'; it names DNS:localhost, "))
      << r.error().message;
}

TEST(TlsPolicyCheck, ExpiredAndUnknownIssuer) {
  const auto& certs = TestCerts::get();
  Ctx expired = server_context(certs.expired);
  Pair e(expired.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(e.handshake());
  auto r = check_peer(e.client.get(), "localhost", trusting_test_ca());
  ASSERT_FALSE(r.ok());
  X509* cert = SSL_get0_peer_certificate(e.client.get());
  EXPECT_EQ(r.error().message, "the certificate expired on " + describe(cert).not_after +
                                   who(certs.cert(certs.expired)));

  Ctx unknown = server_context(certs.unknown_ca);
  Pair u(unknown.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(u.handshake());
  r = check_peer(u.client.get(), "localhost", trusting_test_ca());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "the certificate was issued by an unknown authority (CN=unknown CA,O=pop3kit tests)" +
                who(certs.cert(certs.unknown_ca)));
}

TEST(TlsPolicyCheck, NoCertificateBeforeTheHandshake) {
  Ctx ctx(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(configure_context(ctx.get(), trusting_test_ca()).ok());
  Ssl ssl(SSL_new(ctx.get()));
  auto r = check_peer(ssl.get(), "localhost", trusting_test_ca());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::certificate_invalid);
  EXPECT_EQ(r.error().message, "the server sent no certificate");
  EXPECT_EQ(describe(nullptr).sha256, "");
}

// ---- Channel binding: the same on both ends ------------------------------

void expect_same(SSL* client, SSL* server, const std::string& type) {
  auto c = channel_binding(client, type);
  auto s = channel_binding(server, type);
  ASSERT_TRUE(c.ok()) << type << ": " << c.error().message;
  ASSERT_TRUE(s.ok()) << type << ": " << s.error().message;
  EXPECT_EQ(c->type, type);
  EXPECT_FALSE(c->data.empty());
  EXPECT_EQ(c->data, s->data) << type;
}

void expect_refused(SSL* ssl, const std::string& type, const std::string& message) {
  auto r = channel_binding(ssl, type);
  ASSERT_FALSE(r.ok()) << type;
  EXPECT_EQ(r.error().code, errc::unsupported);
  EXPECT_EQ(r.error().message, message);
}

TEST(TlsPolicyChannelBinding, Tls13) {
  const auto& certs = TestCerts::get();
  Ctx server = server_context(certs.good);
  Pair p(server.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(p.handshake());
  EXPECT_TRUE(extended_master_secret(p.client.get()));
  EXPECT_EQ(default_channel_binding_type(p.client.get()), "tls-exporter");
  expect_same(p.client.get(), p.server.get(), "tls-exporter");
  expect_same(p.client.get(), p.server.get(), "tls-server-end-point");
  // RFC 9266 §2, computed here apart from the function under test.
  std::string exported(32, '\0');
  static constexpr char label[] = "EXPORTER-Channel-Binding";
  ASSERT_EQ(
      SSL_export_keying_material(p.server.get(), reinterpret_cast<unsigned char*>(exported.data()),
                                 32, label, sizeof label - 1, nullptr, 0, 0),
      1);
  EXPECT_EQ(channel_binding(p.client.get(), "tls-exporter")->data, exported);
  // An ECDSA-with-SHA-256 certificate: SHA-256 of the DER certificate.
  EXPECT_EQ(hex(channel_binding(p.client.get(), "tls-server-end-point")->data),
            TestCerts::sha256(certs.cert(certs.good)));
  expect_refused(p.client.get(), "tls-unique",
                 "channel binding tls-unique is undefined for TLS 1.3 (RFC 9266): use "
                 "tls-exporter");
  expect_refused(p.client.get(), "tls-bogus", "unknown channel binding type tls-bogus");
}

TEST(TlsPolicyChannelBinding, Tls12WithExtendedMasterSecret) {
  Ctx server = server_context(TestCerts::get().good, TLS1_2_VERSION);
  Pair p(server.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(p.handshake());
  EXPECT_TRUE(extended_master_secret(p.client.get()));
  EXPECT_EQ(default_channel_binding_type(p.client.get()), "tls-unique");
  for (const char* type : {"tls-unique", "tls-exporter", "tls-server-end-point"}) {
    expect_same(p.client.get(), p.server.get(), type);
  }
  // A full handshake: the client's Finished.
  unsigned char fin[64];
  const std::size_t n = SSL_get_finished(p.client.get(), fin, sizeof fin);
  EXPECT_EQ(channel_binding(p.server.get(), "tls-unique")->data,
            std::string(reinterpret_cast<char*>(fin), n));

  // A resumed one: the server's, which is then the first.
  std::unique_ptr<SSL_SESSION, SessionFree> session(SSL_get1_session(p.client.get()));
  Pair again(server.get(), "localhost", trusting_test_ca(), session.get());
  ASSERT_TRUE(again.handshake());
  ASSERT_EQ(SSL_session_reused(again.client.get()), 1);
  expect_same(again.client.get(), again.server.get(), "tls-unique");
  const std::size_t m = SSL_get_finished(again.server.get(), fin, sizeof fin);
  EXPECT_EQ(channel_binding(again.client.get(), "tls-unique")->data,
            std::string(reinterpret_cast<char*>(fin), m));
}

TEST(TlsPolicyChannelBinding, Tls12WithoutExtendedMasterSecret) {
  Ctx server = server_context(TestCerts::get().good, TLS1_2_VERSION, false);
  Pair p(server.get(), "localhost", trusting_test_ca());
  ASSERT_TRUE(p.handshake());
  EXPECT_FALSE(extended_master_secret(p.client.get()));
  EXPECT_EQ(default_channel_binding_type(p.client.get()), "tls-server-end-point");
  expect_same(p.client.get(), p.server.get(), "tls-server-end-point");
  expect_refused(p.client.get(), "tls-unique",
                 "channel binding tls-unique is unsafe without the extended master secret "
                 "(RFC 7627), which this connection did not negotiate");
  expect_refused(p.client.get(), "tls-exporter",
                 "channel binding tls-exporter needs TLS 1.3 or the extended master secret, "
                 "which this TLSv1.2 connection lacks");
}

}  // namespace
}  // namespace pop3kit::net::tls
