// mbox (mboxrd) delivery on real files: round trip, truncation on failure
// and on recovery, the locks.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

#include "line_ends.hpp"
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

int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) std::_Exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A reader's view: messages start at "From " lines; each ends with the
// empty line before the next; one level of quoting comes off.
std::vector<std::string> read_mbox(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    EXPECT_EQ(text.compare(i, 5, "From "), 0) << "at " << i;
    const std::size_t body = text.find('\n', i) + 1;
    std::size_t next = text.find("\n\nFrom ", body - 1);
    next = next == std::string::npos ? text.size() : next + 2;
    std::string msg = text.substr(body, next - body);
    EXPECT_TRUE(msg.ends_with("\n")) << msg;
    msg.pop_back();  // the separating empty line
    out.push_back(detail::unquote_mboxrd(msg));
    i = next;
  }
  return out;
}

class MboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pop3kit-mbox-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = tmpl;
    mbox_ = top_ / "inbox";
  }
  void TearDown() override { fs::remove_all(top_); }

  std::unique_ptr<Destination> make(std::chrono::milliseconds wait = 10s) {
    DestinationOptions options;
    options.lock_wait = wait;
    auto d = parse_destination("mbox:" + mbox_.string(), options);
    EXPECT_TRUE(d.ok());
    return std::move(*d);
  }
  std::unique_ptr<Destination> open_mbox() {
    auto d = make();
    auto r = d->open();
    EXPECT_TRUE(r.ok()) << r.error().message;
    return d;
  }

  static Result<Stored> deliver(Destination& d, const Reservation& res, std::string_view msg,
                                std::size_t chunk = 5) {
    if (auto r = d.begin(res); !r) return std::move(r).error();
    for (std::size_t i = 0; i < msg.size(); i += chunk) {
      if (auto r = d.write(msg.substr(i, chunk)); !r) return std::move(r).error();
    }
    return d.end();
  }

  fs::path top_;
  fs::path mbox_;
};

TEST_F(MboxTest, OpenCreatesTheFileAndHoldsTheDotLock) {
  {
    auto d = open_mbox();
    EXPECT_EQ(fs::status(mbox_).permissions(), fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_TRUE(fs::exists(top_ / "inbox.lock"));
    EXPECT_EQ(d->durability(), Durability::batched);
  }
  EXPECT_FALSE(fs::exists(top_ / "inbox.lock")) << "removed on destruction";
}

TEST_F(MboxTest, RoundTripIsByteExact) {
  const std::vector<std::string> msgs = {
      "Subject: a\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\n",
      "Subject: b\r\n\r\n..dot stays\r\nlone\rCR\r\n\r\nFrom \r\n",
      "From at the very top\r\nx\r\n",
  };
  auto d = open_mbox();
  std::vector<Reservation> reservations;
  for (std::size_t i = 0; i < msgs.size(); ++i)
    reservations.push_back(*d->reserve(std::to_string(i)));
  std::vector<Stored> stored;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto s = deliver(*d, reservations[i], msgs[i], i + 1);
    ASSERT_TRUE(s.ok()) << s.error().message;
    stored.push_back(*s);
  }
  ASSERT_TRUE(d->commit().ok());
  const std::string text = read_file(mbox_);
  // The batch's messages share the From_ line and the batch start.
  for (const auto& r : reservations) {
    EXPECT_EQ(r.name, reservations[0].name);
    EXPECT_EQ(r.offset, 0U);
    EXPECT_TRUE(r.name.starts_with("From MAILER-DAEMON ")) << r.name;
  }
  EXPECT_EQ(text.substr(0, reservations[0].name.size() + 1), reservations[0].name + "\n");
  EXPECT_NE(text.find("\n>From the start\n>>From quoted\n>>>From twice\n"), std::string::npos);
  const auto read = read_mbox(text);
  ASSERT_EQ(read.size(), msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    std::string lf;
    detail::CrlfToLf c;
    c.feed(msgs[i], lf);
    c.finish(lf);
    EXPECT_EQ(read[i], lf);
    EXPECT_EQ(stored[i].size, lf.size());
    EXPECT_EQ(text.compare(std::stoull(stored[i].location), 5, "From "), 0);
  }
  // The next batch starts where this one ended.
  auto next = d->reserve("n");
  EXPECT_EQ(next->offset, text.size());
}

TEST_F(MboxTest, AMessageWithoutAFinalLineEndGetsOne) {
  auto d = open_mbox();
  auto res = d->reserve("1");
  ASSERT_TRUE(deliver(*d, *res, "Subject: x\r\n\r\nno end\r").ok());
  ASSERT_TRUE(d->commit().ok());
  EXPECT_EQ(read_file(mbox_), res->name + "\nSubject: x\n\nno end\r\n\n");
}

TEST_F(MboxTest, AbortTruncatesBack) {
  auto d = open_mbox();
  auto res = d->reserve("1");
  ASSERT_TRUE(deliver(*d, *res, "one\r\n").ok());
  const auto size = fs::file_size(mbox_);
  ASSERT_TRUE(d->begin(*d->reserve("2")).ok());
  ASSERT_TRUE(d->write(std::string(600 * 1024, 'x')).ok());  // past one write block
  EXPECT_GT(fs::file_size(mbox_), size);
  d->abort();
  EXPECT_EQ(fs::file_size(mbox_), size);
  ASSERT_TRUE(d->commit().ok());
  EXPECT_EQ(read_mbox(read_file(mbox_)), std::vector<std::string>{"one\n"});
}

// A crash after the batch was written (committed or not): recover()
// truncates back to the batch start and says "not delivered".
TEST_F(MboxTest, RecoverTruncatesAnInterruptedBatch) {
  {
    auto d = open_mbox();
    ASSERT_TRUE(deliver(*d, *d->reserve("old"), "kept\r\n").ok());
    ASSERT_TRUE(d->commit().ok());
  }
  const auto kept = fs::file_size(mbox_);
  const fs::path saved = top_ / "reservation";
  const int rc = in_child([&] {
    auto d = open_mbox();
    auto res = d->reserve("new");
    if (!deliver(*d, *res, "lost in a crash\r\n").ok()) return 1;
    std::ofstream(saved) << res->offset << '\n' << res->name;
    std::_Exit(0);  // a crash: no destructor, the dot-lock stays
  });
  ASSERT_EQ(rc, 0);
  ASSERT_GT(fs::file_size(mbox_), kept);
  // The crashed holder's dot-lock names a pid that no longer exists: the
  // next open takes it over at once (no 5-minute wait).
  ASSERT_TRUE(fs::exists(top_ / "inbox.lock"));
  std::ifstream in(saved);
  Reservation res;
  res.uid = "new";
  in >> res.offset;
  in.ignore();
  std::getline(in, res.name);
  EXPECT_EQ(res.offset, kept);

  auto d = open_mbox();
  Reservation other = res;
  other.name = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970";
  EXPECT_FALSE(*d->recover(other));
  EXPECT_GT(fs::file_size(mbox_), kept) << "another line at the offset: left alone";
  auto found = d->recover(res);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(*found);
  EXPECT_EQ(fs::file_size(mbox_), kept);
  EXPECT_FALSE(*d->recover(res)) << "twice is harmless";
  EXPECT_EQ(read_mbox(read_file(mbox_)), std::vector<std::string>{"kept\n"});
}

// After the crash, another program took the lock and appended a message:
// truncating back would take its mail away too, so nothing is cut.
// A kill inside the batch's first write can leave only the start of its
// From_ line: recover() cuts that too, so the next From_ line starts a line.
TEST_F(MboxTest, RecoverCutsAPartialFromLine) {
  Reservation res;
  std::uint64_t kept = 0;
  {
    auto d = open_mbox();
    ASSERT_TRUE(deliver(*d, *d->reserve("old"), "kept\r\n").ok());
    ASSERT_TRUE(d->commit().ok());
    res = *d->reserve("new");
    kept = fs::file_size(mbox_);
  }
  std::ofstream(mbox_, std::ios::app | std::ios::binary) << res.name.substr(0, 9);
  auto d = open_mbox();
  auto found = d->recover(res);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(*found);
  EXPECT_EQ(fs::file_size(mbox_), kept);
  EXPECT_EQ(read_mbox(read_file(mbox_)), std::vector<std::string>{"kept\n"});
}

// The dot-lock never exists without its holder's pid: it is written to a
// file of our own first, then linked to PATH.lock.
TEST_F(MboxTest, TheDotLockAppearsWithItsPid) {
  auto d = open_mbox();
  EXPECT_EQ(read_file(top_ / "inbox.lock"), std::to_string(::getpid()) + "\n");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(top_))
    ++entries;
  EXPECT_EQ(entries, 2U) << "the mbox and its lock, no leftover of the lock's making";
  d.reset();
  EXPECT_FALSE(fs::exists(top_ / "inbox.lock"));
}

TEST_F(MboxTest, RecoverLeavesAnotherProgramsMailAlone) {
  const fs::path saved = top_ / "reservation";
  const int rc = in_child([&] {
    auto d = open_mbox();
    auto res = d->reserve("new");
    if (!deliver(*d, *res, "From here\r\nlost in a crash\r\n").ok()) return 1;
    std::ofstream(saved) << res->offset << '\n' << res->name;
    std::_Exit(0);
  });
  ASSERT_EQ(rc, 0);
  const std::string theirs =
      "From someone@example.net Tue Dec  1 10:00:00 2026\nSubject: x\n\nhi\n\n";
  std::ofstream(mbox_, std::ios::app | std::ios::binary) << theirs;
  const auto size = fs::file_size(mbox_);
  std::ifstream in(saved);
  Reservation res;
  res.uid = "new";
  in >> res.offset;
  in.ignore();
  std::getline(in, res.name);
  auto d = open_mbox();
  auto found = d->recover(res);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(*found);
  EXPECT_EQ(fs::file_size(mbox_), size);
  EXPECT_TRUE(read_file(mbox_).ends_with(theirs));
}

TEST_F(MboxTest, DestructionWithoutCommitTakesTheBatchAway) {
  {
    auto d = open_mbox();
    ASSERT_TRUE(deliver(*d, *d->reserve("1"), "one\r\n").ok());
    ASSERT_TRUE(d->commit().ok());
    ASSERT_TRUE(deliver(*d, *d->reserve("2"), "two\r\n").ok());
  }
  EXPECT_EQ(read_mbox(read_file(mbox_)), std::vector<std::string>{"one\n"});
}

TEST_F(MboxTest, TheDotLockExcludesASecondDestination) {
  auto first = open_mbox();
  auto second = make(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = second->open();
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::temporary_failure));
  EXPECT_EQ(r.error().message, "mbox " + mbox_.string() + ": locked by another program (" +
                                   mbox_.string() + ".lock exists)");
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 3s);
  first.reset();
  EXPECT_TRUE(second->open().ok()) << "free once the first is gone";
}

TEST_F(MboxTest, ADotLockOfALiveProcessIsRespected) {
  const fs::path lock = top_ / "inbox.lock";
  std::ofstream(lock) << ::getppid() << "\n";  // alive, and not us
  auto d = make(200ms);
  auto r = d->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::temporary_failure);
  EXPECT_TRUE(fs::exists(lock));
}

TEST_F(MboxTest, AStaleDotLockIsRemoved) {
  const fs::path lock = top_ / "inbox.lock";
  std::ofstream(lock) << "99999\n";
  fs::last_write_time(lock, fs::file_time_type::clock::now() - 10min);
  auto d = make(200ms);
  EXPECT_TRUE(d->open().ok());
}

TEST_F(MboxTest, AnFcntlLockOfAnotherProgramIsWaitedFor) {
  std::ofstream(mbox_) << "";
  const int fd = ::open(mbox_.c_str(), O_RDWR | O_CLOEXEC);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_OFD_SETLK, &lock), 0);
  auto d = make(200ms);
  auto r = d->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "mbox " + mbox_.string() + ": locked by another program (fcntl)");
  EXPECT_FALSE(fs::exists(top_ / "inbox.lock")) << "the dot-lock is let go on failure";
  ::close(fd);
  EXPECT_TRUE(d->open().ok());
}

TEST_F(MboxTest, ASymlinkAtThePathIsRefused) {
  std::ofstream(top_ / "target") << "";
  fs::create_symlink(top_ / "target", mbox_);
  auto d = make();
  auto r = d->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "mbox " + mbox_.string() + ": cannot open it: Too many levels of symbolic links");
}

// Symbolic links planted at the dot-lock and at this process's own lock
// file name: neither is followed, the files they point to are untouched,
// and a lock that is a link is nobody's (it blocks, as an unknown lock
// does, until the age rule).
TEST_F(MboxTest, SymlinksAtTheLockNamesAreNeverFollowed) {
  const fs::path victim = top_ / "victim";
  std::ofstream(victim) << "victim";
  fs::create_symlink(victim, top_ / ("inbox.lock." + std::to_string(::getpid()) + ".new"));
  fs::create_symlink(victim, top_ / "inbox.lock");
  auto d = make(200ms);
  auto r = d->open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::temporary_failure);
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "victim");
  EXPECT_TRUE(fs::is_symlink(top_ / "inbox.lock"));
  EXPECT_FALSE(fs::exists(mbox_)) << "nothing is created without the lock";
}

TEST_F(MboxTest, AWriteErrorMidMessageTruncatesBack) {
  {
    auto d = open_mbox();
    ASSERT_TRUE(deliver(*d, *d->reserve("1"), "one\r\n").ok());
    ASSERT_TRUE(d->commit().ok());
  }
  const auto size = fs::file_size(mbox_);
  const fs::path report = top_ / "error.txt";
  const int rc = in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto d = open_mbox();
    auto s = deliver(*d, *d->reserve("2"), std::string(1024 * 1024, 'x'), 4096);
    if (s.ok()) return 1;
    std::ofstream(report) << s.error().message;
    return 0;
  });
  ASSERT_EQ(rc, 0);
  const std::string message = read_file(report);
  std::printf("write error: %s\n", message.c_str());
  EXPECT_EQ(message, "mbox " + mbox_.string() + ": cannot append a message: File too large");
  EXPECT_EQ(fs::file_size(mbox_), size);
  EXPECT_FALSE(fs::exists(top_ / "inbox.lock"));
}

}  // namespace
}  // namespace pop3kit::store
