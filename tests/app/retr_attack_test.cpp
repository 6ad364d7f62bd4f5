// The pop3kit command under attack from its own environment: started with
// standard descriptors closed (the socket must never take their numbers),
// ended by SIGINT/SIGTERM/SIGHUP in the middle of retr -o (no temporary file
// may stay, and the status is the signal's), a second run into the same
// directory (refused, naming the first), and a body of ".." lines on
// standard output (written in blocks, not a write(2) per line).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "pop3kit/transport.hpp"
#include "run_pop3kit.hpp"
#include "scripted_server.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

const std::string kCapa = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";

// A body whose lines would be commands if they reached the server.
const std::string kEvilBody = "Subject: x\r\n\r\nDELE 1\r\nQUIT\r\n";

std::string url(std::uint16_t port) {
  return "pop://alice@127.0.0.1:" + std::to_string(port);
}

RunOptions with_password() {
  RunOptions o;
  o.env["POP3KIT_PASSWORD"] = "secret";
  return o;
}

std::vector<std::string> args(std::vector<std::string> a) {
  a.push_back("--plaintext");
  a.push_back("--allow-plaintext-password");
  return a;
}

// retr URL 1, not pipelined: USER, PASS, RETR 1 (whose body holds command
// lines), QUIT.
std::vector<Step> single_retr() {
  return {
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", "-ERR not supported\r\n"},
      {"USER alice", "+OK\r\n"},
      {"PASS secret", "+OK\r\n"},
      {"RETR 1", "+OK\r\n" + kEvilBody + ".\r\n"},
      {"QUIT", "+OK bye\r\n"},
  };
}

const std::vector<std::string> kSingleRetrLines{"CAPA", "USER alice", "PASS secret", "RETR 1",
                                                "QUIT"};

class AttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name)
      if (c == '/') c = '_';  // parameterised: "Name/1"
    dir_ =
        fs::temp_directory_path() / ("pop3kit-attack-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> entries(const fs::path& sub = {}) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / sub, ec))
      out.push_back(e.path().filename().string());
    return out;
  }

  // Waits (up to 20 s) until something is in the directory.
  bool wait_for_entry(const fs::path& sub = {}) const {
    for (int i = 0; i < 2000; ++i) {
      if (!entries(sub).empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  fs::path dir_;
};

// fd 1 closed: the message body must go nowhere, not to the server.
TEST_F(AttackTest, ClosedStdoutNeverReachesTheServer) {
  ScriptedServer s(single_retr());
  RunOptions o = with_password();
  o.stdout_to = StdoutTo::closed;
  const RunResult r = run_pop3kit(args({"retr", url(s.port()), "1"}), o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(s.received(), kSingleRetrLines);
}

// fd 2 closed with -v: the trace must go nowhere, not to the server.
TEST_F(AttackTest, ClosedStderrNeverReachesTheServer) {
  ScriptedServer s(single_retr());
  RunOptions o = with_password();
  o.close_stderr = true;
  const RunResult r = run_pop3kit(args({"retr", url(s.port()), "1", "-v"}), o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(s.received(), kSingleRetrLines);
  EXPECT_EQ(r.out, kEvilBody);
}

// fds 1 and 2 closed with retr -o -v: neither the trace nor a report
// reaches the server or a message file.
TEST_F(AttackTest, ClosedStdoutAndStderrWithRetrDir) {
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n+OK\r\n"},
      {"LIST", ""},
      {"UIDL", "+OK\r\n1 40\r\n.\r\n+OK\r\n1 uid-one\r\n.\r\n"},
      {"RETR 1", "+OK\r\n" + kEvilBody + ".\r\n"},
      {"QUIT", "+OK bye\r\n"},
  });
  RunOptions o = with_password();
  o.stdout_to = StdoutTo::closed;
  o.close_stderr = true;
  const RunResult r =
      run_pop3kit(args({"retr", url(s.port()), "all", "-o", dir_.string(), "-v"}), o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(s.received(), (std::vector<std::string>{"CAPA", "USER alice", "PASS secret", "LIST",
                                                    "UIDL", "RETR 1", "QUIT"}));
  std::ifstream in(dir_ / "uid-one", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), kEvilBody);
  EXPECT_EQ(entries(), std::vector<std::string>{"uid-one"});
}

// All three closed: the command still works (on /dev/null), exit 0.
TEST_F(AttackTest, AllStandardDescriptorsClosed) {
  ScriptedServer s(single_retr());
  RunOptions o = with_password();
  o.stdout_to = StdoutTo::closed;
  o.close_stderr = true;
  o.close_stdin = true;
  const RunResult r = run_pop3kit(args({"retr", url(s.port()), "1", "-v"}), o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(s.error(), "");
  EXPECT_EQ(s.received(), kSingleRetrLines);
}

// The library on its own: a socket that gets 0, 1 or 2 is moved above them.
TEST(TransportTest, SocketNeverTakesAStandardDescriptor) {
  ScriptedServer s(std::vector<Step>{{"", "+OK\r\n"}});
  const auto check = [&] {
    for (int fd = 0; fd <= 2; ++fd)
      ::close(fd);
    auto t = net::connect_tcp("127.0.0.1", s.port(), std::chrono::seconds(5), net::Family::any);
    if (!t) std::_Exit(2);
    const int fd = (*t)->release();
    std::_Exit(fd > 2 ? 0 : 1);
  };
  EXPECT_EXIT(check(), ::testing::ExitedWithCode(0), "");
}

// A body of ".." lines (a chunk each from the library) on standard output:
// written in blocks. Standard output is a SOCK_SEQPACKET socket, so every
// write(2) arrives as one record and the records can be counted.
TEST_F(AttackTest, DotStuffedBodyIsWrittenInBlocks) {
  std::string wire, body;
  for (int i = 0; i < 100000; ++i) {
    wire += "...\r\n";
    body += "..\r\n";
  }
  ScriptedServer s({
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", "-ERR not supported\r\n"},
      {"USER alice", "+OK\r\n"},
      {"PASS secret", "+OK\r\n"},
      {"RETR 1", "+OK\r\n" + wire + ".\r\n"},
      {"QUIT", "+OK bye\r\n"},
  });
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  std::size_t records = 0;
  std::string got;
  std::thread reader([&] {
    std::string buf(1 << 20, '\0');
    for (;;) {
      const ssize_t n = ::recv(sv[0], buf.data(), buf.size(), 0);
      if (n <= 0) break;
      ++records;
      got.append(buf.data(), static_cast<std::size_t>(n));
    }
  });
  RunOptions o = with_password();
  o.stdout_to = StdoutTo::fd;
  o.stdout_fd = sv[1];
  const RunResult r = run_pop3kit(args({"retr", url(s.port()), "1"}), o);
  ::close(sv[1]);
  reader.join();
  ::close(sv[0]);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
  // 400 000 octets: 7 blocks of 64 KiB; one write per line would be 100 000.
  EXPECT_LE(records, 16U);
}

// 1 MB of 100-octet lines, without the end of the message.
std::string half_a_message() {
  std::string out;
  while (out.size() < 1024 * 1024)
    out += std::string(98, 'x') + "\r\n";
  return out;
}

// A server that sends half of message 1 and then nothing: the command is
// ended by a signal in the middle of the body.
std::vector<Step> stalling_retr() {
  return {
      {"", "+OK POP3 ready\r\n"},
      {"CAPA", kCapa},
      {"USER alice", ""},
      {"PASS secret", "+OK\r\n+OK\r\n"},
      {"LIST", ""},
      {"UIDL", "+OK\r\n1 3000000\r\n.\r\n+OK\r\n1 uid-one\r\n.\r\n"},
      {"RETR 1", "+OK\r\n" + half_a_message()},
  };
}

class SignalTest : public AttackTest, public ::testing::WithParamInterface<int> {};

TEST_P(SignalTest, RemovesTheTemporaryFileAndEndsWithTheSignal) {
  const int sig = GetParam();
  ScriptedServer s(stalling_retr());
  Started p =
      start_pop3kit(args({"retr", url(s.port()), "all", "-o", dir_.string()}), with_password());
  if (!wait_for_entry()) {
    ::kill(p.pid, SIGKILL);
    FAIL() << "no temporary file appeared: " << finish_pop3kit(p).err;
  }
  ASSERT_EQ(::kill(p.pid, sig), 0);
  const RunResult r = finish_pop3kit(p);
  EXPECT_EQ(r.exit_code, 128 + sig) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalTest, ::testing::Values(SIGINT, SIGTERM, SIGHUP));

// fetch into a Maildir: the tmp/ file of the message being written goes
// too (the spec would allow it to stay; nothing need be left).
TEST_P(SignalTest, FetchRemovesItsMaildirTmpFile) {
  const int sig = GetParam();
  ScriptedServer s(stalling_retr());
  const std::string maildir = (dir_ / "Maildir").string();
  Started p = start_pop3kit(args({"fetch", url(s.port()), "--to", "maildir:" + maildir, "--state",
                                  (dir_ / "state.db").string()}),
                            with_password());
  if (!wait_for_entry("Maildir/tmp")) {
    ::kill(p.pid, SIGKILL);
    FAIL() << "no tmp/ file appeared: " << finish_pop3kit(p).err;
  }
  ASSERT_EQ(::kill(p.pid, sig), 0);
  const RunResult r = finish_pop3kit(p);
  EXPECT_EQ(r.exit_code, 128 + sig) << r.err;
  EXPECT_EQ(entries("Maildir/tmp"), std::vector<std::string>{});
  EXPECT_EQ(entries("Maildir/new"), std::vector<std::string>{});
}

// A second run into a directory another run is writing into is refused
// (exit 75) before it connects, naming the first run's process.
TEST_F(AttackTest, SecondRunIntoTheSameDirectoryIsRefused) {
  ScriptedServer s(stalling_retr());
  Started first =
      start_pop3kit(args({"retr", url(s.port()), "all", "-o", dir_.string()}), with_password());
  ASSERT_TRUE(wait_for_entry());
  // Port 1 on loopback: nobody listens; the refusal comes before connecting.
  const RunResult second =
      run_pop3kit(args({"retr", url(1), "all", "-o", dir_.string()}), with_password());
  EXPECT_EQ(second.exit_code, 75) << second.err;
  EXPECT_NE(second.err.find("is in use by process " + std::to_string(first.pid)), std::string::npos)
      << second.err;
  ::kill(first.pid, SIGTERM);
  EXPECT_EQ(finish_pop3kit(first).exit_code, 128 + SIGTERM);
  EXPECT_EQ(entries(), std::vector<std::string>{});
}

}  // namespace
}  // namespace pop3kit::test
