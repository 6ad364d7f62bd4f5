// The pop3kit binary end to end against a throwaway Dovecot (tests/support):
// output formats, byte-exact RETR, DELE semantics, exit codes, the trace.
//
// Oracles: dovecot_retr_body()/dovecot_list_size() model what Dovecot sends
// for a stored file (it turns bare LF into CRLF), and RawPop3, a raw socket
// independent of pop3kit, asks Dovecot directly where no model is needed
// (UIDs, TOP).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::test {
namespace {

const std::string kMsg1 =
    "From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\n\r\nHello.\r\n";
// LF line ends, lines that need dot-stuffing, 8-bit octets, a NUL-free
// binary-ish line, a very long line, and no final line end.
const std::string kMsg2 =
    "From: b@example.org\nSubject: two\n\n.\n..two dots\n.x\nend \xC3\xA9\xFF\n" +
    std::string(3000, 'L') + "\nlast line without end";
const std::string kMsg3 =
    "From: c@example.org\r\nSubject: three\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n";

std::vector<std::string> split_lines(const std::string& s, const std::string& sep = "\n") {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto end = s.find(sep, pos);
    if (end == std::string::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end + sep.size();
  }
  return out;
}

// An error report is one line, "pop3kit: ..." .
void expect_one_error_line(const RunResult& r) {
  EXPECT_EQ(r.err.rfind("pop3kit: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.back(), '\n') << r.err;
}

// A loopback TCP port nobody listens on (bound, then released).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// True when the host has an IPv6 loopback (the sandbox then listens on ::1).
bool have_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class PopCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = DovecotServer::start({{"alice", "alice-secret"},
                                    {"bob", "pass with spaces"},
                                    {"carol", "carol-secret"},
                                    {"dave", "dave-secret"}},
                                   &error_)
                  .release();
    if (server_ == nullptr) return;
    for (const auto& m : {kMsg1, kMsg2, kMsg3})
      server_->add_message("alice", m);
    server_->add_message("bob", kMsg1);
    for (const auto& m : {kMsg1, kMsg2, kMsg3})
      server_->add_message("carol", m);
    for (const auto& m : {kMsg1, kMsg3})
      server_->add_message("dave", m);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << error_; }

  static std::string url(const std::string& userinfo) {
    return "pop://" + userinfo + "@127.0.0.1:" + std::to_string(server_->port());
  }
  static RunOptions password(const std::string& pw) {
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = pw;
    return o;
  }
  // Logged-in raw connection, the oracle.
  static std::unique_ptr<RawPop3> raw(const std::string& user, const std::string& pw) {
    auto c = std::make_unique<RawPop3>(server_->port());
    c->line();
    c->command("USER " + user);
    const std::string r = c->command("PASS " + pw);
    EXPECT_EQ(r.rfind("+OK", 0), 0u) << r;
    return c;
  }

  static DovecotServer* server_;
  static std::string error_;
};

DovecotServer* PopCommandTest::server_ = nullptr;
std::string PopCommandTest::error_;

TEST_F(PopCommandTest, CapaWithoutLogin) {
  const RunResult r =
      run_pop3kit({"capa", "pop://127.0.0.1:" + std::to_string(server_->port()), "--plaintext"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = split_lines(r.out);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "UIDL"), lines.end()) << r.out;
  EXPECT_NE(std::find(lines.begin(), lines.end(), "TOP"), lines.end()) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(PopCommandTest, Stat) {
  const RunResult r =
      run_pop3kit({"stat", url("alice"), "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::uint64_t size =
      dovecot_list_size(kMsg1) + dovecot_list_size(kMsg2) + dovecot_list_size(kMsg3);
  EXPECT_EQ(r.out, "3 " + std::to_string(size) + "\n");
}

TEST_F(PopCommandTest, ListWithUids) {
  const RunResult r =
      run_pop3kit({"list", url("alice"), "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = raw("alice", "alice-secret");
  ASSERT_EQ(c->command("UIDL").rfind("+OK", 0), 0u);
  const auto uidl = split_lines(c->multiline(), "\r\n");
  ASSERT_EQ(uidl.size(), 3u);
  const std::string sizes[] = {std::to_string(dovecot_list_size(kMsg1)),
                               std::to_string(dovecot_list_size(kMsg2)),
                               std::to_string(dovecot_list_size(kMsg3))};
  std::string expected;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string uid = uidl[i].substr(uidl[i].find(' ') + 1);
    expected += std::to_string(i + 1) + " " + sizes[i] + " " + uid + "\n";
  }
  EXPECT_EQ(r.out, expected);
}

TEST_F(PopCommandTest, RetrIsByteExact) {
  for (int n = 1; n <= 3; ++n) {
    const std::string& src = n == 1 ? kMsg1 : n == 2 ? kMsg2 : kMsg3;
    const RunResult r = run_pop3kit(
        {"retr", url("alice"), std::to_string(n), "--plaintext", "--allow-plaintext-password"},
        password("alice-secret"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, dovecot_retr_body(src)) << "message " << n;
    auto c = raw("alice", "alice-secret");
    ASSERT_EQ(c->command("RETR " + std::to_string(n)).rfind("+OK", 0), 0u);
    EXPECT_EQ(r.out, c->multiline()) << "message " << n;
  }
  // A CRLF message stored as CRLF comes back identical to the source.
  const RunResult r =
      run_pop3kit({"retr", url("alice"), "1", "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  EXPECT_EQ(r.out, kMsg1);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// retr all -o DIR: every message (pipelined), one file each, named by UID,
// byte for byte what the server sends.
TEST_F(PopCommandTest, RetrAllIntoDirectory) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pop3kit-retr-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const RunResult r = run_pop3kit({"retr", url("alice"), "all", "-o", dir.string(), "--plaintext",
                                   "--allow-plaintext-password"},
                                  password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto c = raw("alice", "alice-secret");
  const auto uidl = split_lines(c->command("UIDL").empty() ? "" : c->multiline(), "\r\n");
  ASSERT_EQ(uidl.size(), 3u);
  for (int n = 1; n <= 3; ++n) {
    const std::string uid = uidl[n - 1].substr(uidl[n - 1].find(' ') + 1);
    ASSERT_EQ(c->command("RETR " + std::to_string(n)).rfind("+OK", 0), 0u);
    EXPECT_EQ(read_file(dir / uid), c->multiline()) << "message " << n;
  }
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().extension(), "") << e.path();  // no .part left behind
    ++files;
  }
  EXPECT_EQ(files, 3u);
  // The summary is a report, on stderr: stdout is for data.
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("retrieved 3 of 3 message(s), ", 0), 0u) << r.err;
  std::filesystem::remove_all(dir);
  // -q: all went well, nothing is printed at all.
  const RunResult q = run_pop3kit({"retr", url("alice"), "all", "-o", dir.string(), "-q",
                                   "--plaintext", "--allow-plaintext-password"},
                                  password("alice-secret"));
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "");
  EXPECT_EQ(q.err, "");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 3);
  std::filesystem::remove_all(dir);
}

// A message the server refuses is reported; the others are stored.
TEST_F(PopCommandTest, RetrSeveralWithOneMissing) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pop3kit-retr9-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const RunResult r = run_pop3kit({"retr", url("alice"), "1", "9", "3", "-o", dir.string(),
                                   "--name", "number", "--plaintext", "--allow-plaintext-password"},
                                  password("alice-secret"));
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("RETR 9"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "1"), kMsg1);
  EXPECT_TRUE(std::filesystem::exists(dir / "3"));
  std::filesystem::remove_all(dir);
  // With -q the failure is still reported, alone.
  const RunResult q = run_pop3kit({"-q", "retr", url("alice"), "1", "9", "3", "-o", dir.string(),
                                   "--name", "number", "--plaintext", "--allow-plaintext-password"},
                                  password("alice-secret"));
  EXPECT_EQ(q.exit_code, 69) << q.err;
  expect_one_error_line(q);
  EXPECT_NE(q.err.find("RETR 9"), std::string::npos) << q.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "3"));
  EXPECT_FALSE(std::filesystem::exists(dir / "9"));
  std::filesystem::remove_all(dir);
  // Several numbers without -o: a usage error, before connecting.
  EXPECT_EQ(
      run_pop3kit({"retr", url("alice"), "1", "2", "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"))
          .exit_code,
      64);
}

TEST_F(PopCommandTest, Top) {
  const RunResult r =
      run_pop3kit({"top", url("alice"), "3", "2", "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "From: c@example.org\r\nSubject: three\r\n\r\nbody 1\r\nbody 2\r\n");
  auto c = raw("alice", "alice-secret");
  ASSERT_EQ(c->command("TOP 3 2").rfind("+OK", 0), 0u);
  EXPECT_EQ(r.out, c->multiline());
  const RunResult headers =
      run_pop3kit({"top", url("alice"), "3", "0", "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  ASSERT_EQ(headers.exit_code, 0) << headers.err;
  EXPECT_EQ(headers.out, "From: c@example.org\r\nSubject: three\r\n\r\n");
}

TEST_F(PopCommandTest, DeleThenListShowsItGone) {
  server_->clear_messages("carol");
  for (const auto& m : {kMsg1, kMsg2, kMsg3})
    server_->add_message("carol", m);
  const std::size_t before = server_->message_files("carol").size();
  const RunResult d =
      run_pop3kit({"dele", url("carol"), "2", "--plaintext", "--allow-plaintext-password"},
                  password("carol-secret"));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  // A report, not data: on stderr.
  EXPECT_EQ(d.out, "");
  EXPECT_EQ(d.err, "deleted 1 message(s)\n");
  EXPECT_EQ(server_->message_files("carol").size(), before - 1);
  const RunResult l =
      run_pop3kit({"list", url("carol"), "--plaintext", "--allow-plaintext-password"},
                  password("carol-secret"));
  ASSERT_EQ(l.exit_code, 0) << l.err;
  const auto lines = split_lines(l.out);
  ASSERT_EQ(lines.size(), 2u) << l.out;
  // Messages are renumbered in the new session: kMsg1 and kMsg3 remain.
  EXPECT_EQ(lines[0].rfind("1 " + std::to_string(dovecot_list_size(kMsg1)) + " ", 0), 0u);
  EXPECT_EQ(lines[1].rfind("2 " + std::to_string(dovecot_list_size(kMsg3)) + " ", 0), 0u);
}

// -q (before or after the subcommand): the deletion prints nothing.
TEST_F(PopCommandTest, QuietDelePrintsNothing) {
  server_->clear_messages("carol");
  for (const auto& m : {kMsg1, kMsg2, kMsg3})
    server_->add_message("carol", m);
  const RunResult d = run_pop3kit(
      {"dele", url("carol"), "1", "--quiet", "--plaintext", "--allow-plaintext-password"},
      password("carol-secret"));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "");
  EXPECT_EQ(d.err, "");
  EXPECT_EQ(server_->message_files("carol").size(), 2u);
  const RunResult e =
      run_pop3kit({"-q", "dele", url("carol"), "1", "--plaintext", "--allow-plaintext-password"},
                  password("carol-secret"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out + e.err, "");
  EXPECT_EQ(server_->message_files("carol").size(), 1u);
  // -q does not hide errors.
  const RunResult f =
      run_pop3kit({"dele", url("carol"), "7", "-q", "--plaintext", "--allow-plaintext-password"},
                  password("carol-secret"));
  EXPECT_EQ(f.exit_code, 69) << f.err;
  expect_one_error_line(f);
  EXPECT_NE(f.err.find("DELE 7"), std::string::npos) << f.err;
  EXPECT_EQ(server_->message_files("carol").size(), 1u);
}

TEST_F(PopCommandTest, RefusedDeleDeletesNothing) {
  server_->clear_messages("dave");
  for (const auto& m : {kMsg1, kMsg3})
    server_->add_message("dave", m);
  const std::size_t before = server_->message_files("dave").size();
  const RunResult r =
      run_pop3kit({"dele", url("dave"), "1", "9", "--plaintext", "--allow-plaintext-password"},
                  password("dave-secret"));
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("DELE 9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was deleted"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // Message 1 was marked, but without QUIT the server removed nothing.
  EXPECT_EQ(server_->message_files("dave").size(), before);
  const RunResult s = run_pop3kit(
      {"stat", url("dave"), "--plaintext", "--allow-plaintext-password"}, password("dave-secret"));
  EXPECT_EQ(s.out.rfind("2 ", 0), 0u) << s.out << s.err;
}

TEST_F(PopCommandTest, RetrOfMissingMessage) {
  const RunResult r =
      run_pop3kit({"retr", url("alice"), "99", "--plaintext", "--allow-plaintext-password"},
                  password("alice-secret"));
  EXPECT_EQ(r.exit_code, 69);
  expect_one_error_line(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(PopCommandTest, PasswordWithSpacesFromCommand) {
  const RunResult r = run_pop3kit({"stat", url("bob"), "--plaintext", "--allow-plaintext-password",
                                   "--password-command", "printf '%s\\n' 'pass with spaces'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 " + std::to_string(dovecot_list_size(kMsg1)) + "\n");
}

TEST_F(PopCommandTest, FailingPasswordCommandIs78) {
  const RunResult r = run_pop3kit({"stat", url("bob"), "--plaintext", "--allow-plaintext-password",
                                   "--password-command", "exit 1"});
  EXPECT_EQ(r.exit_code, 78);
  expect_one_error_line(r);
}

TEST_F(PopCommandTest, ApopNeedsNoPlaintextFlag) {
  const RunResult r =
      run_pop3kit({"stat", url("alice;auth=+APOP"), "--plaintext"}, password("alice-secret"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("3 ", 0), 0u) << r.out;
}

TEST_F(PopCommandTest, WrongPasswordIs77) {
  const RunResult r =
      run_pop3kit({"list", url("alice"), "--plaintext", "--allow-plaintext-password"},
                  password("wrong-password"));
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
  EXPECT_EQ(r.err.find("wrong-password"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  const RunResult a =
      run_pop3kit({"list", url("alice;auth=+APOP"), "--plaintext"}, password("wrong-password"));
  EXPECT_EQ(a.exit_code, 77) << a.err;
  expect_one_error_line(a);
}

TEST_F(PopCommandTest, StlsIsRequiredByDefault) {
  // The sandbox has no TLS: without --plaintext, nothing secret is sent and
  // the error says why.
  const RunResult r = run_pop3kit({"list", url("dave")}, password("dave-secret"));
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("does not offer STLS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pops://"), std::string::npos) << r.err;
}

TEST_F(PopCommandTest, PlaintextAloneUsesScram) {
  // --plaintext without the second opt-in: the choice skips USER/PASS, PLAIN
  // and LOGIN and lands on SCRAM, which never sends the password.
  const RunResult r =
      run_pop3kit({"-v", "stat", url("bob"), "--plaintext"}, password("pass with spaces"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("C: AUTH SCRAM-SHA-256"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("C: USER"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pass with spaces"), std::string::npos) << r.err;
}

TEST_F(PopCommandTest, ReusablePasswordOverPlaintextNeedsSecondFlag) {
  for (const char* auth : {"alice;auth=USER", "alice;auth=PLAIN", "alice;auth=LOGIN"}) {
    // Refused before the password is read or a connection is made.
    RunResult r = run_pop3kit({"list", url(auth), "--plaintext"});
    EXPECT_EQ(r.exit_code, 78) << auth << ": " << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("--allow-plaintext-password"), std::string::npos) << r.err;
    r = run_pop3kit({"stat", url(auth), "--plaintext", "--allow-plaintext-password"},
                    password("alice-secret"));
    EXPECT_EQ(r.exit_code, 0) << auth << ": " << r.err;
    EXPECT_EQ(r.out.rfind("3 ", 0), 0u) << r.out;
  }
  // The old flag says what replaced it.
  const RunResult old = run_pop3kit({"list", url("alice"), "--allow-plaintext"});
  EXPECT_EQ(old.exit_code, 64) << old.err;
  EXPECT_NE(old.err.find("--plaintext"), std::string::npos) << old.err;
  // Without a password: the password is what is missing.
  const RunResult r = run_pop3kit({"list", url("alice"), "--plaintext"});
  EXPECT_EQ(r.exit_code, 78);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("POP3KIT_PASSWORD"), std::string::npos) << r.err;
}

TEST_F(PopCommandTest, NamedSaslMechanisms) {
  for (const char* mech : {"CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"}) {
    const RunResult r =
        run_pop3kit({"-v", "stat", url(std::string("alice;auth=") + mech), "--plaintext"},
                    password("alice-secret"));
    EXPECT_EQ(r.exit_code, 0) << mech << ": " << r.err;
    EXPECT_NE(r.err.find(std::string("C: AUTH ") + mech), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("alice-secret"), std::string::npos) << r.err;
  }
  // A wrong password names the mechanism and says the credentials were refused.
  const RunResult bad = run_pop3kit({"stat", url("alice;auth=SCRAM-SHA-256"), "--plaintext"},
                                    password("wrong-password"));
  EXPECT_EQ(bad.exit_code, 77) << bad.err;
  expect_one_error_line(bad);
  EXPECT_NE(bad.err.find("login with SCRAM-SHA-256 failed"), std::string::npos) << bad.err;
  // A mechanism pop3kit does not know is refused before connecting.
  const RunResult unknown =
      run_pop3kit({"stat", url("alice;auth=GSSAPI"), "--plaintext"}, password("alice-secret"));
  EXPECT_EQ(unknown.exit_code, 78) << unknown.err;
  EXPECT_NE(unknown.err.find("GSSAPI is not supported"), std::string::npos) << unknown.err;
}

TEST_F(PopCommandTest, UsageErrors) {
  EXPECT_EQ(run_pop3kit({}).exit_code, 64);
  EXPECT_EQ(run_pop3kit({"frobnicate", url("alice")}).exit_code, 64);
  EXPECT_EQ(run_pop3kit({"retr", url("alice")}).exit_code, 64);
  EXPECT_EQ(run_pop3kit({"retr", url("alice"), "0", "--plaintext", "--allow-plaintext-password"})
                .exit_code,
            64);
  EXPECT_EQ(run_pop3kit({"list", "pop://alice:pw@127.0.0.1"}).exit_code, 64);
  EXPECT_EQ(run_pop3kit({"stat", "pop://127.0.0.1:" + std::to_string(server_->port())}).exit_code,
            64);
  const RunResult r = run_pop3kit({"list", "imap://x"});
  EXPECT_EQ(r.exit_code, 64);
  expect_one_error_line(r);
}

// --help (and each command's) exits 0 and shows the exit statuses.
TEST_F(PopCommandTest, HelpExitsZero) {
  const RunResult h = run_pop3kit({"--help"});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_NE(h.out.find("EXIT STATUS"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("\n  73  "), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("-q,--quiet"), std::string::npos) << h.out;
  for (const char* cmd : {"capa", "stat", "list", "retr", "top", "dele"}) {
    const RunResult r = run_pop3kit({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find(std::string("pop3kit ") + cmd), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "") << cmd;
  }
  EXPECT_EQ(run_pop3kit({"--version"}).exit_code, 0);
}

// An unknown subcommand is named, with the commands and a close guess.
TEST_F(PopCommandTest, UnknownCommand) {
  RunResult r = run_pop3kit({"lst", url("alice")});
  EXPECT_EQ(r.exit_code, 64);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("unknown command \"lst\" (did you mean list?)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("capa, stat, list, retr, top, dele"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // After global options too; no guess for a word close to nothing.
  r = run_pop3kit({"--timeout", "5", "-v", "frobnicate", url("alice")});
  EXPECT_EQ(r.exit_code, 64);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\"; the commands are"), std::string::npos)
      << r.err;
  // No command at all.
  r = run_pop3kit({});
  EXPECT_EQ(r.exit_code, 64);
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("a command is required: capa, stat"), std::string::npos) << r.err;
}

// --pin takes one value per flag (--help shows one), is repeatable, and the
// word after its value is the URL.
TEST_F(PopCommandTest, PinTakesOneValue) {
  const RunResult h = run_pop3kit({"list", "--help"});
  EXPECT_NE(h.out.find("--pin FINGERPRINT "), std::string::npos) << h.out;
  const std::string good = "cert:" + std::string(64, 'a');
  const std::string closed = "pops://127.0.0.1:" + std::to_string(closed_port());
  // The URL after the pin is the URL: connecting to it is refused.
  RunResult r = run_pop3kit({"capa", "--pin", good, closed});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  // Both pins are taken (the second one is checked and refused).
  r = run_pop3kit({"capa", "--pin", good, "--pin", "spki:nothex", closed});
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("bad --pin \"spki:nothex\""), std::string::npos) << r.err;
}

TEST_F(PopCommandTest, Ipv6LiteralAndFamilies) {
  if (!have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this host";
  const std::string port = std::to_string(server_->port());
  RunResult r = run_pop3kit(
      {"stat", "pop://alice@[::1]:" + port, "--plaintext", "--allow-plaintext-password", "-6"},
      password("alice-secret"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("3 ", 0), 0u) << r.out;
  // -4 with a name: IPv4 only ("localhost" may have no IPv6 address here).
  r = run_pop3kit({"capa", "pop://localhost:" + port, "-4", "--plaintext"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(PopCommandTest, UnknownHostIs68) {
  const RunResult r = run_pop3kit({"capa", "pop://no-such-host.invalid"});
  EXPECT_EQ(r.exit_code, 68) << r.err;
  expect_one_error_line(r);
}

TEST_F(PopCommandTest, ConnectionRefusedIs69) {
  const RunResult r = run_pop3kit({"capa", "pop://127.0.0.1:" + std::to_string(closed_port())});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
}

TEST_F(PopCommandTest, VerboseTraceRedactsPassword) {
  const RunResult r =
      run_pop3kit({"-v", "stat", url("bob;auth=USER"), "--plaintext", "--allow-plaintext-password"},
                  password("pass with spaces"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("C: USER bob\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("C: PASS <redacted>\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("C: STAT\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("S: +OK"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pass with spaces"), std::string::npos) << r.err;
  // -v after the subcommand works too; APOP's digest is redacted as well.
  const RunResult a =
      run_pop3kit({"stat", url("alice;auth=+APOP"), "-v", "--plaintext"}, password("alice-secret"));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.err.find("C: APOP alice <redacted>\n"), std::string::npos) << a.err;
  EXPECT_EQ(a.err.find("alice-secret"), std::string::npos) << a.err;
}

TEST_F(PopCommandTest, FullDiskIs74) {
  RunOptions o = password("alice-secret");
  o.stdout_to = StdoutTo::dev_full;
  const RunResult r =
      run_pop3kit({"retr", url("alice"), "2", "--plaintext", "--allow-plaintext-password"}, o);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
}

TEST_F(PopCommandTest, BrokenPipeIs74) {
  RunOptions o = password("alice-secret");
  o.stdout_to = StdoutTo::closed_pipe;
  const RunResult r =
      run_pop3kit({"retr", url("alice"), "1", "--plaintext", "--allow-plaintext-password"}, o);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("Broken pipe"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pop3kit::test
