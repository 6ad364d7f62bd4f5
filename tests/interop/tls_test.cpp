// TLS against Dovecot: implicit TLS (the pop3s port) and STLS (the plain
// port), each with every login method the sandbox offers; the certificate
// the client reports; bad certificates rejected with their reason before a
// byte of POP3 crosses, then accepted with the option that vouches for them;
// pins; and a required STLS that the server does not offer.
#include <chrono>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "common.hpp"
#include "pop3kit/sasl.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::interop {
namespace {

using namespace std::chrono_literals;
using test::DovecotServer;
using test::ServerCert;
using test::TestCerts;

// The name the certificates are for (TestCerts: localhost, 127.0.0.1, ::1).
constexpr const char* kHost = "localhost";
constexpr const char* kMessage = "Subject: over TLS\r\n\r\nline one\r\n.dot\r\n";

// Options that trust the test CA and change nothing else from the defaults.
ClientOptions tls_options(Security security, const DovecotServer& server) {
  ClientOptions o;
  o.security = security;
  o.tls.ca_file = server.ca_file().string();
  o.connect_timeout = 10s;
  o.io_timeout = 10s;
  return o;
}

// Implicit TLS talks to the pop3s port, STLS to the plain one.
std::uint16_t port_for(Security security, const DovecotServer& server) {
  return security == Security::tls ? server.tls_port() : server.port();
}

const char* name_of(Security security) {
  return security == Security::tls ? "ImplicitTls" : "Stls";
}

// True once Dovecot logged the login of `user` with `method` over TLS. The
// line reads "Login: user=<alice>, method=PLAIN, rip=..., TLS, session=<...>";
// the log process may write it a moment after the session, so look for up to
// 5 s.
bool logged_tls_login(const DovecotServer& server, const std::string& user,
                      const std::string& method) {
  const std::string who = "Login: user=<" + user + ">, method=" + method + ",";
  for (int i = 0; i < 100; ++i) {
    std::istringstream log(server.log_tail(200));
    std::string line;
    while (std::getline(log, line)) {
      if (line.find(who) != std::string::npos && line.find(", TLS") != std::string::npos)
        return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// How often Dovecot's log names `user`: it writes "user=<NAME>" once a
// client sent a user name, whatever the method, and "user=<>" for a session
// that never got that far. Compared before and after, because the suite's
// server may have seen logins from earlier tests.
std::size_t user_mentions(const DovecotServer& server, const std::string& user) {
  const std::string log = server.log_tail(1'000'000);
  const std::string needle = "user=<" + user + ">";
  std::size_t n = 0;
  for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
    ++n;
  return n;
}

// A Dovecot with TLS and the good certificate, one per suite.
class TlsDovecotTest : public DovecotTest {
 protected:
  static void SetUpTestSuite() { start_server(ServerCert::good); }

  static std::unique_ptr<Client> connect_tls(Security security, ClientOptions options) {
    auto c = std::make_unique<Client>(std::move(options));
    auto r = c->connect(kHost, port_for(security, server()));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error())) << "\n" << server().log_tail();
    if (!r.ok()) return nullptr;
    return c;
  }
  static std::unique_ptr<Client> connect_tls(Security security) {
    return connect_tls(security, tls_options(security, server()));
  }

  // What the client says about the good certificate.
  static void expect_good_certificate(const Client& c) {
    EXPECT_TRUE(c.tls_active());
    const net::CertificateInfo* cert = c.certificate();
    ASSERT_NE(cert, nullptr);
    EXPECT_NE(cert->subject.find("CN=localhost"), std::string::npos) << cert->subject;
    EXPECT_NE(cert->issuer.find("CN=pop3kit test CA"), std::string::npos) << cert->issuer;
    EXPECT_EQ(cert->sha256, TestCerts::sha256(server().cert_file().string()));
    EXPECT_EQ(cert->spki_sha256, TestCerts::spki_sha256(server().cert_file().string()));
    EXPECT_TRUE(cert->not_before.ends_with(" UTC")) << cert->not_before;
    EXPECT_TRUE(cert->not_after.ends_with(" UTC")) << cert->not_after;
  }
};

// ---- Every login method over both kinds of TLS -------------------------

// "USER" and "APOP" are login(); the others are SASL mechanisms.
using LoginCase = std::tuple<Security, const char*>;

class TlsLoginTest : public TlsDovecotTest, public ::testing::WithParamInterface<LoginCase> {};

TEST_P(TlsLoginTest, LogsInAndReadsOverTls) {
  const auto [security, method] = GetParam();
  const std::string m = method;
  server().add_message(kUser, kMessage);
  auto c = connect_tls(security);
  ASSERT_TRUE(c);
  expect_good_certificate(*c);
  if (security == Security::starttls) {
    // STLS was offered in the clear; over TLS it is gone, CAPA was asked again.
    EXPECT_TRUE(c->capabilities_before_tls().has("STLS"));
    EXPECT_FALSE(c->capabilities().has("STLS"));
  }
  auto caps = c->capa();
  ASSERT_TRUE(caps.ok()) << describe(caps.error());
  EXPECT_FALSE(caps->has("STLS"));

  Result<void> r;
  std::string logged = m;
  if (m == "USER") {
    r = c->login(kUser, kPassword);
    logged = "PLAIN";  // Dovecot logs USER/PASS as PLAIN
  } else if (m == "APOP") {
    EXPECT_FALSE(c->greeting().apop_timestamp.empty()) << c->greeting().text;
    r = c->login(kUser, kPassword, {.method = LoginMethod::apop});
  } else {
    ASSERT_TRUE(caps->arguments("SASL").has_value());
    EXPECT_NE(caps->arguments("SASL")->find(m), std::string_view::npos);
    auth::SaslCredentials creds;
    creds.authcid = kUser;
    creds.password = kPassword;
    r = c->authenticate(m, creds);
  }
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c->state(), proto::State::transaction);
  EXPECT_TRUE(c->tls_active());

  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 1U);
  EXPECT_EQ(st->size, test::dovecot_list_size(kMessage));
  Collect body;
  auto n = c->retrieve(1, body.sink());
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(body.data, test::dovecot_retr_body(kMessage));
  EXPECT_EQ(*n, body.data.size());
  EXPECT_TRUE(c->quit().ok());
  EXPECT_TRUE(logged_tls_login(server(), kUser, logged)) << server().log_tail();
}

INSTANTIATE_TEST_SUITE_P(Interop, TlsLoginTest,
                         ::testing::Combine(::testing::Values(Security::tls, Security::starttls),
                                            ::testing::Values("USER", "APOP", "PLAIN", "LOGIN",
                                                              "CRAM-MD5", "SCRAM-SHA-1",
                                                              "SCRAM-SHA-256")),
                         [](const auto& p) {
                           std::string name = std::string(name_of(std::get<0>(p.param))) + "_" +
                                              std::get<1>(p.param);
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

// ---- Automatic choice, pins --------------------------------------------

using TlsAutoTest = TlsDovecotTest;

// Dovecot offers no -PLUS mechanism, so the strongest left is SCRAM-SHA-256;
// over TLS, PLAIN would be acceptable too, but must not win.
TEST_F(TlsAutoTest, LoginAutoChoosesScramSha256) {
  for (Security security : {Security::tls, Security::starttls}) {
    SCOPED_TRACE(name_of(security));
    auto c = connect_tls(security);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->capa().ok());
    EXPECT_EQ(c->choose_mechanism(), "SCRAM-SHA-256");
    auto r = c->login_auto(kUser, kPassword);
    ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
    EXPECT_TRUE(c->stat().ok());
    EXPECT_TRUE(c->quit().ok());
  }
  EXPECT_TRUE(logged_tls_login(server(), kUser, "SCRAM-SHA-256")) << server().log_tail();
}

TEST_F(TlsAutoTest, CertificatePinOnTopOfTheChain) {
  for (Security security : {Security::tls, Security::starttls}) {
    SCOPED_TRACE(name_of(security));
    ClientOptions o = tls_options(security, server());
    o.tls.pins = {"cert:" + TestCerts::sha256(server().cert_file().string())};
    auto c = connect_tls(security, o);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->login(kUser, kPassword).ok());
  }
}

// A pin that names another certificate fails even though the chain, the
// name and the dates are fine, and also when the pin was to replace them.
TEST_F(TlsAutoTest, PinMismatchRejected) {
  const std::size_t mentions = user_mentions(server(), kUser);
  for (Security security : {Security::tls, Security::starttls}) {
    for (bool replace : {false, true}) {
      SCOPED_TRACE(std::string(name_of(security)) + (replace ? " pins_replace_ca" : ""));
      ClientOptions o = tls_options(security, server());
      o.tls.pins = {"cert:" + std::string(64, 'a'), "spki:" + std::string(64, '0')};
      o.tls.pins_replace_ca = replace;
      Client c(o);
      auto r = c.connect(kHost, port_for(security, server()));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, make_error_code(errc::certificate_invalid)) << describe(r.error());
      EXPECT_NE(r.error().message.find("pin mismatch"), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find(TestCerts::sha256(server().cert_file().string())),
                std::string::npos)
          << r.error().message;
      EXPECT_FALSE(c.connected());
    }
  }
  EXPECT_EQ(user_mentions(server(), kUser), mentions) << server().log_tail();
}

// Without the test CA the chain is unknown; a public-key pin stands in for
// it. The pin is made from the certificate file the usual way (RFC 7469: the
// SHA-256 of the DER SubjectPublicKeyInfo, as `openssl pkey -pubin -outform
// der | openssl dgst -sha256` gives it), not learned from the client.
TEST_F(TlsAutoTest, PublicKeyPinReplacesTheAuthority) {
  const std::string spki = TestCerts::spki_sha256(server().cert_file().string());
  for (Security security : {Security::tls, Security::starttls}) {
    SCOPED_TRACE(name_of(security));
    ClientOptions o = tls_options(security, server());
    o.tls.ca_file.clear();  // the system store, which does not know the test CA
    {
      Client c(o);
      auto r = c.connect(kHost, port_for(security, server()));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, make_error_code(errc::certificate_invalid)) << describe(r.error());
      EXPECT_NE(r.error().message.find("unknown authority"), std::string::npos)
          << r.error().message;
    }
    o.tls.pins = {"spki:" + spki};
    o.tls.pins_replace_ca = true;
    auto c = connect_tls(security, o);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->login(kUser, kPassword).ok());
  }
}

// ---- Bad certificates ---------------------------------------------------

struct BadCert {
  ServerCert cert;
  const char* reason;  // what the error message must say
};

// For gtest's messages (it would print the bytes otherwise).
void PrintTo(const BadCert& bad, std::ostream* os) {
  *os << test::to_string(bad.cert);
}

class TlsBadCertTest : public ::testing::TestWithParam<BadCert> {};

// Each kind with its own Dovecot. With the test CA trusted, only the one
// defect remains, and it alone fails the handshake, on both ports, before
// any POP3 command; the option that vouches for the certificate (its CA, or
// a pin of it that replaces the usual checks) then lets the session through.
TEST_P(TlsBadCertTest, RejectedWithReasonThenAcceptedWhenVouchedFor) {
  const BadCert& bad = GetParam();
  std::string error;
  auto server = DovecotServer::start({{kUser, kPassword}}, &error, bad.cert);
  ASSERT_NE(server, nullptr) << error;
  const std::string fingerprint = TestCerts::sha256(server->cert_file().string());

  for (Security security : {Security::tls, Security::starttls}) {
    SCOPED_TRACE(name_of(security));
    Client c(tls_options(security, *server));
    auto r = c.connect(kHost, port_for(security, *server));
    ASSERT_FALSE(r.ok()) << server->log_tail();
    EXPECT_EQ(r.error().code, make_error_code(errc::certificate_invalid)) << describe(r.error());
    EXPECT_NE(r.error().message.find(bad.reason), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("certificate subject: "), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("SHA-256 " + fingerprint), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(c.connected());
    EXPECT_FALSE(c.tls_active());
  }
  EXPECT_EQ(user_mentions(*server, kUser), 0U) << server->log_tail();

  for (Security security : {Security::tls, Security::starttls}) {
    SCOPED_TRACE(name_of(security));
    ClientOptions o = tls_options(security, *server);
    if (bad.cert == ServerCert::unknown_ca) {
      o.tls.ca_file = server->other_ca_file().string();
    } else {
      o.tls.pins = {"cert:" + fingerprint};
      o.tls.pins_replace_ca = true;
    }
    Client c(o);
    auto r = c.connect(kHost, port_for(security, *server));
    ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server->log_tail();
    EXPECT_TRUE(c.tls_active());
    ASSERT_NE(c.certificate(), nullptr);
    EXPECT_EQ(c.certificate()->sha256, fingerprint);
    auto login = c.login(kUser, kPassword);
    ASSERT_TRUE(login.ok()) << describe(login.error());
    EXPECT_TRUE(c.stat().ok());
    EXPECT_TRUE(c.quit().ok());
  }
  EXPECT_TRUE(logged_tls_login(*server, kUser, "PLAIN")) << server->log_tail();
}

INSTANTIATE_TEST_SUITE_P(
    Interop, TlsBadCertTest,
    ::testing::Values(BadCert{ServerCert::expired, "the certificate expired on"},
                      BadCert{ServerCert::not_yet_valid, "the certificate is not valid before"},
                      BadCert{ServerCert::self_signed, "the certificate is self-signed"},
                      BadCert{ServerCert::wrong_host,
                              "host name mismatch: the certificate is not for 'localhost'"},
                      BadCert{ServerCert::unknown_ca,
                              "the certificate was issued by an unknown authority"}),
    [](const auto& p) { return std::string(test::to_string(p.param.cert)); });

// ---- A server without TLS ---------------------------------------------

using NoTlsTest = DovecotTest;  // ssl = no: no STLS, no TLS port

// STLS is required by default: without it the client gives up after CAPA,
// before a user name or password could cross in the clear.
TEST_F(NoTlsTest, RequiredStlsFailsBeforeAnyCredential) {
  const std::size_t mentions = user_mentions(server(), kUser);
  std::vector<std::string> sent;
  ClientOptions o;
  o.security = Security::starttls;
  o.io_timeout = 10s;
  o.trace = [&sent](proto::TraceDirection d, std::string_view line) {
    if (d == proto::TraceDirection::sent) sent.emplace_back(line);
  };
  Client c(o);
  auto r = c.connect("127.0.0.1", port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::tls_unavailable)) << describe(r.error());
  EXPECT_FALSE(c.connected());
  EXPECT_FALSE(c.tls_active());
  EXPECT_EQ(c.certificate(), nullptr);
  for (const std::string& line : sent) {
    EXPECT_TRUE(line == "CAPA" || line == "QUIT") << "sent without TLS: " << line;
  }
  // Dovecot saw no user name: its log has only "user=<>" for that session.
  EXPECT_TRUE(log_shows("no auth attempts")) << server().log_tail();
  EXPECT_EQ(user_mentions(server(), kUser), mentions) << server().log_tail();
}

}  // namespace
}  // namespace pop3kit::interop
