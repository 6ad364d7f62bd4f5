// retr all -o DIR against a scripted server: the listing goes with the login
// when the server pipelines, and a file that cannot be written is reported
// with its reason and exit status 74, the other messages stored.
#include <gtest/gtest.h>
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

const std::string kCapa = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";

// Greeting and CAPA, then USER, PASS, LIST and UIDL all read before any of
// them is answered (a client that waited for an answer would stall here),
// then `rest`.
std::vector<Step> pipelined_login(std::vector<Step> rest) {
  std::vector<Step> s{
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", ""},
      {"LIST", ""},
      {"UIDL",
       "+OK\r\n+OK logged in\r\n+OK\r\n1 5\r\n2 5\r\n.\r\n+OK\r\n1 uid-one\r\n2 uid-two\r\n.\r\n"},
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

  RunResult run(const ScriptedServer& s, const std::string& user = "alice") const {
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "secret";
    return run_pop3kit({"retr", "pop://" + user + "@127.0.0.1:" + std::to_string(s.port()), "all",
                        "-o", dir_.string(), "--plaintext", "--allow-plaintext-password"},
                       o);
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
  EXPECT_NE(r.out.find("retrieved 2 of 2 message(s), 10 octets"), std::string::npos) << r.out;
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

// The first message's .part cannot be created (a directory is in the way):
// exit 74 with the reason, the second message stored, nothing else left.
TEST_F(RetrDirTest, UnwritableFileIsReported) {
  fs::create_directories(dir_ / "uid-one.part");
  ScriptedServer s(pipelined_login({
      {"RETR 1", ""},
      {"RETR 2", "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run(s);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  EXPECT_NE(r.err.find("1 message(s) not retrieved; the first: RETR 1: storing the message "
                       "failed: Is a directory"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_FALSE(fs::exists(dir_ / "uid-one"));
  EXPECT_EQ(read("uid-two"), "two\r\n");
  EXPECT_NE(r.out.find("retrieved 1 of 2 message(s)"), std::string::npos) << r.out;
}

// A refused password: the queued LIST and UIDL answers are not a listing;
// the login's error is reported (77) and no directory entry is written.
TEST_F(RetrDirTest, RefusedPasswordIsTheError) {
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", ""},
      {"LIST", ""},
      {"UIDL", "+OK\r\n-ERR [AUTH] invalid password\r\n-ERR not logged in\r\n-ERR\r\n"},
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
