// `pop3kit fetch` of many accounts at once (fetch_many.cpp) against a real
// Dovecot: healthy accounts over TLS, a slow one behind a latency proxy, a
// wrong password, a refused connection, an untrusted certificate and a
// server that does not speak TLS where TLS is expected, side by side. Each
// gets its own result and exit code, the healthy ones finish while the slow
// one still runs, and --max-per-host bounds the sessions to one server.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "latency_proxy.hpp"
#include "run_pop3kit.hpp"
#include "support/dovecot.hpp"
#include "terminal_screen.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::size_t maildir_count(const fs::path& md) {
  std::size_t n = 0;
  std::error_code ec;
  for (const char* sub : {"new", "cur"}) {
    for (const auto& e : fs::directory_iterator(md / sub, ec))
      n += e.is_regular_file() ? 1 : 0;
  }
  return n;
}

// The most accounts whose [started, started + seconds] overlap at once.
int most_at_once(const nlohmann::json& accounts) {
  std::vector<std::pair<double, int>> edges;
  for (const auto& a : accounts) {
    const double s = a["started"].get<double>();
    edges.emplace_back(s, 1);
    edges.emplace_back(s + a["seconds"].get<double>(), -1);
  }
  // An end and a start at the same instant: the end first.
  std::sort(edges.begin(), edges.end());
  int now = 0, most = 0;
  for (const auto& [t, d] : edges) {
    now += d;
    most = std::max(most, now);
  }
  return most;
}

constexpr int kHealthy = 6;
constexpr int kMessages = 3;

class FetchManyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<MailUser> users;
    for (const char* u : {"slow", "badpw", "host0", "host1", "host2", "host3", "host4", "host5"})
      users.push_back({u, std::string("pw-") + u});
    for (int i = 0; i < kHealthy; ++i)
      users.push_back({healthy(i), "pw-" + healthy(i)});
    server_ = DovecotServer::start(users, &error_, ServerCert::good, 64).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    std::string templ = (fs::temp_directory_path() / "pop3kit-many-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string healthy(int i) { return "healthy" + std::to_string(i); }

  void fill(const std::string& user) {
    server_->clear_messages(user);
    for (int n = 1; n <= kMessages; ++n) {
      server_->add_message(user, "From: a@example.org\r\nSubject: " + user + " " +
                                     std::to_string(n) + "\r\n\r\nbody " + std::to_string(n) +
                                     "\r\n");
    }
  }

  // An [account.NAME] table: pops:// to `port` as `user` with `password`.
  std::string account(const std::string& name, const std::string& user, std::uint16_t port,
                      const std::string& password, bool trust = true,
                      const std::string& scheme = "pops") const {
    std::string t = "\n[account." + name + "]\nurl = \"" + scheme + "://" + user +
                    "@127.0.0.1:" + std::to_string(port) +
                    "\"\nto = \"maildir:" + (dir_ / name).string() +
                    "\"\npassword_command = \"echo " + password + "\"\n";
    if (trust) t += "ca_file = \"" + server_->ca_file().string() + "\"\n";
    return t;
  }

  RunResult fetch(const std::string& config, std::vector<std::string> extra = {}) {
    const fs::path path = dir_ / "config.toml";
    std::ofstream(path) << config;
    std::vector<std::string> args = {
        "fetch", "-c", path.string(), "--state", (dir_ / "state.db").string(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions options;
    options.timeout_seconds = 120;
    return run_pop3kit(args, options);
  }

  static std::map<std::string, nlohmann::json> by_name(const nlohmann::json& j) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& a : j["accounts"])
      out[a["account"].get<std::string>()] = a;
    return out;
  }

  static DovecotServer* server_;
  static std::string error_;
  fs::path dir_;
};

DovecotServer* FetchManyTest::server_ = nullptr;
std::string FetchManyTest::error_;

TEST_F(FetchManyTest, EachAccountGetsItsOwnResultAndTheSlowOneStallsNoOther) {
  fill("slow");
  fill("badpw");
  for (int i = 0; i < kHealthy; ++i)
    fill(healthy(i));
  // About 0.6 s per round trip: the slow account's session takes seconds.
  LatencyProxy proxy(server_->tls_port(), 300);
  ASSERT_NE(proxy.port(), 0);
  std::string config;
  // The slow one first: it starts first and must hold nobody back.
  config += account("slow", "slow", proxy.port(), "pw-slow");
  for (int i = 0; i < kHealthy; ++i)
    config += account(healthy(i), healthy(i), server_->tls_port(), "pw-" + healthy(i));
  config += account("badpw", "badpw", server_->tls_port(), "not-the-password");
  config += account("refused", "healthy0", closed_port(), "pw-healthy0");
  // A certificate nobody trusts, and a server that speaks no TLS at all.
  config += account("untrusted", "healthy0", server_->tls_port(), "pw-healthy0", false);
  config += account("notls", "healthy0", server_->port(), "pw-healthy0");

  const RunResult r = fetch(config);
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out << r.err;
  // The most serious status: the refused login (77) before the
  // unavailable servers (69).
  EXPECT_EQ(r.exit_code, 77) << r.err;
  EXPECT_EQ(j["exit_code"].get<int>(), 77);
  auto a = by_name(j);
  ASSERT_EQ(a.size(), kHealthy + 5u) << r.out;

  for (int i = 0; i < kHealthy; ++i) {
    const auto& h = a[healthy(i)];
    EXPECT_EQ(h["exit_code"].get<int>(), 0) << h.dump();
    EXPECT_EQ(h["delivered"].get<int>(), kMessages) << h.dump();
    EXPECT_EQ(maildir_count(dir_ / healthy(i)), std::size_t{kMessages});
  }
  EXPECT_EQ(a["slow"]["exit_code"].get<int>(), 0) << a["slow"].dump();
  EXPECT_EQ(a["slow"]["delivered"].get<int>(), kMessages);
  EXPECT_EQ(maildir_count(dir_ / "slow"), std::size_t{kMessages});

  EXPECT_EQ(a["badpw"]["exit_code"].get<int>(), 77) << a["badpw"].dump();
  EXPECT_NE(a["badpw"]["error"].get<std::string>().find("login with"), std::string::npos);
  EXPECT_EQ(a["refused"]["exit_code"].get<int>(), 69) << a["refused"].dump();
  EXPECT_EQ(a["untrusted"]["exit_code"].get<int>(), 69) << a["untrusted"].dump();
  EXPECT_NE(a["untrusted"]["error"].get<std::string>().find("certificate"), std::string::npos)
      << a["untrusted"].dump();
  EXPECT_EQ(a["notls"]["exit_code"].get<int>(), 69) << a["notls"].dump();
  for (const char* failed : {"badpw", "refused", "untrusted", "notls"}) {
    EXPECT_EQ(a[failed]["delivered"].get<int>(), 0);
    EXPECT_EQ(maildir_count(dir_ / failed), 0u) << failed;
  }

  // Every other account is done while the slow one still runs.
  const double slow_end = a["slow"]["started"].get<double>() + a["slow"]["seconds"].get<double>();
  EXPECT_GT(a["slow"]["seconds"].get<double>(), 3.0) << a["slow"].dump();
  for (const auto& [name, o] : a) {
    if (name == "slow") continue;
    const double end = o["started"].get<double>() + o["seconds"].get<double>();
    EXPECT_LT(end, slow_end - 1.0) << name << " finished after the slow account: " << o.dump();
  }

  // A second run fetches nothing again; the failed accounts fail alike.
  const RunResult again = fetch(config);
  const auto j2 = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_FALSE(j2.is_discarded()) << again.out << again.err;
  for (const auto& o : j2["accounts"])
    EXPECT_EQ(o["delivered"].get<int>(), 0) << o.dump();
  EXPECT_EQ(again.exit_code, 77);
}

TEST_F(FetchManyTest, MaxPerHostBoundsTheSessionsToOneServer) {
  // Six accounts on one server behind a link slow enough for their
  // sessions to overlap when they may.
  LatencyProxy proxy(server_->tls_port(), 100);
  ASSERT_NE(proxy.port(), 0);
  std::string config;
  for (int i = 0; i < 6; ++i) {
    const std::string u = "host" + std::to_string(i);
    fill(u);
    config += account(u, u, proxy.port(), "pw-" + u);
  }
  const RunResult two = fetch(config, {"--max-per-host", "2", "--jobs", "16"});
  const auto j = nlohmann::json::parse(two.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << two.out << two.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(most_at_once(j["accounts"]), 2) << j.dump(1);

  // Without the bound (and a fresh state) they run side by side.
  std::error_code ec;
  fs::remove(dir_ / "state.db", ec);
  for (int i = 0; i < 6; ++i)
    fs::remove_all(dir_ / ("host" + std::to_string(i)), ec);
  const RunResult six = fetch(config, {"--max-per-host", "6", "--jobs", "16"});
  const auto j6 = nlohmann::json::parse(six.out, nullptr, false);
  ASSERT_FALSE(j6.is_discarded()) << six.out << six.err;
  ASSERT_EQ(six.exit_code, 0) << six.err;
  EXPECT_GT(most_at_once(j6["accounts"]), 2) << j6.dump(1);
  for (const auto& o : j6["accounts"])
    EXPECT_EQ(o["delivered"].get<int>(), kMessages) << o.dump();

  // --jobs bounds them all the same way.
  fs::remove(dir_ / "state.db", ec);
  const RunResult one = fetch(config, {"--max-per-host", "6", "--jobs", "3"});
  const auto j3 = nlohmann::json::parse(one.out, nullptr, false);
  ASSERT_FALSE(j3.is_discarded()) << one.out << one.err;
  EXPECT_LE(most_at_once(j3["accounts"]), 3) << j3.dump(1);
}

// On a terminal: a line per account under way and the run's totals while
// the accounts run (the one-at-a-time run: the account's own bar), all gone
// when the summary is printed; none with -q, -v or when standard error is
// not a terminal.
TEST_F(FetchManyTest, ProgressOnATerminalOnly) {
  // Behind a slow link, so that the accounts are seen under way.
  LatencyProxy proxy(server_->tls_port(), 50);
  ASSERT_NE(proxy.port(), 0);
  std::string config;
  for (int i = 0; i < 3; ++i) {
    fill(healthy(i));
    config += account(healthy(i), healthy(i), proxy.port(), "pw-" + healthy(i));
  }
  const fs::path path = dir_ / "config.toml";
  std::ofstream(path) << config;
  auto run = [&](std::vector<std::string> extra, bool terminal) {
    std::error_code ec;
    fs::remove(dir_ / "state.db", ec);
    for (int i = 0; i < 3; ++i)
      fs::remove_all(dir_ / healthy(i), ec);
    std::vector<std::string> args = {"fetch", "-c", path.string(), "--state",
                                     (dir_ / "state.db").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions options;
    options.timeout_seconds = 120;
    options.stderr_terminal = terminal;
    return run_pop3kit(args, options);
  };
  // What the terminal shows at the end: the summary (on standard error,
  // so that cron mails only failures with -q), and nothing of the bars.
  auto only_the_summary = [](const std::string& err) {
    TerminalScreen screen;
    screen.feed(err);
    const auto lines = screen.lines();
    bool ok = screen.unknown() == 0 && lines.size() == 3;
    for (std::size_t i = 0; ok && i < lines.size(); ++i)
      ok = lines[i].rfind(healthy(static_cast<int>(i)) + ": 3 new, 3 delivered", 0) == 0;
    return ok;
  };

  // Side by side: the board.
  const RunResult many = run({}, true);
  ASSERT_EQ(many.exit_code, 0) << many.err;
  EXPECT_TRUE(only_the_summary(many.err)) << many.err;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(many.err.find(healthy(i) + " connecting"), std::string::npos) << many.err;
    EXPECT_NE(many.err.find(healthy(i) + " ["), std::string::npos) << many.err;
  }
  EXPECT_NE(many.err.find("/3 messages"), std::string::npos) << many.err;
  EXPECT_NE(many.err.find("3/3 accounts done"), std::string::npos) << many.err;

  // One at a time: each account's bar in turn.
  const RunResult one = run({"--jobs", "1"}, true);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_TRUE(only_the_summary(one.err)) << one.err;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(one.err.find(healthy(i) + " [########################] 3/3 messages"),
              std::string::npos)
        << one.err;
  }

  // No bar: -q, -v, --json, or a file.
  for (const auto& extra : std::vector<std::vector<std::string>>{{"-q"}, {"-v"}, {"--json"}}) {
    const RunResult r = run(extra, true);
    ASSERT_EQ(r.exit_code, 0) << extra[0] << ": " << r.err;
    EXPECT_EQ(r.err.find("accounts done"), std::string::npos) << extra[0] << ": " << r.err;
    EXPECT_EQ(r.err.find("\033["), std::string::npos) << extra[0] << ": " << r.err;
    if (extra[0] != "-v") continue;
    // The trace of sessions at once: each line names its account.
    std::size_t traced = 0;
    std::istringstream lines(r.err);
    for (std::string line; std::getline(lines, line);) {
      const auto at = line.find("C: ");
      if (at == std::string::npos) continue;
      ++traced;
      const std::string label = line.substr(0, at);
      EXPECT_TRUE(label == healthy(0) + ": " || label == healthy(1) + ": " ||
                  label == healthy(2) + ": ")
          << line;
    }
    EXPECT_GE(traced, 3U * 4) << r.err;
  }
  const RunResult to_file = run({}, false);
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(to_file.err.find('\033'), std::string::npos) << to_file.err;
  EXPECT_EQ(to_file.err.find('\r'), std::string::npos) << to_file.err;
  EXPECT_TRUE(only_the_summary(to_file.err)) << to_file.err;
}

}  // namespace
}  // namespace pop3kit::test
