// Delivery through a command: exit status, line ends, abort, EPIPE, fds.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "pop3kit/delivery.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace pop3kit::store {
namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pop3kit-mda-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = tmpl;
  }
  void TearDown() override { fs::remove_all(top_); }

  static std::unique_ptr<Destination> make(const std::string& command, bool crlf = false) {
    auto d = parse_destination("mda:" + command, DestinationOptions{.mda_crlf = crlf});
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE((*d)->open().ok());
    return std::move(*d);
  }
  static Result<Stored> deliver(Destination& d, std::string_view msg, std::size_t chunk = 3) {
    auto res = d.reserve("u");
    if (auto r = d.begin(*res); !r) return std::move(r).error();
    for (std::size_t i = 0; i < msg.size(); i += chunk) {
      if (auto r = d.write(msg.substr(i, chunk)); !r) return std::move(r).error();
    }
    return d.end();
  }
  std::string out(const char* name) const { return (top_ / name).string(); }

  fs::path top_;
};

TEST_F(MdaTest, ExitZeroDeliversWithLfLineEnds) {
  auto d = make("cat > '" + out("m") + "'");
  EXPECT_EQ(d->durability(), Durability::per_message);
  auto s = deliver(*d, "Subject: x\r\n\r\n..dot\r\nlone\rCR\r\n");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(read_file(out("m")), "Subject: x\n\n..dot\nlone\rCR\n");
  EXPECT_EQ(s->size, std::string("Subject: x\n\n..dot\nlone\rCR\n").size());
  EXPECT_EQ(s->location, "");
  EXPECT_TRUE(d->commit().ok());
  EXPECT_FALSE(*d->recover(Reservation{"u", "", 0}));
  // The same destination runs one command per message.
  ASSERT_TRUE(deliver(*d, "second\r\n").ok());
  EXPECT_EQ(read_file(out("m")), "second\n");
}

TEST_F(MdaTest, CrlfOptionKeepsTheLineEnds) {
  auto d = make("cat > '" + out("m") + "'", true);
  ASSERT_TRUE(deliver(*d, "a\r\nb\r\n").ok());
  EXPECT_EQ(read_file(out("m")), "a\r\nb\r\n");
}

TEST_F(MdaTest, ANonZeroExitIsAnError) {
  auto d = make("cat > /dev/null; exit 1");
  auto s = deliver(*d, "x\r\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, make_error_code(errc::sink_failed));
  EXPECT_EQ(s.error().message, "mda 'cat > /dev/null; exit 1': the command exited with status 1");
}

TEST_F(MdaTest, AKilledCommandIsAnError) {
  auto d = make("cat > /dev/null; kill -KILL $$");
  auto s = deliver(*d, "x\r\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "mda 'cat > /dev/null; kill -KILL $$': the command was killed by signal 9 (SIGKILL)");
}

// A message cut off (abort) must never reach the command as if complete:
// the command starts only once the whole message is spooled.
TEST_F(MdaTest, AbortNeverLetsTheCommandSeeACutMessage) {
  const std::string part = out("part");
  const std::string full = out("full");
  auto d = make("cat | (cat > '" + part + "' && mv '" + part + "' '" + full + "')");
  ASSERT_TRUE(d->begin(*d->reserve("u")).ok());
  ASSERT_TRUE(d->write("Subject: half\r\n\r\nthe first half\r\n").ok());
  ASSERT_TRUE(d->write(std::string(300 * 1024, 'x')).ok());
  d->abort();
  std::this_thread::sleep_for(300ms);  // what would run after an EOF has had time
  EXPECT_FALSE(fs::exists(full));
  EXPECT_FALSE(fs::exists(part));
  // And the destination goes on with the next message.
  ASSERT_TRUE(deliver(*d, "next\r\n").ok());
  EXPECT_EQ(read_file(full), "next\n");
}

// The same when the whole process dies mid-message (SIGKILL, a crash): with
// a pipe the command would see an end of file and deliver half a message.
TEST_F(MdaTest, AKilledHostNeverDeliversACutMessage) {
  const std::string full = out("full");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto d = make("cat > '" + full + "'");
    if (!d->begin(*d->reserve("u")).ok()) ::_exit(2);
    if (!d->write("Subject: half\r\n\r\n" + std::string(300 * 1024, 'x')).ok()) ::_exit(3);
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(fs::exists(full));
}

TEST_F(MdaTest, ACommandThatDoesNotReadReportsItsStatus) {
  auto d = make("exit 3");
  auto s = deliver(*d, std::string(2 * 1024 * 1024, 'x'), 64 * 1024);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "mda 'exit 3': the command exited with status 3");
}

TEST_F(MdaTest, ItsOutputGoesToOurStandardErrorAndNoFdLeaks) {
  // A descriptor opened without O_CLOEXEC by someone else in the process.
  const int leaky = ::open("/dev/null", O_RDONLY);  // NOLINT(android-cloexec-open)
  ASSERT_GE(leaky, 3);
  const std::string err_file = out("stderr");
  const std::string out_file = out("stdout");
  const int saved_out = ::dup(1);
  const int saved_err = ::dup(2);
  const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ::dup2(e, 2);
  ::dup2(o, 1);
  auto d = make("cat > /dev/null; echo from-the-mda; ls /proc/$$/fd > '" + out("fds") + "'");
  auto s = deliver(*d, "x\r\n");
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  for (const int fd : {e, o, saved_out, saved_err, leaky})
    ::close(fd);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(read_file(err_file), "from-the-mda\n");
  EXPECT_EQ(read_file(out_file), "");
  std::set<std::string> fds;
  std::istringstream listing(read_file(out("fds")));
  for (std::string fd; listing >> fd;)
    fds.insert(fd);
  // 0-2, and the shell's own redirection of the ls (fd 1 is saved above 9).
  for (const auto& fd : fds) {
    EXPECT_TRUE(fd == "0" || fd == "1" || fd == "2" || std::stoi(fd) >= 10) << fd;
  }
  EXPECT_EQ(fds.count(std::to_string(leaky)), 0U);
}

// A command that never ends does not hang the fetch: it is stopped after
// mda_timeout with its whole process group (a child that ignores SIGTERM
// included), and the message is not counted as delivered.
TEST_F(MdaTest, AHungCommandIsStoppedAfterItsTimeout) {
  auto d = parse_destination("mda:trap '' TERM; sleep 60 & wait; sleep 60",
                             DestinationOptions{.mda_timeout = 300ms});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->open().ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto s = deliver(**d, "Subject: x\r\n\r\nbody\r\n");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, make_error_code(errc::sink_failed));
  EXPECT_NE(s.error().message.find("did not finish within 300 ms"), std::string::npos)
      << s.error().message;
  // Generous: 300 ms, then up to 5 s of grace before SIGKILL.
  EXPECT_LT(took, 20s);
}

}  // namespace
}  // namespace pop3kit::store
