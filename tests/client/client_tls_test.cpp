// TLS: implicit TLS and STLS, certificate checks, and the STLS attacks
// (stripping, refusal, response injection) that must fail before any secret
// crosses.
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <chrono>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "pop3kit/client.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

ClientOptions tls_options(Security security) {
  ClientOptions o;
  o.io_timeout = 5s;
  o.security = security;
  o.tls.ca_file = TestCerts::get().ca;
  return o;
}

const char* kCapaStls = "+OK\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n";

TEST(ClientTls, ImplicitTlsWithTestCa) {
  const auto& certs = TestCerts::get();
  ScriptServer server(
      {S::start_tls(), S::send("+OK over TLS\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
       S::expect("PASS secret"), S::send("+OK\r\n"), S::expect("QUIT"), S::send("+OK\r\n")},
      certs.cert(certs.good), certs.key(certs.good));
  Client c(tls_options(Security::tls));
  auto r = c.connect("localhost", server.port());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.tls_active());
  ASSERT_NE(c.certificate(), nullptr);
  EXPECT_NE(c.certificate()->subject.find("CN=localhost"), std::string::npos);
  EXPECT_NE(c.certificate()->issuer.find("CN=pop3kit test CA"), std::string::npos);
  EXPECT_EQ(c.certificate()->sha256.size(), 95U);  // 32 octets as AB:CD:...
  EXPECT_EQ(c.greeting().text, "over TLS");
  ASSERT_TRUE(c.login("u", "secret").ok());
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientTls, IpAddressChecked) {
  const auto& certs = TestCerts::get();
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()}, certs.cert(certs.good),
                      certs.key(certs.good));
  Client c(tls_options(Security::tls));
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
}

// --tls-min: a client that asks for TLS 1.3 refuses a server that stops at
// TLS 1.2, which the default minimum (1.2) accepts.
TEST(ClientTls, MinimumVersionIsEnforced) {
  const auto& certs = TestCerts::get();
  for (const bool want_13 : {false, true}) {
    ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()},
                        certs.cert(certs.good), certs.key(certs.good));
    server.set_tls_max_version(TLS1_2_VERSION);
    ClientOptions o = tls_options(Security::tls);
    if (want_13) o.tls.min_version = net::TlsVersion::tls1_3;
    Client c(o);
    auto r = c.connect("localhost", server.port());
    if (want_13) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, errc::tls_failed) << r.error().message;
    } else {
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
  }
}

// A server that requires a client certificate: refused without one, and
// shown the configured one (certificate and key files).
TEST(ClientTls, ClientCertificateIsPresented) {
  const auto& certs = TestCerts::get();
  for (const bool with_cert : {false, true}) {
    ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::expect("QUIT"), S::send("+OK\r\n")},
                        certs.cert(certs.good), certs.key(certs.good));
    server.require_client_certificate(certs.ca);
    ClientOptions o = tls_options(Security::tls);
    if (with_cert) {
      o.tls.client_cert_file = certs.cert(certs.good);
      o.tls.client_key_file = certs.key(certs.good);
    }
    Client c(o);
    auto r = c.connect("localhost", server.port());
    if (!with_cert) {
      // TLS 1.3 may report the refusal at the first read instead.
      EXPECT_TRUE(!r.ok() || !c.quit().ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(c.quit().ok());
    EXPECT_EQ(server.problem(), "");
    EXPECT_NE(server.client_subject().find("CN=localhost"), std::string::npos)
        << server.client_subject();
  }
}

// --ca-dir: a hashed directory of authorities (as c_rehash makes it).
TEST(ClientTls, CaDirectory) {
  const auto& certs = TestCerts::get();
  const std::string dir = certs.dir + "/ca-dir";
  std::filesystem::create_directories(dir);
  FILE* f = std::fopen(certs.ca.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* ca = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_NE(ca, nullptr);
  char name[32];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(ca));
  X509_free(ca);
  std::filesystem::copy_file(certs.ca, dir + "/" + name,
                             std::filesystem::copy_options::overwrite_existing);
  for (const bool has_ca : {true, false}) {
    if (!has_ca) std::filesystem::remove(dir + "/" + name);
    ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()},
                        certs.cert(certs.good), certs.key(certs.good));
    ClientOptions o = tls_options(Security::tls);
    o.tls.ca_file.clear();
    o.tls.ca_dir = dir;
    Client c(o);
    auto r = c.connect("localhost", server.port());
    if (has_ca) {
      EXPECT_TRUE(r.ok()) << r.error().message;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, errc::certificate_invalid) << r.error().message;
    }
  }
}

struct BadCase {
  std::string cert;
  std::string reason;
};

class ClientTlsBadCert : public ::testing::TestWithParam<BadCase> {};

// Rejected by default, with the reason in words and the certificate named.
TEST_P(ClientTlsBadCert, RejectedWithReason) {
  const auto& certs = TestCerts::get();
  const BadCase& bad = GetParam();
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()}, certs.cert(bad.cert),
                      certs.key(bad.cert));
  Client c(tls_options(Security::tls));
  auto r = c.connect("localhost", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::certificate_invalid);
  EXPECT_NE(r.error().message.find(bad.reason), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("SHA-256 "), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("certificate subject: "), std::string::npos);
  EXPECT_TRUE(server.finish().empty());  // not a byte of POP3 crossed
}

// Accepted when the user pins that very certificate.
TEST_P(ClientTlsBadCert, AcceptedWithPin) {
  const auto& certs = TestCerts::get();
  const BadCase& bad = GetParam();
  // Learn the fingerprint from a rejected attempt, as a user would from the message.
  std::string fingerprint;
  {
    ScriptServer probe({S::start_tls(), S::wait_close()}, certs.cert(bad.cert),
                       certs.key(bad.cert));
    Client c(tls_options(Security::tls));
    auto r = c.connect("localhost", probe.port());
    ASSERT_FALSE(r.ok());
    const auto at = r.error().message.find("SHA-256 ");
    ASSERT_NE(at, std::string::npos);
    fingerprint = r.error().message.substr(at + 8, 95);
  }
  ScriptServer server({S::start_tls(), S::send("+OK pinned\r\n"), S::wait_close()},
                      certs.cert(bad.cert), certs.key(bad.cert));
  ClientOptions o = tls_options(Security::tls);
  o.tls.pins = {fingerprint};
  o.tls.pins_replace_ca = true;
  Client c(o);
  auto r = c.connect("localhost", server.port());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(c.greeting().text, "pinned");
}

INSTANTIATE_TEST_SUITE_P(Certs, ClientTlsBadCert,
                         ::testing::Values(BadCase{"expired", "the certificate expired on"},
                                           BadCase{"not_yet_valid",
                                                   "the certificate is not valid before"},
                                           BadCase{"self_signed", "self-signed"},
                                           BadCase{"wrong_host", "host name mismatch"},
                                           BadCase{"unknown_ca", "unknown authority"}),
                         [](const auto& p) { return p.param.cert; });

TEST(ClientTls, UnknownCaAcceptedWithItsCaFile) {
  const auto& certs = TestCerts::get();
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()},
                      certs.cert(certs.unknown_ca), certs.key(certs.unknown_ca));
  ClientOptions o = tls_options(Security::tls);
  o.tls.ca_file = certs.other_ca;
  Client c(o);
  auto r = c.connect("localhost", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(ClientTls, PinMismatchRejectedEvenWithValidChain) {
  const auto& certs = TestCerts::get();
  ScriptServer server({S::start_tls(), S::wait_close()}, certs.cert(certs.good),
                      certs.key(certs.good));
  ClientOptions o = tls_options(Security::tls);
  o.tls.pins = {"spki:" + std::string(64, '0')};
  Client c(o);
  auto r = c.connect("localhost", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::certificate_invalid);
  EXPECT_NE(r.error().message.find("pin mismatch"), std::string::npos) << r.error().message;
}

TEST(ClientStls, UpgradesAndAsksCapaAgain) {
  const auto& certs = TestCerts::get();
  ScriptServer server(
      {S::send("+OK plain\r\n"), S::expect("CAPA"), S::send(kCapaStls), S::expect("STLS"),
       S::send("+OK Begin TLS\r\n"), S::start_tls(), S::expect("CAPA"),
       S::send("+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
       S::expect("PASS p"), S::send("+OK\r\n"), S::expect("CAPA"),
       S::send("+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"), S::expect("QUIT"), S::send("+OK\r\n")},
      certs.cert(certs.good), certs.key(certs.good));
  Client c(tls_options(Security::starttls));
  auto r = c.connect("localhost", server.port());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.tls_active());
  EXPECT_TRUE(c.capabilities_before_tls().has("STLS"));
  EXPECT_FALSE(c.capabilities().has("STLS"));
  EXPECT_EQ(c.capabilities().arguments("SASL"), "PLAIN LOGIN");
  ASSERT_TRUE(c.login("u", "p").ok());
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Every STLS attack ends before a credential is sent: the server records
// everything the client said, and none of it is USER, PASS or AUTH.
void expect_nothing_secret(ScriptServer& server) {
  for (const std::string& line : server.finish()) {
    EXPECT_FALSE(line.starts_with("USER") || line.starts_with("PASS") || line.starts_with("AUTH") ||
                 line.starts_with("APOP"))
        << line;
  }
}

Result<void> starttls_then_login(ScriptServer& server) {
  Client c(tls_options(Security::starttls));
  auto r = c.connect("localhost", server.port());
  if (!r) return r;
  return c.login("u", "p");
}

TEST(ClientStls, StlsMissingFromCapaIsAHardFailure) {
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"), S::wait_close()});
  auto r = starttls_then_login(server);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_unavailable);
  EXPECT_NE(r.error().message.find("does not offer STLS"), std::string::npos);
  expect_nothing_secret(server);
}

TEST(ClientStls, DefaultOptionsRequireStls) {
  // Secure by default: a Client built with no options refuses a server that
  // cannot do STLS, before anything secret is sent.
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"), S::wait_close()});
  Client c;
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_unavailable);
  EXPECT_FALSE(c.login("u", "p").ok());
  expect_nothing_secret(server);
}

TEST(ClientStls, CapaErrIsAHardFailure) {
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send("-ERR what?\r\n"), S::wait_close()});
  auto r = starttls_then_login(server);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_unavailable);
  expect_nothing_secret(server);
}

TEST(ClientStls, StlsErrIsAHardFailureWithoutRetry) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaStls), S::expect("STLS"),
                       S::send("-ERR [SYS/TEMP] TLS unavailable\r\n"), S::wait_close()});
  auto r = starttls_then_login(server);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_unavailable);
  EXPECT_NE(r.error().message.find("TLS unavailable"), std::string::npos);
  const auto lines = server.finish();
  EXPECT_EQ(lines, (std::vector<std::string>{"CAPA", "STLS"}));  // no second STLS, nothing else
}

TEST(ClientStls, InjectedResponsesAfterOkAreRefused) {
  // The +OK and a forged "+OK" plus a CAPA listing PLAIN arrive in one write.
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaStls), S::expect("STLS"),
                       S::send("+OK Begin TLS\r\n+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n"),
                       S::wait_close()});
  auto r = starttls_then_login(server);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unexpected_data);
  EXPECT_NE(r.error().message.find("response injection"), std::string::npos);
  expect_nothing_secret(server);
}

// STLS over a transport that is no socket (a test's, an application's) is
// refused before anything is sent, and the connection stays open; so is
// STLS over TLS.
TEST(ClientStls, OnlyOverPlainTcp) {
  class Memory final : public net::Transport {
   public:
    explicit Memory(std::string* written) : written_(written) {}
    Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds) override {
      const std::size_t n = std::min(buf.size(), in_.size());
      std::copy_n(in_.begin(), n, buf.begin());
      in_.erase(0, n);
      return n;
    }
    Result<std::size_t> write_some(std::string_view data, std::chrono::milliseconds) override {
      *written_ += data;
      return data.size();
    }
    void close() noexcept override {}
    std::string peer() const override { return "memory"; }

   private:
    std::string in_ = "+OK hello\r\n";
    std::string* written_;
  };
  std::string written;
  Client c(tls_options(Security::starttls));
  ASSERT_TRUE(c.connect(std::make_unique<Memory>(&written)).ok());
  auto r = c.starttls("localhost");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::wrong_state);
  EXPECT_EQ(r.error().message, "STLS needs a plain TCP connection without TLS");
  EXPECT_EQ(written, "");
  EXPECT_TRUE(c.connected());

  const auto& certs = TestCerts::get();
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()}, certs.cert(certs.good),
                      certs.key(certs.good));
  Client tls(tls_options(Security::tls));
  ASSERT_TRUE(tls.connect("localhost", server.port()).ok());
  r = tls.starttls("localhost");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::wrong_state);
  EXPECT_TRUE(tls.tls_active());
  tls.close();
  EXPECT_EQ(server.finish(), std::vector<std::string>{});
}

// A server that hangs up in the middle of the handshake is a network fault
// (retry later: exit 75), not a TLS incompatibility (exit 69).
TEST(ClientTls, HandshakeCutIsAClosedConnection) {
  ScriptServer server({S::sleep(std::chrono::milliseconds(50)), S::close()});
  Client c(tls_options(Security::tls));
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed) << r.error().message;
  EXPECT_NE(r.error().message.find("closed the connection"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace pop3kit::test
