// DirectoryWriter (retr -o DIR): one file per message; its error paths; the
// file-system attacks (planted symbolic links and files, names that
// collide, a second writer, a read-only directory, a full disk); and
// through a Spooler, as retr -o runs it. The handler is driven as the
// library drives it during retrieve_many.
#include "pop3kit/directory_writer.hpp"
#include "pop3kit/spooler.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

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
  ASSERT_TRUE(w.open());
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
  ASSERT_TRUE(w.open());
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

// The final name is taken (a directory is in the way): that message is
// not stored and says why, its temporary file is gone, the others are
// stored.
TEST_F(DirectoryWriterTest, FinalNameTakenForOneMessage) {
  fs::create_directory(dir_ / "m2");
  DirectoryWriter w(dir_.string(), names({1, 2, 3}));
  ASSERT_TRUE(w.open());
  deliver(w, 1, "one\r\n");
  deliver(w, 2, std::string(700 * 1024, 'y'));
  deliver(w, 3, "three\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 2U);
  ASSERT_EQ(w.failures(), 1U);
  EXPECT_EQ(w.first_failure().code, errc::sink_failed);
  EXPECT_EQ(w.first_failure().message,
            "RETR 2: not stored: a file named 'm2' is already in the directory (pop3kit "
            "replaces no file)");
  EXPECT_EQ(read("m1"), "one\r\n");
  EXPECT_EQ(read("m3"), "three\r\n");
  EXPECT_EQ(files(), (std::set<std::string>{"m1", "m2", "m3"}));
  EXPECT_TRUE(fs::is_empty(dir_ / "m2"));
}

// A write fails (the file size limit stands in for a full disk): the
// temporary file is removed, nothing under the final name, the next message
// is stored. In a child process, which may lower its own limit.
TEST_F(DirectoryWriterTest, WriteFailsMidMessage) {
  const auto check = [this] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{512 * 1024, 512 * 1024};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) std::_Exit(2);
    DirectoryWriter w(dir_.string(), names({1, 2}));
    if (!w.open()) std::_Exit(3);
    deliver(w, 1, std::string(1024 * 1024, 'z'));
    deliver(w, 2, "two\r\n");
    w.finish();
    const bool ok =
        w.stored() == 1 && w.failures() == 1 &&
        w.first_failure().message == "RETR 1: storing the message failed: File too large";
    std::_Exit(ok ? 0 : 1);
  };
  EXPECT_EXIT(check(), ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(files(), (std::set<std::string>{"m2"}));
}

// A file that was there before is never replaced, whatever it is: a file
// (a UID equal to "notes.txt"), a symbolic link to a file outside the
// directory (neither the link nor its target changes).
TEST_F(DirectoryWriterTest, ExistingFilesAreNeverReplaced) {
  const fs::path outside = dir_.string() + "-victim";
  std::ofstream(outside) << "victim";
  std::ofstream(dir_ / "notes.txt") << "my notes";
  fs::create_symlink(outside, dir_ / "m2");
  DirectoryWriter w(dir_.string(), {{1, "notes.txt"}, {2, "m2"}, {3, "m3"}});
  ASSERT_TRUE(w.open());
  deliver(w, 1, "one\r\n");
  deliver(w, 2, "two\r\n");
  deliver(w, 3, "three\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 1U);
  EXPECT_EQ(w.failures(), 2U);
  EXPECT_EQ(w.octets(), 7U);
  EXPECT_EQ(read("notes.txt"), "my notes");
  EXPECT_TRUE(fs::is_symlink(dir_ / "m2"));
  std::ifstream in(outside);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "victim");
  EXPECT_EQ(files(), (std::set<std::string>{"m2", "m3", "notes.txt"}));
  fs::remove(outside);
}

// UIDs "x.part" and "x": two messages, two files (the temporary names are
// not made from the final ones).
TEST_F(DirectoryWriterTest, NameAndNameDotPartAreBothStored) {
  DirectoryWriter w(dir_.string(), {{1, uid_file_name("x.part")}, {2, uid_file_name("x")}});
  ASSERT_TRUE(w.open());
  deliver(w, 1, "one\r\n");
  deliver(w, 2, "two\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 2U);
  EXPECT_EQ(w.failures(), 0U);
  EXPECT_EQ(read("x.part"), "one\r\n");
  EXPECT_EQ(read("x"), "two\r\n");
}

// The temporary file of a message being written: a new regular file, 0600,
// whose name no final name can have.
TEST_F(DirectoryWriterTest, TemporaryNameIsNeverAFinalName) {
  DirectoryWriter w(dir_.string(), names({1}));
  ASSERT_TRUE(w.open());
  ASSERT_FALSE(w.begin(1));
  ASSERT_FALSE(w.data(1, "one\r\n"));
  const auto during = files();
  ASSERT_EQ(during.size(), 1U);
  const std::string temporary = *during.begin();
  EXPECT_TRUE(temporary.starts_with(".pop3kit-tmp-")) << temporary;
  EXPECT_FALSE(valid_file_name(temporary));
  struct stat st {};
  ASSERT_EQ(::lstat((dir_ / temporary).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  ASSERT_FALSE(w.end(1, 5));
  EXPECT_EQ(files(), (std::set<std::string>{"m1"}));
}

// The UID rule and the temporary names are disjoint: every UID's name is
// valid (so never begins with '.'), and distinct UIDs get distinct names.
TEST(UidFileNameTest, NamesAreValidAndDistinct) {
  const std::vector<std::string> uids{
      ".", "..",      ".pop3kit-tmp-1-1-00", ".hidden", "a/b", "%2F", "a%2Fb", "x.part",
      "x", "~!\"#$&", std::string(70, '.'),  "/"};
  std::set<std::string> seen;
  for (const auto& uid : uids) {
    const std::string name = uid_file_name(uid);
    EXPECT_TRUE(valid_file_name(name)) << uid << " -> " << name;
    EXPECT_TRUE(seen.insert(name).second) << uid << " -> " << name;
  }
  EXPECT_TRUE(valid_file_name("12345"));
  EXPECT_FALSE(valid_file_name(""));
  EXPECT_FALSE(valid_file_name(".x"));
  EXPECT_FALSE(valid_file_name("a/b"));
  EXPECT_FALSE(valid_file_name(std::string(256, 'a')));
}

// A name the caller made up that could escape the directory or hide among
// the temporary files is refused for its message; nothing is written.
TEST_F(DirectoryWriterTest, UnusableNamesAreRefused) {
  DirectoryWriter w(dir_.string(), {{1, "../escape"}, {2, ".hidden"}, {3, ""}});
  ASSERT_TRUE(w.open());
  deliver(w, 1, "one\r\n");
  deliver(w, 2, "two\r\n");
  deliver(w, 3, "three\r\n");
  w.finish();
  EXPECT_EQ(w.stored(), 0U);
  EXPECT_EQ(w.failures(), 3U);
  EXPECT_EQ(w.first_failure().message, "RETR 1: not stored: '../escape' is not a usable file name");
  EXPECT_EQ(files(), std::set<std::string>{});
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escape"));
}

// DIR itself a symbolic link (planted in a shared directory): refused.
TEST_F(DirectoryWriterTest, DirectoryThatIsASymlinkIsRefused) {
  const fs::path link = dir_.string() + "-link";
  fs::create_directory_symlink(dir_, link);
  DirectoryWriter w(link.string(), names({1}));
  const auto r = w.open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "'" + link.string() + "' is a symbolic link: give the directory it points to");
  deliver(w, 1, "one\r\n");  // not open: stores nothing
  EXPECT_EQ(w.stored(), 0U);
  EXPECT_EQ(w.first_failure().code, errc::wrong_state);
  fs::remove(link);
  EXPECT_EQ(files(), std::set<std::string>{});
}

// Two writers into one directory: the second waits for the lock, then
// fails naming the holder; once the first is gone it gets it.
TEST_F(DirectoryWriterTest, SecondWriterIsRefusedWhileTheFirstHoldsTheLock) {
  DirectoryOptions quick;
  quick.lock_wait = std::chrono::milliseconds(100);
  {
    DirectoryWriter first(dir_.string(), names({1}));
    ASSERT_TRUE(first.open());
    DirectoryWriter second(dir_.string(), names({1}), quick);
    const auto r = second.open();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::temporary_failure);
    EXPECT_NE(r.error().message.find("is in use by process " + std::to_string(::getpid())),
              std::string::npos)
        << r.error().message;
  }
  DirectoryWriter third(dir_.string(), names({1}), quick);
  EXPECT_TRUE(third.open());
}

// With a TemporaryFiles record: the file being written is in it, and
// remove_all() (what a signal runs) takes it away; the message then fails.
TEST_F(DirectoryWriterTest, TemporaryFilesAreRecordedForSignals) {
  TemporaryFiles record;
  DirectoryOptions options;
  options.temporary_files = &record;
  DirectoryWriter w(dir_.string(), names({1, 2}), options);
  ASSERT_TRUE(w.open());
  deliver(w, 1, "one\r\n");
  EXPECT_EQ(record.size(), 0U);
  ASSERT_FALSE(w.begin(2));
  ASSERT_FALSE(w.data(2, std::string(300 * 1024, 'q')));
  EXPECT_EQ(record.size(), 1U);
  record.remove_all();
  EXPECT_EQ(files(), (std::set<std::string>{"m1"}));
  ASSERT_FALSE(w.end(2, 300 * 1024));
  w.finish();
  EXPECT_EQ(w.stored(), 1U);
  EXPECT_EQ(w.failures(), 1U);
  EXPECT_EQ(files(), (std::set<std::string>{"m1"}));
}

// A read-only directory: open() says so, and nothing is stored. Root
// writes through permissions, so the check runs in a child process that
// first drops to an unprivileged user (nobody).
TEST_F(DirectoryWriterTest, ReadOnlyDirectory) {
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  const auto check = [this] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(2);
    DirectoryWriter w(dir_.string(), names({1, 2}));
    const auto r = w.open();
    if (r || r.error().message != "cannot create files in the directory '" + dir_.string() +
                                      "': Permission denied") {
      std::_Exit(3);
    }
    deliver(w, 1, "one\r\n");
    deliver(w, 2, "two\r\n");
    w.finish();
    std::_Exit(w.stored() == 0 && w.failures() == 2 ? 0 : 1);
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
    ASSERT_TRUE(w.open());
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
  ASSERT_TRUE(w.open());
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
