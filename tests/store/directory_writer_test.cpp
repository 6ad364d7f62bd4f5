// DirectoryWriter (retr -o DIR): one file per message; its error paths;
// and through a Spooler, as retr -o runs it. The handler is driven as the
// library drives it during retrieve_many.
#include "pop3kit/directory_writer.hpp"
#include "pop3kit/spooler.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

namespace pop3kit::store {
namespace {

namespace fs = std::filesystem;

class DirectoryWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pop3kit-writer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }

  static std::map<std::uint64_t, std::string> names(std::initializer_list<std::uint64_t> ns) {
    std::map<std::uint64_t, std::string> out;
    for (auto n : ns)
      out[n] = "m" + std::to_string(n);
    return out;
  }

  // One whole message, in chunks of `chunk` octets.
  static void deliver(MessageHandler& w, std::uint64_t n, const std::string& body,
                      std::size_t chunk = 1000) {
    ASSERT_FALSE(w.begin(n));
    for (std::size_t i = 0; i < body.size(); i += chunk) {
      ASSERT_FALSE(w.data(n, std::string_view(body).substr(i, chunk)));
    }
    ASSERT_FALSE(w.end(n, body.size()));
  }

  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      out.insert(e.path().filename().string());
    return out;
  }

  fs::path dir_;
};

TEST_F(DirectoryWriterTest, StoresSmallAndLargeMessages) {
  const std::string small = "Subject: a\r\n\r\nbody\r\n";
  std::string large;
  for (int i = 0; large.size() < 3 * 1024 * 1024; ++i)
    large += "line " + std::to_string(i) + "\r\n";
  DirectoryWriter w(dir_.string(), names({1, 2, 3}));
  deliver(w, 1, small);
  deliver(w, 2, large, 777);
  deliver(w, 3, "");
  w.finish();
  EXPECT_EQ(w.stored(), 3U);
  EXPECT_EQ(w.octets(), small.size() + large.size());
  EXPECT_EQ(w.failures(), 0U);
  EXPECT_EQ(read("m1"), small);
  EXPECT_EQ(read("m2"), large);
  EXPECT_EQ(read("m3"), "");
  EXPECT_EQ(files(), (std::set<std::string>{"m1", "m2", "m3"}));
}

// A message refused by the server, and one cut off after some blocks were
// handed over: no file for either, no .part, the first in retrieval order is
// the one reported.
TEST_F(DirectoryWriterTest, RetrievalFailuresLeaveNothing) {
  DirectoryWriter w(dir_.string(), names({1, 2, 3, 4}));
  ASSERT_FALSE(w.begin(1));
  ASSERT_FALSE(w.data(1, std::string(600 * 1024, 'x')));  // two blocks handed over
  w.failed(1, Error(errc::sink_failed, "cut off"));
  w.failed(2, Error(errc::server_error, "RETR 2: server says \"gone\""));
  deliver(w, 3, "three\r\n");
  ASSERT_FALSE(w.begin(4));
  ASSERT_FALSE(w.data(4, "partial"));
  w.failed(4, Error(errc::server_error, "dropped"));
  w.finish();
  EXPECT_EQ(w.stored(), 1U);
  EXPECT_EQ(w.failures(), 3U);
  EXPECT_EQ(w.first_failure().message, "cut off");
  EXPECT_EQ(files(), (std::set<std::string>{"m3"}));
}

// The .part cannot be created (a directory is in the way): that message
// fails with the system's reason, the others are stored.
TEST_F(DirectoryWriterTest, CreateFailsForOneMessage) {
  fs::create_directory(dir_ / "m2.part");
  DirectoryWriter w(dir_.string(), names({1, 2, 3}));
  deliver(w, 1, "one\r\n");
  deliver(w, 2, std::string(700 * 1024, 'y'));
  deliver(w, 3, "three\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 2U);
  ASSERT_EQ(w.failures(), 1U);
  EXPECT_EQ(w.first_failure().code, errc::sink_failed);
  EXPECT_EQ(w.first_failure().message, "RETR 2: storing the message failed: Is a directory");
  EXPECT_EQ(read("m1"), "one\r\n");
  EXPECT_EQ(read("m3"), "three\r\n");
  EXPECT_FALSE(fs::exists(dir_ / "m2"));
}

// A write fails (the disk is full): .part removed, nothing under the final
// name. /dev/full behind the .part name stands in for a full disk.
TEST_F(DirectoryWriterTest, WriteFailsMidMessage) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  fs::create_symlink("/dev/full", dir_ / "m1.part");
  DirectoryWriter w(dir_.string(), names({1, 2}));
  deliver(w, 1, std::string(1024 * 1024, 'z'));
  deliver(w, 2, "two\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 1U);
  ASSERT_EQ(w.failures(), 1U);
  EXPECT_EQ(w.first_failure().message,
            "RETR 1: storing the message failed: No space left on device");
  EXPECT_EQ(files(), (std::set<std::string>{"m2"}));
}

// The rename fails (a non-empty directory holds the final name): the .part
// is removed and the directory left alone.
TEST_F(DirectoryWriterTest, RenameFails) {
  fs::create_directories(dir_ / "m1" / "inside");
  DirectoryWriter w(dir_.string(), names({1}));
  deliver(w, 1, "one\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 0U);
  ASSERT_EQ(w.failures(), 1U);
  EXPECT_NE(w.first_failure().message.find("RETR 1: storing the message failed: "),
            std::string::npos);
  EXPECT_EQ(files(), (std::set<std::string>{"m1"}));
  EXPECT_TRUE(fs::is_directory(dir_ / "m1" / "inside"));
}

// A read-only directory: every message fails with the reason, none is
// stored. Root writes through permissions, so the check runs in a child
// process that first drops to an unprivileged user (nobody).
TEST_F(DirectoryWriterTest, ReadOnlyDirectory) {
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  const auto check = [this] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(2);
    DirectoryWriter w(dir_.string(), names({1, 2}));
    deliver(w, 1, "one\r\n");
    deliver(w, 2, "two\r\n");
    w.finish();
    const bool ok =
        w.stored() == 0 && w.failures() == 2 &&
        w.first_failure().message == "RETR 1: storing the message failed: Permission denied";
    std::_Exit(ok ? 0 : 1);
  };
  EXPECT_EXIT(check(), ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(files(), std::set<std::string>{});
}

// The retrieval stops in the middle of a message (the session failed and
// the command unwinds): the writer is destroyed without finish(); complete
// messages stay, the unfinished one leaves no .part.
TEST_F(DirectoryWriterTest, DestroyedMidMessage) {
  {
    DirectoryWriter w(dir_.string(), names({1, 2}));
    deliver(w, 1, "one\r\n");
    ASSERT_FALSE(w.begin(2));
    ASSERT_FALSE(w.data(2, std::string(300 * 1024, 'p')));  // a block handed over
  }
  EXPECT_EQ(files(), (std::set<std::string>{"m1"}));
}

// Many small messages through a Spooler's bounded queue, as retr -o runs
// the writer: every one arrives, in order, whatever the writer's pace.
TEST_F(DirectoryWriterTest, ManySmallMessagesThroughASpooler) {
  std::map<std::uint64_t, std::string> n;
  for (std::uint64_t i = 1; i <= 500; ++i)
    n[i] = std::to_string(i);
  DirectoryWriter w(dir_.string(), n);
  {
    Spooler s(w);
    for (std::uint64_t i = 1; i <= 500; ++i)
      deliver(s, i, std::string(20 * 1024, static_cast<char>('a' + i % 26)), 4096);
    s.finish();
  }
  w.finish();
  EXPECT_EQ(w.stored(), 500U);
  EXPECT_EQ(w.failures(), 0U);
  EXPECT_EQ(files().size(), 500U);
  EXPECT_EQ(read("77"), std::string(20 * 1024, static_cast<char>('a' + 77 % 26)));
}

}  // namespace
}  // namespace pop3kit::store
