// `pop3kit fetch` of many accounts at once, stopped by a signal while the
// messages arrive (fetch_many.cpp, signals.hpp), against a real Dovecot
// behind the latency proxy. Eight accounts of twenty messages (50 to 200
// KB each) run side by side; once an eighth of the messages are being
// written, the test sends SIGTERM or SIGINT.
//
// The first signal winds the run down: the command ends killed by that
// signal, nothing is left in any tmp/, every message in new/ is whole, the
// state database records exactly what is in new/ (no intent left behind),
// and the summary says what was delivered. A second signal ends the
// command at once: still nothing in tmp/ and nothing half written in new/.
// Either way a run without signal then completes: every message of every
// account delivered exactly once and, with --delete, the maildrops empty.
//
// And a signal while the accounts' connections get no answer ends those
// connects at once, not at their timeout.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "latency_proxy.hpp"
#include "run_pop3kit.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kAccounts = 8;
constexpr int kPerAccount = 20;
constexpr int kTotal = kAccounts * kPerAccount;
// Each way: a round trip costs 100 ms, so the sessions' logins, DELE and
// QUIT take long enough for the signal to find every account busy.
constexpr int kDelayMs = 50;
// From the signal to the command's end. What is left then is bounded and
// local: at most 2 MiB queued per account to write, one open batch per
// account to commit (a syncfs and one SQLite transaction), no network wait
// (the sessions are cancelled, no QUIT is sent). That takes well under a
// few seconds even on a loaded two-core machine with a virtual disk; 15 s
// leaves room for a slow flush and still tells a run that winds down from
// one that goes on fetching or hangs.
constexpr auto kWindDown = std::chrono::seconds(15);

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The message with CRLF line ends turned into LF, as fetch stores it.
std::string to_lf(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

std::string subject_of(const std::string& message) {
  const std::string key = "\nSubject: ";
  const auto at = message.find(key);
  if (at == std::string::npos) return {};
  const auto end = message.find('\n', at + key.size());
  return message.substr(at + key.size(), end - at - key.size());
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  return out;
}

// A message reserved as `name` is in the Maildir `md` (new/ or cur/, with
// the ",S=" size and any ":2," info a reader adds).
bool has_reserved(const fs::path& md, const std::string& name) {
  for (const char* sub : {"new", "cur"}) {
    for (const auto& f : files_in(md / sub)) {
      const std::string base = f.filename().string();
      if (base == name || base.rfind(name + ",", 0) == 0 || base.rfind(name + ":", 0) == 0)
        return true;
    }
  }
  return false;
}

// A message of about `size` octets with CRLF line ends: headers with a
// unique Subject, then lines of random text (some starting with a dot, so
// the server stuffs them).
std::string make_message(const std::string& subject, std::size_t size, std::mt19937& rng) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ ";
  std::uniform_int_distribution<int> pick(0, sizeof kAlphabet - 2);
  std::string m = "From: sender@example.org\r\nTo: user@example.org\r\nSubject: " + subject +
                  "\r\nMessage-ID: <" + std::to_string(rng()) + "@cancel.test>\r\n\r\n";
  for (int line = 0; m.size() < size; ++line) {
    if (line % 37 == 0) m += '.';
    for (int i = 0; i < 76; ++i)
      m += kAlphabet[pick(rng)];
    m += "\r\n";
  }
  return m;
}

// One record of the state database.
struct Row {
  std::string account, uid, state, destination, location;
  std::uint64_t size = 0;
};

// Every record, read with SQLite itself (not through pop3kit).
std::vector<Row> state_rows(const fs::path& path, std::string* error) {
  std::vector<Row> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    *error = "cannot open " + path.string() + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  sqlite3_stmt* st = nullptr;
  const char* sql = "SELECT account, uid, state, destination, location, size FROM messages";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
    *error = std::string("cannot read the records: ") + sqlite3_errmsg(db);
  } else {
    auto text = [&](int col) {
      const auto* p = sqlite3_column_text(st, col);
      return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
    };
    while (sqlite3_step(st) == SQLITE_ROW) {
      rows.push_back({text(0), text(1), text(2), text(3), text(4),
                      static_cast<std::uint64_t>(sqlite3_column_int64(st, 5))});
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

// What a signal did to a run.
struct Case {
  const char* name;
  int first;       // the signal sent once deliveries are under way
  int second;      // sent right after, or 0
  bool delete_ok;  // fetch --delete
};

// Named in test names and messages.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class FetchCancelTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    std::vector<MailUser> users;
    for (int i = 0; i < kAccounts; ++i)
      users.push_back({user(i), "pw-" + user(i)});
    server_ = DovecotServer::start(users, &error_, ServerCert::good, 64).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    std::string templ = (fs::temp_directory_path() / "pop3kit-cancel-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string user(int i) { return "u" + std::to_string(i); }
  static std::string name(int i) { return "a" + std::to_string(i); }
  fs::path maildir(int i) const { return dir_ / name(i); }

  // Fills every maildrop with fresh messages, stored straight into the
  // user's Maildir/new (what dovecot-sandbox add-message does, without a
  // process per message), and notes what each must arrive as.
  void fill() {
    std::mt19937 rng(20261202);
    std::uniform_int_distribution<std::size_t> size(50 * 1024, 200 * 1024);
    static std::uint64_t seq = 0;
    for (int i = 0; i < kAccounts; ++i) {
      server_->clear_messages(user(i));
      const fs::path md = server_->maildir(user(i));
      struct stat st {};
      ASSERT_EQ(::stat(md.c_str(), &st), 0) << md;
      for (int n = 0; n < kPerAccount; ++n) {
        const std::string subject = name(i) + " message " + std::to_string(n);
        const std::string source = make_message(subject, size(rng), rng);
        expected_[subject] = to_lf(dovecot_retr_body(source));
        // Names whose time field keeps the order.
        const std::string base = "1700000000.M" + std::to_string(100000 + ++seq) + "P" +
                                 std::to_string(::getpid()) + ".pop3kit-cancel";
        const fs::path tmp = md / "tmp" / base;
        std::ofstream(tmp, std::ios::binary) << source;
        ASSERT_EQ(::chown(tmp.c_str(), st.st_uid, st.st_gid), 0);
        ASSERT_EQ(::chmod(tmp.c_str(), 0600), 0);
        fs::rename(tmp, md / "new" / base);
      }
    }
    std::string config;
    for (int i = 0; i < kAccounts; ++i) {
      config += "\n[account." + name(i) + "]\nurl = \"pops://" + user(i) +
                "@127.0.0.1:" + std::to_string(proxy_->port()) +
                "\"\nto = \"maildir:" + maildir(i).string() + "\"\npassword_command = \"echo pw-" +
                user(i) + "\"\nca_file = \"" + server_->ca_file().string() + "\"\n";
    }
    std::ofstream(dir_ / "config.toml") << config;
  }

  std::vector<std::string> args() const {
    std::vector<std::string> a = {"fetch",
                                  "-c",
                                  (dir_ / "config.toml").string(),
                                  "--state",
                                  (dir_ / "state.db").string(),
                                  "--json",
                                  "--jobs",
                                  "8",
                                  "--max-per-host",
                                  "8"};
    if (GetParam().delete_ok) a.emplace_back("--delete");
    return a;
  }

  // Files in the accounts' tmp/ and new/: messages begun.
  std::size_t begun() const {
    std::size_t n = 0;
    for (int i = 0; i < kAccounts; ++i)
      n += files_in(maildir(i) / "tmp").size() + files_in(maildir(i) / "new").size();
    return n;
  }

  // Files in the accounts' new/: messages committed.
  std::size_t committed() const {
    std::size_t n = 0;
    for (int i = 0; i < kAccounts; ++i)
      n += files_in(maildir(i) / "new").size();
    return n;
  }

  // What the accounts' Maildirs hold: the copies of each message, and
  // every file in tmp/ or with content that is not a message's whole.
  std::map<std::string, int> copies(std::vector<std::string>& problems) const {
    std::map<std::string, int> out;
    for (int i = 0; i < kAccounts; ++i) {
      for (const auto& f : files_in(maildir(i) / "tmp"))
        problems.push_back("left in tmp/: " + f.string());
      for (const char* sub : {"new", "cur"}) {
        for (const auto& f : files_in(maildir(i) / sub)) {
          const std::string content = read_file(f);
          const std::string subject = subject_of(content);
          const auto it = expected_.find(subject);
          if (it == expected_.end() || subject.rfind(name(i) + " ", 0) != 0) {
            problems.push_back("not a message of " + name(i) + ": " + f.string());
          } else if (content != it->second) {
            problems.push_back("not whole (" + std::to_string(content.size()) + " of " +
                               std::to_string(it->second.size()) + " octets): " + f.string());
          } else {
            ++out[subject];
          }
        }
      }
    }
    return out;
  }

  // Every message recorded delivered (or deleted) is at its destination,
  // whole. Returns the records; `intents` counts those still intents.
  std::vector<Row> check_state(std::vector<std::string>& problems, int& intents) const {
    std::string error;
    const auto rows = state_rows(dir_ / "state.db", &error);
    if (!error.empty()) problems.push_back(error);
    intents = 0;
    for (const auto& r : rows) {
      if (r.state == "intent") {
        ++intents;
        continue;
      }
      if (r.destination.rfind("maildir:", 0) != 0) {
        problems.push_back("record of " + r.uid + " to " + r.destination);
        continue;
      }
      const fs::path md = r.destination.substr(8);
      if (r.location.find('/') == std::string::npos) {
        // Confirmed by a later run's recovery, which records the name
        // reserved (NAME, size 0), not where the file went (new/NAME,S=N).
        if (!has_reserved(md, r.location))
          problems.push_back(r.state + " " + r.uid + " (recovered) missing: " + r.location);
        continue;
      }
      const fs::path file = md / r.location;
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      if (ec) {
        problems.push_back(r.state + " " + r.uid + " missing at " + file.string());
      } else if (size != r.size) {
        problems.push_back(r.state + " " + r.uid + ": " + std::to_string(size) +
                           " octets, recorded " + std::to_string(r.size));
      }
    }
    return rows;
  }

  static std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
      out += "  " + l + "\n";
    return out;
  }

  static DovecotServer* server_;
  static std::string error_;
  fs::path dir_;
  std::optional<LatencyProxy> proxy_;
  std::map<std::string, std::string> expected_;  // Subject -> the message as stored
};

DovecotServer* FetchCancelTest::server_ = nullptr;
std::string FetchCancelTest::error_;

TEST_P(FetchCancelTest, TheRunEndsCleanAndARerunCompletesExactlyOnce) {
  const Case& c = GetParam();
  proxy_.emplace(server_->tls_port(), kDelayMs);
  ASSERT_NE(proxy_->port(), 0);
  fill();
  if (HasFatalFailure()) return;

  RunOptions options;
  options.timeout_seconds = 30;  // from the signal on; then SIGKILL (exit 137)
  const auto started_at = Clock::now();
  Started run = start_pop3kit(args(), options);
  // Deliveries under way: an eighth of the messages begun (tmp/ or new/;
  // a count that only grows, so the poll cannot miss it). For two signals,
  // a batch committed too (a file in new/): the second then finds commits
  // under way, messages moved into new/ and not yet recorded.
  bool under_way = false;
  while (Clock::now() - started_at < std::chrono::seconds(30)) {
    if (begun() >= kTotal / 8 && (c.second == 0 || committed() > 0)) {
      under_way = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!under_way) ::kill(run.pid, SIGKILL);
  const auto signalled_at = Clock::now();
  ::kill(run.pid, c.first);
  if (c.second != 0) {
    // At once: the command takes SIGINT first (its signal thread reads the
    // lower number first when both wait, and SIGINT was sent first), then
    // SIGTERM right after, long before the wind-down could be over, however
    // loaded the machine. Two signals of one number could merge into one.
    ::kill(run.pid, c.second);
  }
  const RunResult r = finish_pop3kit(run);
  const auto wind_down = Clock::now() - signalled_at;
  const double ran = std::chrono::duration<double>(signalled_at - started_at).count();
  ASSERT_TRUE(under_way) << "no deliveries under way after 30 s:\n" << r.err;
  const int by = c.second != 0 ? c.second : c.first;
  EXPECT_EQ(r.exit_code, 128 + by) << r.err;
  EXPECT_LT(wind_down, kWindDown) << "ended " << std::chrono::duration<double>(wind_down).count()
                                  << " s after the signal";

  std::vector<std::string> problems;
  const auto first = copies(problems);
  int intents = 0;
  const auto rows = check_state(problems, intents);
  EXPECT_TRUE(problems.empty()) << "after the signal (" << ran << " s in):\n" << join(problems);
  int in_maildirs = 0;
  for (const auto& [subject, n] : first) {
    EXPECT_EQ(n, 1) << subject;
    in_maildirs += n;
  }
  std::size_t on_server = 0;
  for (int i = 0; i < kAccounts; ++i)
    on_server += server_->message_files(user(i)).size();
  std::cout << c.name << ": signal " << ran << " s in, ended "
            << std::chrono::duration<double>(wind_down).count() << " s after it, " << in_maildirs
            << " of " << kTotal << " messages delivered, " << intents << " intent(s) left, "
            << on_server << " on the server\n";
  // The run was stopped before its end, else this tested nothing: with
  // --delete a maildrop still holds messages (a whole run empties them),
  // without it a message is not delivered.
  if (c.delete_ok) {
    EXPECT_GT(on_server, 0u) << "the signal came after the run was done (" << ran << " s in)";
  } else {
    EXPECT_LT(in_maildirs, kTotal) << "the signal came after the run was done (" << ran << " s in)";
  }

  if (c.second == 0) {
    // Wound down: what was stored is recorded, and only that; the summary
    // says so.
    EXPECT_EQ(intents, 0);
    std::size_t recorded = 0;
    for (const auto& row : rows)
      recorded += row.state != "intent" ? 1 : 0;
    EXPECT_EQ(recorded, static_cast<std::size_t>(in_maildirs));
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "no summary:\n" << r.out << r.err;
    ASSERT_EQ(j["accounts"].size(), std::size_t{kAccounts}) << j.dump(1);
    for (const auto& a : j["accounts"]) {
      const int i = std::stoi(a["account"].get<std::string>().substr(1));
      EXPECT_EQ(a["delivered"].get<std::size_t>(), files_in(maildir(i) / "new").size()) << a.dump();
    }
  }

  // A run without signal completes the fetch: each message exactly once.
  RunOptions rerun_options;
  rerun_options.timeout_seconds = 60;
  const RunResult again = run_pop3kit(args(), rerun_options);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  problems.clear();
  const auto all = copies(problems);
  check_state(problems, intents);
  EXPECT_TRUE(problems.empty()) << "after the rerun:\n" << join(problems);
  EXPECT_EQ(intents, 0);
  EXPECT_EQ(all.size(), expected_.size()) << "messages missing after the rerun";
  for (const auto& [subject, n] : all)
    EXPECT_EQ(n, 1) << subject;
  std::string error;
  const auto rows_after = state_rows(dir_ / "state.db", &error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(rows_after.size(), std::size_t{kTotal});
  for (const auto& row : rows_after) {
    // With --delete, "deleted" once a QUIT was answered. A message can stay
    // "delivered" with the server's copy gone: the signal came between
    // the QUIT and its answer (the server expunged, the answer was never
    // read). The maildrops below are what must be empty.
    if (c.delete_ok) {
      EXPECT_TRUE(row.state == "deleted" || row.state == "delivered")
          << row.uid << " " << row.state;
    } else {
      EXPECT_EQ(row.state, "delivered") << row.uid;
    }
  }
  for (int i = 0; i < kAccounts; ++i) {
    EXPECT_EQ(server_->message_files(user(i)).size(), c.delete_ok ? 0u : std::size_t{kPerAccount})
        << user(i);
  }
}

// A listener whose accept queue is full: a new connection's SYN is dropped
// and its connect() waits (an address that does not answer). Returns its
// port; the descriptors stay open in `fds`.
std::uint16_t unanswering_port(std::vector<int>& fds) {
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  fds.push_back(l);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 0) != 0) return 0;
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  for (int i = 0; i < 4; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fds.push_back(c);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  return ntohs(a.sin_port);
}

// Connections to 127.0.0.1:port still waiting for the SYN's answer
// (SYN_SENT in /proc/net/tcp).
int syn_sent_to(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  int n = 0;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    n += remote == want && state == "02" ? 1 : 0;
  }
  return n;
}

// The signal comes while the accounts' connections get no answer: the
// connects end at once, not when their timeout (60 s here) runs out.
TEST(FetchCancelConnectTest, ASignalEndsTheConnectsWaitingForAnAnswer) {
  std::vector<int> fds;
  const std::uint16_t dead = unanswering_port(fds);
  ASSERT_NE(dead, 0);
  std::string templ = (fs::temp_directory_path() / "pop3kit-cancel-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  const fs::path dir = templ;
  std::string config;
  for (const char* name : {"x", "y"}) {
    config += std::string("\n[account.") + name +
              "]\nurl = \"pop://u@127.0.0.1:" + std::to_string(dead) +
              "\"\nto = \"maildir:" + (dir / name).string() +
              "\"\npassword_command = \"echo pw\"\nconnect_timeout = 60\n";
  }
  std::ofstream(dir / "config.toml") << config;
  // The test's own connections that filled the queue wait too.
  const int before = syn_sent_to(dead);
  RunOptions options;
  options.timeout_seconds = 60;
  Started run = start_pop3kit({"fetch", "-c", (dir / "config.toml").string(), "--state",
                               (dir / "state.db").string(), "--json", "--jobs", "8"},
                              options);
  const auto started_at = Clock::now();
  while (syn_sent_to(dead) < before + 2 && Clock::now() - started_at < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const int connecting = syn_sent_to(dead) - before;
  const auto signalled_at = Clock::now();
  ::kill(run.pid, SIGTERM);
  const RunResult r = finish_pop3kit(run);
  const auto wind_down = Clock::now() - signalled_at;
  for (const int fd : fds)
    ::close(fd);
  std::error_code ec;
  fs::remove_all(dir, ec);
  EXPECT_EQ(connecting, 2) << "the accounts were not connecting when the signal came";
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_LT(wind_down, kWindDown) << "ended " << std::chrono::duration<double>(wind_down).count()
                                  << " s after the signal";
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out << r.err;
  for (const auto& a : j["accounts"])
    EXPECT_NE(a["error"].get<std::string>().find("cancelled"), std::string::npos) << a.dump();
}

INSTANTIATE_TEST_SUITE_P(Signals, FetchCancelTest,
                         ::testing::Values(Case{"SigtermDelete", SIGTERM, 0, true},
                                           Case{"SigintDelete", SIGINT, 0, true},
                                           Case{"SigtermKeep", SIGTERM, 0, false},
                                           Case{"SecondSignalDelete", SIGINT, SIGTERM, true}),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace pop3kit::test
