// Self-test of the Dovecot fixture, with a raw socket and no pop3kit code:
// the sandbox starts, greets with an APOP timestamp, logs users in, serves the
// messages added to it byte for byte (after Dovecot's LF to CRLF conversion),
// and is gone, process and directory, after the destructor.
#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/dovecot.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

// Alive and not a zombie (an exited daemon waits for its reaper, PID 1).
bool running(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

class DovecotFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        DovecotServer::start({{"alice", "alice-secret"}, {"bob", "pass with spaces"}}, &error_)
            .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << error_; }

  static DovecotServer* server_;
  static std::string error_;
};

DovecotServer* DovecotFixtureTest::server_ = nullptr;
std::string DovecotFixtureTest::error_;

TEST_F(DovecotFixtureTest, GreetsWithApopTimestamp) {
  RawPop3 c(server_->port());
  const std::string greeting = c.line();
  EXPECT_EQ(greeting.rfind("+OK", 0), 0u) << greeting;
  EXPECT_NE(greeting.find('<'), std::string::npos) << greeting;
  EXPECT_NE(greeting.find("@"), std::string::npos) << greeting;
  EXPECT_EQ(c.command("QUIT").rfind("+OK", 0), 0u);
}

TEST_F(DovecotFixtureTest, UsersLogInAndWrongPasswordIsRefused) {
  {
    RawPop3 c(server_->port());
    c.line();
    EXPECT_EQ(c.command("USER alice").rfind("+OK", 0), 0u);
    const std::string r = c.command("PASS wrong");
    EXPECT_EQ(r.rfind("-ERR", 0), 0u) << r;
    EXPECT_EQ(c.command("USER bob").rfind("+OK", 0), 0u);
    EXPECT_EQ(c.command("PASS pass with spaces").rfind("+OK", 0), 0u) << server_->log_tail();
    EXPECT_EQ(c.command("QUIT").rfind("+OK", 0), 0u);
  }
  RawPop3 c(server_->port());
  c.line();
  EXPECT_EQ(c.command("USER alice").rfind("+OK", 0), 0u);
  EXPECT_EQ(c.command("PASS alice-secret").rfind("+OK", 0), 0u) << server_->log_tail();
  EXPECT_EQ(c.command("STAT"), "+OK 0 0");
}

TEST_F(DovecotFixtureTest, ServesMessagesInOrderWithDocumentedLineEnds) {
  const std::string messages[] = {
      "Subject: crlf\r\n\r\nbody\r\n.dot\r\n.\r\n..\r\n",
      "Subject: lf\n\nbody\n.\nno final newline",
      "",
      "Subject: mixed\r\n\nbare\rcr\n",
  };
  for (const auto& m : messages) {
    const fs::path p = server_->add_message("bob", m);
    std::ifstream in(p, std::ios::binary);
    const std::string stored((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(stored, m) << "add-message must store the bytes as given";
  }
  EXPECT_EQ(server_->message_files("bob").size(), 4u);

  RawPop3 c(server_->port());
  c.line();
  c.command("USER bob");
  ASSERT_EQ(c.command("PASS pass with spaces").rfind("+OK", 0), 0u);
  std::uint64_t total = 0;
  for (const auto& m : messages)
    total += dovecot_list_size(m);
  EXPECT_EQ(c.command("STAT"), "+OK 4 " + std::to_string(total));
  for (int i = 0; i < 4; ++i) {
    const auto& m = messages[i];
    EXPECT_EQ(c.command("LIST " + std::to_string(i + 1)),
              "+OK " + std::to_string(i + 1) + " " + std::to_string(dovecot_list_size(m)));
    const std::string r = c.command("RETR " + std::to_string(i + 1));
    ASSERT_EQ(r.rfind("+OK", 0), 0u) << r;
    EXPECT_EQ(c.multiline(), dovecot_retr_body(m)) << "message " << i + 1;
  }
  // The first message is byte-identical: CRLF line ends and a final CRLF.
  EXPECT_EQ(dovecot_retr_body(messages[0]), messages[0]);
  EXPECT_EQ(dovecot_retr_body(""), "\r\n");
  EXPECT_EQ(c.command("QUIT").rfind("+OK", 0), 0u);
}

TEST(DovecotFixture, DefaultUserAndCleanStop) {
  std::string error;
  auto server = DovecotServer::start({}, &error);
  ASSERT_NE(server, nullptr) << error;
  const fs::path dir = server->dir();
  std::ifstream pid_file(dir / "run" / "master.pid");
  pid_t pid = 0;
  pid_file >> pid;
  ASSERT_GT(pid, 0);
  {
    RawPop3 c(server->port());
    c.line();
    c.command("USER demo");
    EXPECT_EQ(c.command("PASS demo-password").rfind("+OK", 0), 0u) << server->log_tail();
    server->add_message("demo", "Subject: x\r\n\r\ny\r\n");
    c.command("QUIT");
  }
  // DELE + QUIT removes the file.
  {
    RawPop3 c(server->port());
    c.line();
    c.command("USER demo");
    c.command("PASS demo-password");
    EXPECT_EQ(c.command("DELE 1").rfind("+OK", 0), 0u);
    EXPECT_EQ(c.command("QUIT").rfind("+OK", 0), 0u);
  }
  EXPECT_TRUE(server->message_files("demo").empty());
  server.reset();
  EXPECT_FALSE(running(pid)) << "dovecot master still running";
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(DovecotFixtureTest, NoTlsUnlessAskedFor) {
  EXPECT_EQ(server_->tls_port(), 0);
  EXPECT_EQ(server_->server_cert(), ServerCert::none);
  EXPECT_TRUE(server_->ca_file().empty());
  RawPop3 c(server_->port());
  c.line();
  ASSERT_EQ(c.command("CAPA").rfind("+OK", 0), 0u);
  EXPECT_EQ(c.multiline().find("STLS"), std::string::npos);
}

// The TLS sessions themselves are tested with the library
// (tests/interop/tls_test.cpp); here only what the fixture promises.
TEST(DovecotFixture, TlsOffersStlsAndAnImplicitTlsPort) {
  std::string error;
  auto server = DovecotServer::start({}, &error, ServerCert::good);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_NE(server->tls_port(), 0);
  EXPECT_NE(server->tls_port(), server->port());
  EXPECT_EQ(server->server_cert(), ServerCert::good);
  for (const fs::path& f : {server->ca_file(), server->other_ca_file(), server->cert_file()}) {
    EXPECT_EQ(f.parent_path(), server->dir() / "tls");
    EXPECT_TRUE(fs::is_regular_file(f)) << f;
  }
  std::ifstream port_file(server->dir() / "tls-port");
  unsigned port = 0;
  port_file >> port;
  EXPECT_EQ(port, server->tls_port());
  {
    // Plain text still works on the plain port, beside STLS.
    RawPop3 c(server->port());
    c.line();
    ASSERT_EQ(c.command("CAPA").rfind("+OK", 0), 0u);
    EXPECT_NE(c.multiline().find("STLS"), std::string::npos);
    c.command("USER demo");
    EXPECT_EQ(c.command("PASS demo-password").rfind("+OK", 0), 0u) << server->log_tail();
  }
  // The TLS port expects a handshake, not a greeting: a plain client hears
  // nothing before it speaks.
  RawPop3 t(server->tls_port(), 300);
  EXPECT_THROW(t.line(), std::runtime_error);
}

TEST(DovecotFixture, BadUserSpecFailsWithMessage) {
  std::string error;
  auto server = DovecotServer::start({{"bad name", "x"}}, &error);
  EXPECT_EQ(server, nullptr);
  EXPECT_NE(error.find("bad user name"), std::string::npos) << error;
}

}  // namespace
}  // namespace pop3kit::test
