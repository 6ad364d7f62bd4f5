// How often the state store flushes to disk. This test program defines
// fsync and fdatasync itself: the dynamic linker binds SQLite's calls to
// these (the program's own symbols come first), which count the calls and
// pass them on. Its own executable, so that no other test is counted.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "pop3kit/delivery.hpp"
#include "pop3kit/state.hpp"

namespace {
std::atomic<int> g_flushes{0};

template <typename F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" int fsync(int fd) {
  static const auto real = next_definition<int (*)(int)>("fsync");
  g_flushes.fetch_add(1);
  return real(fd);
}

extern "C" int fdatasync(int fd) {
  static const auto real = next_definition<int (*)(int)>("fdatasync");
  g_flushes.fetch_add(1);
  return real(fd);
}

namespace fs = std::filesystem;

namespace pop3kit::store {
namespace {

const AccountId kHome{"home", "bob", "pop.example.org", 995};

class StateFlushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "pop3kit-flush-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(StateFlushTest, TheCountingReachesSqlite) {
  auto store = StateStore::open((dir_ / "state.db").string());
  ASSERT_TRUE(store.ok()) << store.error().message;
  const int before = g_flushes.load();
  const std::vector<Reservation> res{{"A1", "1.M1P1.host", 0}};
  ASSERT_TRUE(store->record_intents(kHome, "maildir:/m", res));
  // synchronous=FULL: a commit flushes the WAL.
  EXPECT_GT(g_flushes.load(), before);
}

// IntentFlush::by_caller: no flush of its own, committed all the same (a
// second connection sees it), and the commits after it flush again.
TEST_F(StateFlushTest, IntentsLeftToTheCallersFlushAreCommittedWithoutOne) {
  const std::string path = (dir_ / "state.db").string();
  auto store = StateStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  const std::vector<Reservation> res{{"A1", "1.M1P1.host", 0}, {"B2", "2.M2P1.host", 0}};
  const int before = g_flushes.load();
  ASSERT_TRUE(store->record_intents(kHome, "maildir:/m", res, StateStore::IntentFlush::by_caller));
  EXPECT_EQ(g_flushes.load(), before);

  auto other = StateStore::open(path);
  ASSERT_TRUE(other.ok()) << other.error().message;
  auto pending = other->pending(kHome);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 2U);

  const int after_intents = g_flushes.load();
  const std::vector<DeliveredMessage> done{{"A1", Stored{"new/1.M1P1.host,S=5", 5}}};
  ASSERT_TRUE(store->mark_delivered(kHome, done));
  EXPECT_GT(g_flushes.load(), after_intents);
}

// A Maildir's batch flush is syncfs(2) on its file system: it covers a
// state database there, and nothing on another file system.
TEST_F(StateFlushTest, AMaildirFlushCoversItsOwnFileSystemOnly) {
  auto d = parse_destination("maildir:" + (dir_ / "Mail").string());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)->flush_covers((dir_ / "state.db").string()));  // not open yet
  ASSERT_TRUE((*d)->open().ok());
  EXPECT_TRUE((*d)->flush_covers(dir_.string()));
  EXPECT_FALSE((*d)->flush_covers("/proc/self/status"));
  EXPECT_FALSE((*d)->flush_covers((dir_ / "missing" / "state.db").string()));
  auto mbox = parse_destination("mbox:" + (dir_ / "mbox").string());
  ASSERT_TRUE(mbox.ok());
  ASSERT_TRUE((*mbox)->open().ok());
  EXPECT_FALSE((*mbox)->flush_covers(dir_.string()));
}

}  // namespace
}  // namespace pop3kit::store
