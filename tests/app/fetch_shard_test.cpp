// `pop3kit fetch --shard K/N` end to end: N fetchers run as processes at the
// same time against one Dovecot, as a Kubernetes Indexed Job, systemd
// template units or GNU parallel would start them. Each account is fetched
// by exactly one of them, together they fetch every account, and with a
// state database per account ({account} in --state) going from 3 to 4
// shards delivers nothing twice.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "shard.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

constexpr int kAccounts = 12;

std::string user_name(int i) {
  return "user" + std::to_string(100 + i);
}

std::string message(int account, int n) {
  return "From: sender@example.org\r\nTo: " + user_name(account) +
         "@example.org\r\nSubject: message " + std::to_string(n) + "\r\n\r\nbody " +
         std::to_string(n) + " of account " + std::to_string(account) + "\r\n";
}

std::size_t maildir_count(const fs::path& md) {
  std::size_t n = 0;
  std::error_code ec;
  for (const char* sub : {"new", "cur"}) {
    for (const auto& e : fs::directory_iterator(md / sub, ec)) {
      if (e.is_regular_file()) ++n;
    }
  }
  return n;
}

class ShardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<MailUser> users;
    for (int i = 0; i < kAccounts; ++i)
      users.push_back({user_name(i), "pw-" + user_name(i)});
    server_ = DovecotServer::start(users, &error_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    std::string templ = (fs::temp_directory_path() / "pop3kit-shard-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    for (int i = 0; i < kAccounts; ++i)
      server_->clear_messages(user_name(i));
    // Account names with a space and a slash: {account} must still give
    // each its own file, inside the directory.
    std::string config = "[defaults]\nplaintext = true\nallow_plaintext_password = true\n";
    for (int i = 0; i < kAccounts; ++i) {
      const std::string u = user_name(i);
      config += "\n[account.\"" + account(i) + "\"]\nurl = \"pop://" + u +
                "@127.0.0.1:" + std::to_string(server_->port()) +
                "\"\nto = \"maildir:" + (dir_ / "mail" / u).string() +
                "\"\npassword_command = \"echo pw-" + u + "\"\n";
    }
    config_ = dir_ / "config.toml";
    std::ofstream(config_) << config;
    ::chmod(config_.c_str(), 0600);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string account(int i) {
    return i % 3 == 0 ? "team/" + user_name(i) : i % 3 == 1 ? "mail " + user_name(i) : user_name(i);
  }

  // Starts N fetchers at once, shard 0..N-1, and returns each one's JSON.
  std::vector<nlohmann::json> run_shards(std::uint32_t n, const std::string& state) {
    std::vector<Started> started;
    RunOptions options;
    options.timeout_seconds = 60;
    for (std::uint32_t k = 0; k < n; ++k) {
      started.push_back(start_pop3kit({"fetch", "-c", config_.string(), "--state", state, "--shard",
                                       std::to_string(k) + "/" + std::to_string(n), "--json"},
                                      options));
    }
    std::vector<nlohmann::json> out;
    for (auto& s : started) {
      const RunResult r = finish_pop3kit(s);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      out.push_back(nlohmann::json::parse(r.out, nullptr, false));
      EXPECT_FALSE(out.back().is_discarded()) << r.out;
    }
    return out;
  }

  // Checks that each account was fetched by exactly the shard the mapping
  // gives it, and returns what each delivered, by account name.
  static std::map<std::string, int> delivered_by_account(const std::vector<nlohmann::json>& runs) {
    std::map<std::string, int> delivered;
    const auto n = static_cast<std::uint32_t>(runs.size());
    for (std::uint32_t k = 0; k < n; ++k) {
      if (!runs[k].is_object()) continue;
      for (const auto& a : runs[k]["accounts"]) {
        const std::string name = a["account"].get<std::string>();
        EXPECT_EQ(cli::shard_of(name, n), k) << name << " fetched by the wrong shard";
        EXPECT_EQ(delivered.count(name), 0u) << name << " fetched by two shards";
        EXPECT_EQ(a["exit_code"].get<int>(), 0) << a.dump();
        delivered[name] = a["delivered"].get<int>();
      }
    }
    return delivered;
  }

  static DovecotServer* server_;
  static std::string error_;
  fs::path dir_;
  fs::path config_;
};

DovecotServer* ShardTest::server_ = nullptr;
std::string ShardTest::error_;

TEST_F(ShardTest, EachAccountOnceAndNothingTwiceWhenNGrows) {
  for (int i = 0; i < kAccounts; ++i) {
    server_->add_message(user_name(i), message(i, 1));
    server_->add_message(user_name(i), message(i, 2));
  }
  const std::string state = (dir_ / "state" / "{account}.db").string();

  const auto first = delivered_by_account(run_shards(3, state));
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kAccounts)) << "the union must be complete";
  for (int i = 0; i < kAccounts; ++i) {
    EXPECT_EQ(first.at(account(i)), 2) << account(i);
    EXPECT_EQ(maildir_count(dir_ / "mail" / user_name(i)), 2u) << account(i);
  }
  // One state database per account, every one inside the state directory.
  std::size_t databases = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "state")) {
    if (e.path().extension() == ".db") ++databases;
  }
  EXPECT_EQ(databases, static_cast<std::size_t>(kAccounts));
  EXPECT_FALSE(fs::exists(dir_ / "state" / "team")) << "a '/' in a name made a directory";

  // A new message each, and one more fetcher: accounts move to the new
  // shard with their own state, so only the new message is delivered.
  for (int i = 0; i < kAccounts; ++i)
    server_->add_message(user_name(i), message(i, 3));
  const auto second = delivered_by_account(run_shards(4, state));
  ASSERT_EQ(second.size(), static_cast<std::size_t>(kAccounts));
  for (int i = 0; i < kAccounts; ++i) {
    EXPECT_EQ(second.at(account(i)), 1) << account(i);
    EXPECT_EQ(maildir_count(dir_ / "mail" / user_name(i)), 3u) << account(i);
  }
}

// Fetchers on one machine may also share one database: SQLite and the
// per-account locks keep them apart.
TEST_F(ShardTest, ShardsShareOneDatabase) {
  for (int i = 0; i < kAccounts; ++i)
    server_->add_message(user_name(i), message(i, 1));
  const std::string state = (dir_ / "state.db").string();
  const auto first = delivered_by_account(run_shards(2, state));
  ASSERT_EQ(first.size(), static_cast<std::size_t>(kAccounts));
  for (const auto& [name, n] : first)
    EXPECT_EQ(n, 1) << name;
  const auto again = delivered_by_account(run_shards(2, state));
  ASSERT_EQ(again.size(), static_cast<std::size_t>(kAccounts));
  for (const auto& [name, n] : again)
    EXPECT_EQ(n, 0) << name;
}

// A shard may hold no account: that is not an error. A URL cannot be
// sharded, and a bad K/N is a usage error before any connection.
TEST_F(ShardTest, EmptyShardAndBadUse) {
  const fs::path one = dir_ / "one.toml";
  const int i = 0;
  std::ofstream(one) << "[account.\"" + account(i) +
                            "\"]\nplaintext = true\n"
                            "allow_plaintext_password = true\nurl = \"pop://" +
                            user_name(i) + "@127.0.0.1:" + std::to_string(server_->port()) +
                            "\"\nto = \"maildir:" + (dir_ / "one").string() +
                            "\"\npassword_command = \"echo pw-" + user_name(i) + "\"\n";
  ::chmod(one.c_str(), 0600);
  const std::uint32_t other = 1 - cli::shard_of(account(i), 2);
  RunOptions options;
  options.timeout_seconds = 30;
  const RunResult empty =
      run_pop3kit({"fetch", "-c", one.string(), "--state", (dir_ / "s.db").string(), "--shard",
                   std::to_string(other) + "/2"},
                  options);
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.err.find("no account of the config file is in shard"), std::string::npos)
      << empty.err;
  EXPECT_FALSE(fs::exists(dir_ / "one"));
  EXPECT_FALSE(fs::exists(dir_ / "s.db"));

  const RunResult url = run_pop3kit(
      {"fetch", "pop://" + user_name(i) + "@127.0.0.1:" + std::to_string(server_->port()), "--to",
       "maildir:" + (dir_ / "url").string(), "--shard", "0/2"},
      options);
  EXPECT_EQ(url.exit_code, 64) << url.err;
  EXPECT_NE(url.err.find("--shard"), std::string::npos) << url.err;

  const RunResult bad = run_pop3kit({"fetch", "-c", one.string(), "--shard", "2/2"}, options);
  EXPECT_EQ(bad.exit_code, 64) << bad.err;
  EXPECT_NE(bad.err.find("0 <= K < N"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "url"));
}

}  // namespace
}  // namespace pop3kit::test
