// Maildir delivery on real files (with the real syncfs/fsync), and
// parse_destination().
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "pop3kit/delivery.hpp"

namespace fs = std::filesystem;

namespace pop3kit::store {
namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

// Runs `body` in a forked child; its exit code comes back (-1: it crashed).
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) std::_Exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class MaildirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pop3kit-maildir-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = tmpl;
    md_ = top_ / "Mail" / "box";
  }
  void TearDown() override { fs::remove_all(top_); }

  std::unique_ptr<Destination> open_maildir() {
    auto d = parse_destination("maildir:" + md_.string());
    EXPECT_TRUE(d.ok());
    auto r = (*d)->open();
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*d);
  }

  // One message through begin/write/end in chunks of `chunk` octets.
  static Result<Stored> deliver(Destination& d, const Reservation& res, std::string_view msg,
                                std::size_t chunk = 7) {
    if (auto r = d.begin(res); !r) return std::move(r).error();
    for (std::size_t i = 0; i < msg.size(); i += chunk) {
      if (auto r = d.write(msg.substr(i, chunk)); !r) return std::move(r).error();
    }
    return d.end();
  }

  fs::path top_;
  fs::path md_;
};

TEST_F(MaildirTest, OpenCreatesTheMaildirAndItsParents) {
  auto d = open_maildir();
  for (const char* sub : {"cur", "new", "tmp"}) {
    const auto st = fs::status(md_ / sub);
    EXPECT_TRUE(fs::is_directory(st));
    EXPECT_EQ(st.permissions(), fs::perms::owner_all);
  }
  EXPECT_EQ(fs::status(top_ / "Mail").permissions(), fs::perms::owner_all);
  EXPECT_EQ(d->spec(), "maildir:" + md_.string());
  EXPECT_EQ(d->durability(), Durability::batched);
}

TEST_F(MaildirTest, OpenRefusesAFileAndASymlinkedSubdirectory) {
  fs::create_directories(md_.parent_path());
  std::ofstream(md_) << "not a maildir";
  auto d = parse_destination("maildir:" + md_.string());
  auto r = (*d)->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::sink_failed));
  EXPECT_EQ(r.error().message, "maildir " + md_.string() + ": cannot open it: Not a directory");

  fs::remove(md_);
  fs::create_directories(md_ / "cur");
  fs::create_directories(md_ / "new");
  fs::create_directories(top_ / "elsewhere");
  fs::create_directory_symlink(top_ / "elsewhere", md_ / "tmp");
  auto d2 = parse_destination("maildir:" + md_.string());
  r = (*d2)->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "maildir " + md_.string() + ": cannot open tmp/: Not a directory");
}

TEST_F(MaildirTest, UniqueNamesFollowTheSpec) {
  auto d = open_maildir();
  const std::regex form(R"(\d+\.M\d{1,6}P\d+Q\d+R[0-9a-f]{16}\.[^/:]+)");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto res = d->reserve("uid" + std::to_string(i));
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->uid, "uid" + std::to_string(i));
    ASSERT_TRUE(std::regex_match(res->name, form)) << res->name;
    EXPECT_TRUE(seen.insert(res->name).second);
  }
}

TEST_F(MaildirTest, CommitMovesTheBatchIntoNewWithItsSize) {
  auto d = open_maildir();
  const std::vector<std::string> msgs = {
      "Subject: a\r\n\r\nbody\r\n",
      "Subject: b\r\n\r\n..dot stays\r\nFrom here\r\nlone\rCR\r\n",
      "",
  };
  std::vector<Stored> stored;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto res = d->reserve(std::to_string(i));
    ASSERT_TRUE(res.ok());
    auto s = deliver(*d, *res, msgs[i], i + 1);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->location, "new/" + res->name + ",S=" + std::to_string(s->size));
    stored.push_back(*s);
  }
  EXPECT_TRUE(names_in(md_ / "new").empty()) << "nothing in new/ before commit()";
  EXPECT_EQ(names_in(md_ / "tmp").size(), 3U);
  ASSERT_TRUE(d->commit().ok());
  EXPECT_TRUE(names_in(md_ / "tmp").empty());
  EXPECT_EQ(names_in(md_ / "new").size(), 3U);
  const std::vector<std::string> expected = {
      "Subject: a\n\nbody\n", "Subject: b\n\n..dot stays\nFrom here\nlone\rCR\n", ""};
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const fs::path p = md_ / stored[i].location;
    EXPECT_EQ(read_file(p), expected[i]);
    EXPECT_EQ(fs::file_size(p), stored[i].size);
    EXPECT_EQ(fs::status(p).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  }
  EXPECT_TRUE(d->commit().ok()) << "an empty commit is fine";
}

TEST_F(MaildirTest, ABatchOfAThousandCostsOneFlush) {
  auto d = open_maildir();
  const std::string msg = "Subject: x\r\n\r\n" + std::string(4000, 'y') + "\r\n";
  for (int i = 0; i < 1000; ++i) {
    auto res = d->reserve(std::to_string(i));
    ASSERT_TRUE(deliver(*d, *res, msg, msg.size()).ok());
  }
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(d->commit().ok());
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  EXPECT_EQ(names_in(md_ / "new").size(), 1000U);
  RecordProperty("commit_ms", std::to_string(ms.count()));
  std::printf("commit of 1000 messages: %.1f ms\n", ms.count());
}

TEST_F(MaildirTest, APlantedSymlinkAtTheTmpNameIsNeverFollowed) {
  auto d = open_maildir();
  auto res = d->reserve("u");
  const fs::path target = top_ / "target";
  std::ofstream(target) << "precious";
  fs::create_symlink(target, md_ / "tmp" / res->name);
  auto r = d->begin(*res);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "maildir " + md_.string() + ": cannot create tmp/" + res->name + ": File exists");
  EXPECT_EQ(read_file(target), "precious");
}

TEST_F(MaildirTest, AnExistingNewFileIsNeverReplaced) {
  auto d = open_maildir();
  auto res = d->reserve("u");
  auto s = deliver(*d, *res, "mine\r\n");
  ASSERT_TRUE(s.ok());
  std::ofstream(md_ / s->location) << "theirs";
  auto r = d->commit();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot move tmp/" + res->name + " to " + s->location +
                                   ": File exists"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(read_file(md_ / s->location), "theirs");
  EXPECT_TRUE(names_in(md_ / "tmp").empty());
}

TEST_F(MaildirTest, AbortAndDestructionLeaveNothing) {
  {
    auto d = open_maildir();
    auto res = d->reserve("1");
    ASSERT_TRUE(d->begin(*res).ok());
    ASSERT_TRUE(d->write("half a mess").ok());
    d->abort();
    auto res2 = d->reserve("2");
    ASSERT_TRUE(deliver(*d, *res2, "ended, never committed\r\n").ok());
  }
  EXPECT_TRUE(names_in(md_ / "tmp").empty());
  EXPECT_TRUE(names_in(md_ / "new").empty());
}

TEST_F(MaildirTest, RecoverFindsAMessageAReaderMovedAndRemovesLeftovers) {
  auto d = open_maildir();
  auto res = d->reserve("1");
  auto s = deliver(*d, *res, "read me\r\n");
  ASSERT_TRUE(d->commit().ok());
  // A mail reader saw it and flagged it seen.
  fs::rename(md_ / s->location, md_ / "cur" / (res->name + ",S=8:2,S"));
  // A crash between link() and unlink() would leave the tmp/ file too.
  std::ofstream(md_ / "tmp" / res->name) << "read me\n";
  auto found = d->recover(*res);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  // Where it is now, and the size it was stored with.
  EXPECT_EQ((*found)->location, "cur/" + res->name + ",S=8:2,S");
  EXPECT_EQ((*found)->size, 8U);
  EXPECT_TRUE(names_in(md_ / "tmp").empty());

  // Still in new/: as end() said.
  auto res2 = d->reserve("2");
  auto s2 = deliver(*d, *res2, "two\r\n");
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(d->commit().ok());
  auto found2 = d->recover(*res2);
  ASSERT_TRUE(found2.ok() && found2->has_value());
  EXPECT_EQ((*found2)->location, s2->location);
  EXPECT_EQ((*found2)->size, s2->size);

  // Renamed by a reader without the size field: the file's size.
  auto res4 = d->reserve("4");
  auto s4 = deliver(*d, *res4, "four!\r\n");
  ASSERT_TRUE(s4.ok());
  ASSERT_TRUE(d->commit().ok());
  fs::rename(md_ / s4->location, md_ / "cur" / (res4->name + ":2,"));
  auto found4 = d->recover(*res4);
  ASSERT_TRUE(found4.ok() && found4->has_value());
  EXPECT_EQ((*found4)->location, "cur/" + res4->name + ":2,");
  EXPECT_EQ((*found4)->size, 6U);

  // Interrupted before commit: only a tmp/ file; not delivered.
  auto res3 = d->reserve("3");
  std::ofstream(md_ / "tmp" / res3->name) << "partial";
  found = d->recover(*res3);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_TRUE(names_in(md_ / "tmp").empty());

  // A name that is a prefix of another's is not that other.
  Reservation prefix = *res2;
  prefix.name.pop_back();
  EXPECT_FALSE(d->recover(prefix)->has_value());
}

TEST_F(MaildirTest, RecoverRefusesANameThatIsAPath) {
  auto d = open_maildir();
  for (const char* bad : {"", ".", "..", "../../etc/passwd", "a/b"}) {
    auto r = d->recover(Reservation{"u", bad, 0});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
  }
}

// A file size limit stands in for a full disk: the write fails mid-message
// (EFBIG instead of ENOSPC, the same path) and nothing is left.
TEST_F(MaildirTest, AWriteErrorMidMessageLeavesNothing) {
  auto d = open_maildir();
  const fs::path report = top_ / "error.txt";
  const int rc = in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto res = d->reserve("big");
    const std::string big(1024 * 1024, 'x');
    auto s = deliver(*d, *res, big, 4096);
    if (s.ok()) return 1;
    std::ofstream(report) << s.error().message;
    return s.error().code == make_error_code(errc::sink_failed) ? 0 : 2;
  });
  ASSERT_EQ(rc, 0);
  const std::string message = read_file(report);
  std::printf("write error: %s\n", message.c_str());
  EXPECT_NE(message.find(": cannot write tmp/"), std::string::npos);
  EXPECT_NE(message.find(": File too large"), std::string::npos);
  EXPECT_TRUE(names_in(md_ / "tmp").empty());
  EXPECT_TRUE(names_in(md_ / "new").empty());
}

// Root writes through permissions: the check runs as nobody.
TEST_F(MaildirTest, ANonWritableMaildirFailsAtOpen) {
  open_maildir();
  fs::permissions(top_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  for (const fs::path& p : {top_ / "Mail", md_, md_ / "tmp", md_ / "new", md_ / "cur"}) {
    fs::permissions(p, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  }
  const fs::path report = top_ / "error.txt";
  std::ofstream(report) << "";
  ::chmod(report.c_str(), 0666);
  const int rc = in_child([&] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 3;
    auto d = parse_destination("maildir:" + md_.string());
    auto r = (*d)->open();
    if (r.ok()) return 1;
    std::ofstream(report) << r.error().message;
    return 0;
  });
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(read_file(report),
            "maildir " + md_.string() + ": cannot write in tmp/: Permission denied");
}

TEST(ParseDestination, FormsAndCanonicalSpecs) {
  ::setenv("HOME", "/home/someone", 1);  // NOLINT(concurrency-mt-unsafe): single-threaded test
  EXPECT_EQ((*parse_destination("maildir:~/Mail/"))->spec(), "maildir:/home/someone/Mail");
  EXPECT_EQ((*parse_destination("mbox:~"))->spec(), "mbox:/home/someone");
  EXPECT_EQ((*parse_destination("mbox:/var/mail/../mail/./me"))->spec(), "mbox:/var/mail/me");
  const std::string cwd = fs::current_path().string();
  EXPECT_EQ((*parse_destination("maildir:Mail"))->spec(), "maildir:" + cwd + "/Mail");
  auto mda = parse_destination("mda:procmail -d me", DestinationOptions{.mda_crlf = true});
  EXPECT_EQ((*mda)->spec(), "mda:procmail -d me");
  EXPECT_EQ((*mda)->durability(), Durability::per_message);
  // spec() reads back as itself.
  const std::string again =
      (*parse_destination((*parse_destination("maildir:a/../b"))->spec()))->spec();
  EXPECT_EQ(again, "maildir:" + cwd + "/b");
}

TEST(ParseDestination, ErrorsNameTheThreeForms) {
  for (const char* bad : {"", "/home/me/Mail", "maildir", "imap:x", "Maildir:/x"}) {
    auto d = parse_destination(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, make_error_code(errc::invalid_argument));
    EXPECT_NE(d.error().message.find("maildir:PATH, mbox:PATH or mda:COMMAND"), std::string::npos)
        << d.error().message;
  }
  for (const char* bad : {"maildir:", "mbox:", "mda:", "mda:  "}) {
    auto d = parse_destination(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, make_error_code(errc::invalid_argument));
  }
}

}  // namespace
}  // namespace pop3kit::store
