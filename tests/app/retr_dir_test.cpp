// retr all -o DIR against a scripted server: the listing goes with the login
// when the server pipelines, and a file that cannot be written is reported
// with its reason and exit status 74, the other messages stored; a destination
// that cannot take the messages is refused before connecting (73); the
// summary is a report on stderr, and -q drops it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "scripted_server.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

// A loopback TCP port nobody listens on (bound, then released).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

const std::string kCapa = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";

// Greeting and CAPA, then USER and PASS read before either is answered,
// then LIST and UIDL read before either is answered (a client that waited
// for an answer would stall here), then `rest`.
std::vector<Step> pipelined_login(std::vector<Step> rest) {
  std::vector<Step> s{
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n+OK logged in\r\n"},
      {"LIST", ""},
      {"UIDL", "+OK\r\n1 5\r\n2 5\r\n.\r\n+OK\r\n1 uid-one\r\n2 uid-two\r\n.\r\n"},
  };
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

class RetrDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pop3kit-retr-dir-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult run(const ScriptedServer& s, const std::string& user = "alice",
                const std::vector<std::string>& more = {}) const {
    return run_port(s.port(), user, more);
  }
  RunResult run_port(std::uint16_t port, const std::string& user = "alice",
                     const std::vector<std::string>& more = {}) const {
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "secret";
    std::vector<std::string> args{"retr",
                                  "pop://" + user + "@127.0.0.1:" + std::to_string(port),
                                  "all",
                                  "-o",
                                  dir_.string(),
                                  "--plaintext",
                                  "--allow-plaintext-password"};
    args.insert(args.end(), more.begin(), more.end());
    return run_pop3kit(args, o);
  }

  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(RetrDirTest, ListingGoesWithTheLogin) {
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(read("uid-one"), "one\r\n");
  EXPECT_EQ(read("uid-two"), "two\r\n");
  // The summary is a report: on stderr; stdout stays empty.
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "retrieved 2 of 2 message(s), 10 octets, into " + dir_.string() + "\n");
}

// USER/PASS asked for by name (";auth=USER") carries the listing too.
TEST_F(RetrDirTest, UserByNameCarriesTheListing) {
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n-ERR [SYS/PERM] gone\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s, "alice;auth=USER");
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(read("uid-one"), "one\r\n");
  EXPECT_FALSE(fs::exists(dir_ / "uid-two"));
  EXPECT_NE(r.err.find("RETR 2: server says \"[SYS/PERM] gone\""), std::string::npos) << r.err;
}

// The first message's name is taken (a directory is in the way): exit 74
// with the reason, the second message stored, the directory left alone.
TEST_F(RetrDirTest, TakenNameIsReported) {
  fs::create_directories(dir_ / "uid-one");
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  // One error line, with the summary.
  EXPECT_EQ(r.err, "pop3kit: retrieved 1 of 2 message(s), 5 octets, into " + dir_.string() +
                       "; 1 message(s) not stored; the first: RETR 1: not stored: a file named "
                       "'uid-one' is already in the directory (pop3kit replaces no file)\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(s.error(), "");
  EXPECT_TRUE(fs::is_directory(dir_ / "uid-one"));
  EXPECT_EQ(read("uid-two"), "two\r\n");
}

// UIDs "x.part" and "x": two messages, two files, and "2 of 2" is true.
TEST_F(RetrDirTest, UidAndUidDotPartAreTwoFiles) {
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n+OK\r\n"},
      {"LIST", ""},
      {"UIDL", "+OK\r\n1 5\r\n2 5\r\n.\r\n+OK\r\n1 x.part\r\n2 x\r\n.\r\n"},
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  });
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(read("x.part"), "one\r\n");
  EXPECT_EQ(read("x"), "two\r\n");
}

// A UID equal to a file already in DIR ("notes.txt"), and a symbolic link
// planted under the old temporary name of the other ("uid-two.part"):
// the user's file is not replaced, nothing is written through the link,
// and the summary counts only what was stored (exit 74).
TEST_F(RetrDirTest, FilesAlreadyThereAreNeverReplacedOrFollowed) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "notes.txt") << "my notes";
  const fs::path victim = dir_.string() + "-victim";
  std::ofstream(victim) << "victim";
  fs::create_symlink(victim, dir_ / "uid-two.part");
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n+OK\r\n"},
      {"LIST", ""},
      {"UIDL", "+OK\r\n1 5\r\n2 5\r\n.\r\n+OK\r\n1 notes.txt\r\n2 uid-two\r\n.\r\n"},
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  });
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  EXPECT_NE(r.err.find("retrieved 1 of 2 message(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("RETR 1: not stored: a file named 'notes.txt' is already in the directory"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read("notes.txt"), "my notes");
  EXPECT_EQ(read("uid-two"), "two\r\n");
  EXPECT_TRUE(fs::is_symlink(dir_ / "uid-two.part"));
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "victim");
  fs::remove(victim);
}

// -o DIR with control characters: shown escaped in the summary and in
// errors, never raw to the terminal.
TEST_F(RetrDirTest, DirectoryNameIsEscaped) {
  const fs::path plain = dir_;
  dir_ = dir_.string() + "-\x1b]0;owned\x07";
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "retrieved 2 of 2 message(s), 10 octets, into " + plain.string() +
                       "-\\x1b]0;owned\\x07\n");
  fs::remove_all(dir_);
  {
    std::ofstream(dir_) << "a file";
    const RunResult e = run_port(closed_port());
    EXPECT_EQ(e.exit_code, 73) << e.err;
    EXPECT_EQ(e.err.find('\x1b'), std::string::npos) << e.err;
    EXPECT_NE(e.err.find("\\x1b]0;owned\\x07' exists and is not a directory"), std::string::npos)
        << e.err;
  }
  fs::remove_all(dir_);
  dir_ = plain;
}

// -q: nothing printed when all went well.
TEST_F(RetrDirTest, QuietPrintsNothing) {
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s, "alice", {"-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(read("uid-two"), "two\r\n");
}

// A destination that is a file, or a directory that cannot be written to,
// is refused before connecting (the port has no server: connecting would
// fail with 69), exit 73.
TEST_F(RetrDirTest, UnusableDestinationIsRefusedBeforeConnecting) {
  const std::uint16_t port = closed_port();
  {
    std::ofstream(dir_) << "a file";
    const RunResult r = run_port(port);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_EQ(r.err, "pop3kit: '" + dir_.string() + "' exists and is not a directory\n");
    fs::remove(dir_);
  }
  {
    const fs::path inside = dir_ / "sub";  // a path through a file
    std::ofstream(dir_) << "a file";
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "secret";
    const RunResult r =
        run_pop3kit({"retr", "pop://alice@127.0.0.1:" + std::to_string(port), "1", "2", "-o",
                     inside.string(), "--plaintext", "--allow-plaintext-password"},
                    o);
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_NE(r.err.find("cannot create the directory"), std::string::npos) << r.err;
    fs::remove(dir_);
  }
  if (::geteuid() == 0) {
    // root may write anywhere: the permission case is for other users.
    return;
  }
  fs::create_directory(dir_);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  const RunResult r = run_port(port);
  EXPECT_EQ(r.exit_code, 73) << r.err;
  EXPECT_NE(r.err.find("cannot create files in the directory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  fs::permissions(dir_, fs::perms::owner_all);
}

// A refused password: the queued LIST and UIDL answers are not a listing;
// the login's error is reported (77) and no directory entry is written.
TEST_F(RetrDirTest, RefusedPasswordIsTheError) {
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n-ERR [AUTH] invalid password\r\n"},
      {"QUIT", "+OK\r\n"},
  });
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 77) << r.err;
  EXPECT_NE(r.err.find("login with USER/PASS failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid password"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace pop3kit::test
