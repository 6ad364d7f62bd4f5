// The pop3kit binary over TLS against a throwaway Dovecot (tests/support):
// pops:// and STLS, every login method the command offers, what `capa`
// shows, the trace with secrets redacted, and each bad certificate refused
// with its reason (exit 69) and accepted only with the option that vouches
// for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "pop3kit/sasl.hpp"
#include "run_pop3kit.hpp"
#include "support/dovecot.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

const char* const kMessage =
    "From: a@example.org\r\nSubject: over TLS\r\n\r\nHello through TLS.\r\n";

RunOptions with_password(const std::string& pw) {
  RunOptions o;
  o.env["POP3KIT_PASSWORD"] = pw;
  return o;
}

void expect_one_error_line(const RunResult& r) {
  EXPECT_EQ(r.err.rfind("pop3kit: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

class TlsCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        DovecotServer::start({{"alice", "alice-secret"}}, &error_, ServerCert::good).release();
    if (server_ != nullptr) server_->add_message("alice", kMessage);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << error_; }

  static std::string pops(const std::string& userinfo) {
    return "pops://" + userinfo + (userinfo.empty() ? "" : "@") +
           "localhost:" + std::to_string(server_->tls_port());
  }
  static std::string pop(const std::string& userinfo) {
    return "pop://" + userinfo + (userinfo.empty() ? "" : "@") +
           "localhost:" + std::to_string(server_->port());
  }
  static std::vector<std::string> trust(std::vector<std::string> args) {
    args.push_back("--ca-file");
    args.push_back(server_->ca_file().string());
    return args;
  }

  static DovecotServer* server_;
  static std::string error_;
};

DovecotServer* TlsCommandTest::server_ = nullptr;
std::string TlsCommandTest::error_;

TEST_F(TlsCommandTest, CapaOverImplicitTlsShowsTheCertificate) {
  const RunResult r = run_pop3kit(trust({"capa", pops("")}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string cert = server_->cert_file().string();
  EXPECT_NE(r.out.find("# certificate\nsubject: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nissuer: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nvalid from: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nvalid until: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fingerprint: cert:" + TestCerts::sha256(cert) + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("key fingerprint: spki:" + TestCerts::spki_sha256(cert) + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("# capabilities over TLS\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nSASL "), std::string::npos) << r.out;
  // No STLS phase on pops://.
  EXPECT_EQ(r.out.find("before STLS"), std::string::npos) << r.out;
}

TEST_F(TlsCommandTest, CapaOverStlsShowsBeforeAndAfter) {
  const RunResult r = run_pop3kit(trust({"capa", pop("")}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto before = r.out.find("# capabilities before STLS (unprotected)\n");
  const auto cert = r.out.find("# certificate\n");
  const auto after = r.out.find("# capabilities over TLS\n");
  ASSERT_NE(before, std::string::npos) << r.out;
  ASSERT_NE(cert, std::string::npos) << r.out;
  ASSERT_NE(after, std::string::npos) << r.out;
  EXPECT_LT(before, cert);
  EXPECT_LT(cert, after);
  const auto stls = r.out.find("\nSTLS\n");
  EXPECT_TRUE(stls != std::string::npos && stls < cert) << r.out;
  // STLS is not offered again over TLS.
  EXPECT_EQ(r.out.find("\nSTLS\n", after), std::string::npos) << r.out;
}

// Each login method over each kind of TLS: the session works and the trace
// shows the method but none of the secrets.
struct Method {
  const char* auth;     // ";auth=" value, "" for the automatic choice
  const char* command;  // what the trace must show
};

// Readable test names in ctest's output ("16-byte object <...>" otherwise).
void PrintTo(const Method& m, std::ostream* os) {
  *os << (*m.auth != '\0' ? m.auth : "auto");
}

class TlsCommandLoginTest : public TlsCommandTest,
                            public ::testing::WithParamInterface<std::tuple<Method, bool>> {};

TEST_P(TlsCommandLoginTest, StatWorksAndTraceHidesSecrets) {
  const auto& [method, implicit] = GetParam();
  const std::string user = std::string("alice") + (*method.auth ? ";auth=" : "") + method.auth;
  const RunResult r = run_pop3kit(trust({"-v", "stat", implicit ? pops(user) : pop(user)}),
                                  with_password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 " + std::to_string(dovecot_list_size(kMessage)) + "\n");
  EXPECT_NE(r.err.find(std::string("C: ") + method.command), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("* TLS certificate: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("alice-secret"), std::string::npos) << r.err;
  // Nor the SASL PLAIN response, which holds the password in base64.
  EXPECT_EQ(r.err.find(auth::base64_encode(std::string("\0alice\0alice-secret", 19))),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(auth::base64_encode("alice-secret")), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Methods, TlsCommandLoginTest,
    ::testing::Combine(
        ::testing::Values(Method{"", "AUTH SCRAM-SHA-256"}, Method{"USER", "PASS <redacted>"},
                          Method{"+APOP", "APOP alice <redacted>"}, Method{"PLAIN", "AUTH PLAIN"},
                          Method{"LOGIN", "AUTH LOGIN"}, Method{"CRAM-MD5", "AUTH CRAM-MD5"},
                          Method{"SCRAM-SHA-1", "AUTH SCRAM-SHA-1"},
                          Method{"SCRAM-SHA-256", "AUTH SCRAM-SHA-256"}),
        ::testing::Bool()),
    [](const auto& param_info) {
      std::string name =
          *std::get<0>(param_info.param).auth ? std::get<0>(param_info.param).auth : "auto";
      for (char& c : name) {
        if (c == '-' || c == '+') c = '_';
      }
      return name + (std::get<1>(param_info.param) ? "_pops" : "_stls");
    });

TEST_F(TlsCommandTest, UntrustedAuthorityIsRefusedByDefault) {
  // Without --ca-file the system's authorities do not know the test CA.
  const RunResult r = run_pop3kit({"stat", pops("alice")}, with_password("alice-secret"));
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("unknown authority"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("name its authority with --ca-file"), std::string::npos) << r.err;
  // Pin mismatch: the chain is fine but the pin names another certificate.
  const RunResult p = run_pop3kit(trust({"stat", pops("alice"), "--pin", std::string(64, 'A')}),
                                  with_password("alice-secret"));
  EXPECT_EQ(p.exit_code, 69) << p.err;
  EXPECT_NE(p.err.find("pin mismatch"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("update --pin"), std::string::npos) << p.err;
  EXPECT_EQ(p.err.find("--ca-file"), std::string::npos) << p.err;
  // The right pin on top of the chain.
  const RunResult ok = run_pop3kit(
      trust({"stat", pops("alice"), "--pin", "cert:" + TestCerts::sha256(server_->cert_file())}),
      with_password("alice-secret"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// Each bad certificate, served by its own Dovecot: refused by default with
// its reason (the test CA is trusted, so only the one defect remains), then
// accepted with the option that vouches for it.
struct BadCert {
  ServerCert cert;
  const char* reason;
  const char* hint;  // what the command suggests, --ca-file having been given
};

void PrintTo(const BadCert& b, std::ostream* os) {
  *os << to_string(b.cert);
}

class TlsCommandBadCertTest : public ::testing::TestWithParam<BadCert> {};

TEST_P(TlsCommandBadCertTest, RefusedWithReasonThenAcceptedWhenVouchedFor) {
  std::string error;
  auto server = DovecotServer::start({{"alice", "alice-secret"}}, &error, GetParam().cert);
  ASSERT_NE(server, nullptr) << error;
  server->add_message("alice", kMessage);
  const std::string url = "pops://alice@localhost:" + std::to_string(server->tls_port());
  const std::string ca = server->ca_file().string();

  const RunResult r =
      run_pop3kit({"stat", url, "--ca-file", ca, "-v"}, with_password("alice-secret"));
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_NE(r.err.find(GetParam().reason), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(TestCerts::sha256(server->cert_file())), std::string::npos) << r.err;
  // Nothing was sent before the certificate was refused.
  EXPECT_EQ(r.err.find("C: "), std::string::npos) << r.err;
  // The hint fits the defect: --ca-file was given, so it is not suggested.
  EXPECT_NE(r.err.find(GetParam().hint), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--ca-file"), std::string::npos) << r.err;

  std::vector<std::string> vouch;
  if (GetParam().cert == ServerCert::unknown_ca) {
    vouch = {"--ca-file", server->other_ca_file().string()};
  } else {
    vouch = {"--pin", "cert:" + TestCerts::sha256(server->cert_file()), "--pin-only"};
  }
  std::vector<std::string> args{"stat", url};
  args.insert(args.end(), vouch.begin(), vouch.end());
  const RunResult ok = run_pop3kit(args, with_password("alice-secret"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out.rfind("1 ", 0), 0u) << ok.out;
}

INSTANTIATE_TEST_SUITE_P(
    Certs, TlsCommandBadCertTest,
    ::testing::Values(
        BadCert{ServerCert::expired, "the certificate expired on", "--pin cert:SHA256 --pin-only"},
        BadCert{ServerCert::self_signed, "self-signed", "--pin cert:SHA256 --pin-only"},
        BadCert{ServerCert::wrong_host, "host name mismatch",
                "the URL's host is not a name the certificate holds: use the host name it was "
                "issued for in the URL, or trust this very certificate with --pin cert:SHA256 "
                "--pin-only"},
        BadCert{ServerCert::unknown_ca, "unknown authority",
                "its issuer is not among the authorities you named"}),
    [](const auto& param_info) { return std::string(to_string(param_info.param.cert)); });

}  // namespace
}  // namespace pop3kit::test
