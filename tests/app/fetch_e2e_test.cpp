// `pop3kit fetch` end to end: the built binary against a throwaway Dovecot
// (tests/support), delivering into real Maildirs, mbox files and MDA
// commands, with a real state database.
//
// Oracles that do not come from pop3kit: dovecot_retr_body() (what Dovecot
// sends for a stored file) with CRLF turned into LF is what a delivered
// message must be; RawPop3 asks Dovecot for UIDs and what is left on the
// server; Python's mailbox module reads the mbox; a second Dovecot reads
// the Maildir pop3kit wrote; a listening socket of the test sees whether a
// run touched the network at all.
#include <gtest/gtest.h>

#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pop3kit/state.hpp"
#include "run_pop3kit.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// CRLF messages, LF messages, lines an mbox or POP3 must quote ("From ",
// ">From ", ".", ".."), a lone CR, 8-bit octets, no final line end.
const std::string kPlain =
    "From: a@example.org\r\nTo: carol@example.org\r\nSubject: plain\r\n\r\nHello.\r\n";
const std::string kFromLines =
    "From: b@example.org\nSubject: from lines\n\nFrom the start of a line\n>From quoted once\n"
    ">>From quoted twice\nFrom\nFromage\n.\n..\n.hidden\n...\nx\ry lone CR\n"
    "end without a line end";
const std::string kCrlfFrom =
    "Subject: crlf from\r\nFrom: c@example.org\r\n\r\nFrom here\r\n\r\nFrom there\r\n.\r\n"
    "..\r\n>From back\r\n";
const std::string kEightBit = "From: d@example.org\nSubject: eight bit\n\n\xC3\xA9t\xE9 \xFF\n" +
                              std::string(3000, 'L') + "\n";
const std::string kLater = "From: e@example.org\r\nSubject: later\r\n\r\nFrom later on\r\n";

const std::vector<std::string> kMessages = {kPlain, kFromLines, kCrlfFrom, kEightBit};

// What a delivered message must be: Dovecot's message with LF line ends.
std::string to_lf(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}
std::string delivered(const std::string& original) {
  return to_lf(dovecot_retr_body(original));
}
std::vector<std::string> delivered_all(const std::vector<std::string>& originals) {
  std::vector<std::string> out;
  for (const auto& m : originals)
    out.push_back(delivered(m));
  return out;
}
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> split_lines(const std::string& s, const std::string& sep = "\n") {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const auto end = s.find(sep, pos);
    if (end == std::string::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end + sep.size();
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& bytes, mode_t mode = 0600) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ::chmod(p.c_str(), mode);
}

// Regular files in a directory, sorted by name; none when it is missing.
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> contents_of(const std::vector<fs::path>& files) {
  std::vector<std::string> out;
  for (const auto& f : files)
    out.push_back(read_file(f));
  return out;
}

// The messages of a Maildir (new/ and cur/), contents sorted.
std::vector<std::string> maildir_messages(const fs::path& md) {
  auto all = files_in(md / "new");
  for (const auto& f : files_in(md / "cur"))
    all.push_back(f);
  return sorted(contents_of(all));
}

// The ",S=SIZE" of a Maildir file name; -1 when there is none.
long long size_in_name(const std::string& name) {
  const auto at = name.find(",S=");
  if (at == std::string::npos) return -1;
  std::size_t end = at + 3;
  while (end < name.size() && name[end] >= '0' && name[end] <= '9')
    ++end;
  if (end == at + 3) return -1;
  return std::stoll(name.substr(at + 3, end - at - 3));
}

// mboxrd as a reader sees it: messages start at lines "From "; the last line
// before the next one is the separating empty line; one '>' comes off every
// line that matches ^>+From .
std::vector<std::string> read_mboxrd(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  EXPECT_EQ(text.rfind("From ", 0), 0u) << "an mbox starts with a From_ line";
  std::vector<std::size_t> starts{0};
  for (std::size_t p = text.find("\nFrom "); p != std::string::npos;
       p = text.find("\nFrom ", p + 1))
    starts.push_back(p + 1);
  starts.push_back(text.size());
  for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
    std::string chunk = text.substr(starts[i], starts[i + 1] - starts[i]);
    const auto nl = chunk.find('\n');
    EXPECT_NE(nl, std::string::npos);
    EXPECT_EQ(chunk.rfind("From MAILER-DAEMON ", 0), 0u) << chunk.substr(0, nl);
    chunk.erase(0, nl + 1);
    EXPECT_TRUE(chunk.size() >= 2 && chunk.compare(chunk.size() - 2, 2, "\n\n") == 0)
        << "message " << i + 1 << " is not followed by an empty line";
    if (!chunk.empty()) chunk.pop_back();
    std::string message;
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      auto end = chunk.find('\n', pos);
      end = end == std::string::npos ? chunk.size() : end + 1;
      std::string line = chunk.substr(pos, end - pos);
      const auto gt = line.find_first_not_of('>');
      if (gt != 0 && gt != std::string::npos && line.compare(gt, 5, "From ") == 0) line.erase(0, 1);
      message += line;
      pos = end;
    }
    out.push_back(message);
  }
  return out;
}

// mboxrd quoting, for what a reader that does not unquote (mboxo: Python's
// mailbox.mbox) shows: one more '>' on every line matching ^>*From .
std::string mboxrd_quoted(const std::string& message) {
  std::string out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto end = message.find('\n', pos);
    end = end == std::string::npos ? message.size() : end + 1;
    const std::string line = message.substr(pos, end - pos);
    const auto gt = line.find_first_not_of('>');
    if (gt != std::string::npos && line.compare(gt, 5, "From ") == 0) out += '>';
    out += line;
    pos = end;
  }
  return out;
}

bool has_from_line(const std::string& message) {
  return mboxrd_quoted(message) != message;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// The body of a message: what follows the first empty line.
std::string body_of(const std::string& message) {
  const auto at = message.find("\n\n");
  return at == std::string::npos ? "" : message.substr(at + 2);
}

// Failure messages go to the test log, for a person reading it.
void show(const char* what, const RunResult& r) {
  std::printf("%s: exit %d: %s", what, r.exit_code, r.err.c_str());
}

nlohmann::json parse_json(const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << text;
    return nlohmann::json::object();
  }
}

// A per-test directory that others can traverse (for runs as nobody).
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "pop3kit-fetch-e2e-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
    ::chmod(path_.c_str(), 0711);
  }
  ~TempDir() {
    // Read-only directories left by a test must not stop the removal.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A loopback listener that nobody accepts on: a run that connects to it
// leaves a pending connection.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  std::uint16_t port() const { return port_; }
  bool connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::string slurp(std::FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, n);
  std::fclose(f);
  return s;
}

// run_pop3kit() as another user (for permissions, which root ignores, and
// for a Maildir that Dovecot's mail user must read).
RunResult run_pop3kit_as(uid_t uid, gid_t gid, const std::vector<std::string>& args,
                         const RunOptions& options) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  if (out == nullptr || err == nullptr) throw std::runtime_error("tmpfile failed");
  std::string bin = POP3KIT_BIN;
  std::vector<std::string> storage(args);
  std::vector<char*> argv{bin.data()};
  for (auto& a : storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::unsetenv("POP3KIT_PASSWORD");
    ::unsetenv("POP3KIT_TOKEN");
    for (const auto& [name, value] : options.env) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    ::dup2(::fileno(out), STDOUT_FILENO);
    ::dup2(::fileno(err), STDERR_FILENO);
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) std::_Exit(126);
    if (::chdir("/") != 0) std::_Exit(126);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        DovecotServer::start(
            {{"alice", "alice-secret"}, {"bob", "bob secret"}, {"carol", "carol-secret"}}, &error_)
            .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    for (const char* u : {"alice", "bob", "carol"})
      server_->clear_messages(u);
    state_ = (dir() / "state.db").string();
  }

  const fs::path& dir() const { return tmp_.path(); }
  static std::uint16_t port() { return server_->port(); }
  static std::string url(const std::string& user = "carol") {
    return "pop://" + user + "@127.0.0.1:" + std::to_string(port());
  }
  // The account's name in reports: USER@HOST:PORT.
  static std::string account(const std::string& user = "carol") {
    return user + "@127.0.0.1:" + std::to_string(port());
  }
  static store::AccountId account_id(const std::string& user = "carol") {
    return store::AccountId{"", user, "127.0.0.1", port()};
  }
  static RunOptions password(const std::string& pw = "carol-secret") {
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = pw;
    o.timeout_seconds = 30;
    return o;
  }
  static void add(const std::vector<std::string>& messages, const std::string& user = "carol") {
    for (const auto& m : messages)
      server_->add_message(user, m);
  }
  // `pop3kit fetch URL --to TO --state STATE EXTRA...` as carol.
  RunResult fetch(const std::string& to, const std::vector<std::string>& extra = {},
                  const std::string& state = "") const {
    std::vector<std::string> args{"fetch",       url(),
                                  "--to",        to,
                                  "--state",     state.empty() ? state_ : state,
                                  "--plaintext", "--allow-plaintext-password"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_pop3kit(args, password());
  }
  // The UIDs Dovecot gives carol's messages, in message-number order.
  static std::vector<std::string> uids(const std::string& user = "carol",
                                       const std::string& pw = "carol-secret") {
    RawPop3 c(port());
    c.line();
    c.command("USER " + user);
    EXPECT_EQ(c.command("PASS " + pw).rfind("+OK", 0), 0u);
    std::vector<std::string> out;
    if (c.command("UIDL").rfind("+OK", 0) != 0) return out;
    for (const auto& l : split_lines(c.multiline(), "\r\n"))
      out.push_back(l.substr(l.find(' ') + 1));
    c.command("QUIT");
    return out;
  }
  static std::size_t on_server(const std::string& user = "carol") {
    return server_->message_files(user).size();
  }

  static DovecotServer* server_;
  static std::string error_;
  TempDir tmp_;
  std::string state_;
};

DovecotServer* FetchTest::server_ = nullptr;
std::string FetchTest::error_;

// 1. Maildir: created, byte-exact messages with ",S=SIZE", nothing twice,
// a later message alone.
TEST_F(FetchTest, MaildirIsByteExactAndNothingIsFetchedTwice) {
  add(kMessages);
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* sub : {"cur", "new", "tmp"})
    EXPECT_TRUE(fs::is_directory(md / sub)) << sub;
  EXPECT_TRUE(files_in(md / "tmp").empty());
  EXPECT_TRUE(files_in(md / "cur").empty());
  const auto files = files_in(md / "new");
  ASSERT_EQ(files.size(), kMessages.size());
  for (const auto& f : files) {
    EXPECT_EQ(size_in_name(f.filename().string()), static_cast<long long>(fs::file_size(f)))
        << f.filename();
  }
  EXPECT_EQ(sorted(contents_of(files)), sorted(delivered_all(kMessages)));
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, account() + ": 4 new, 4 delivered (")) << r.err;
  EXPECT_EQ(on_server(), kMessages.size());  // --keep is the default

  const RunResult again = fetch("maildir:" + md.string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.err, account() + ": 0 new, 0 delivered")) << again.err;
  EXPECT_EQ(files_in(md / "new"), files);

  add({kLater});
  const RunResult third = fetch("maildir:" + md.string());
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_TRUE(contains(third.err, account() + ": 1 new, 1 delivered")) << third.err;
  auto now = files_in(md / "new");
  ASSERT_EQ(now.size(), files.size() + 1);
  std::vector<fs::path> fresh;
  std::set_difference(now.begin(), now.end(), files.begin(), files.end(),
                      std::back_inserter(fresh));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(read_file(fresh[0]), delivered(kLater));
  EXPECT_EQ(size_in_name(fresh[0].filename().string()),
            static_cast<long long>(delivered(kLater).size()));
}

// 2. --keep (the default) keeps everything; --delete empties the maildrop,
// also of messages a keeping run delivered before, without fetching them again.
TEST_F(FetchTest, KeepIsTheDefaultAndDeleteEmptiesTheMaildrop) {
  add({kPlain, kFromLines, kCrlfFrom});
  const fs::path md = dir() / "Mail";
  const RunResult keep = fetch("maildir:" + md.string(), {"--keep"});
  ASSERT_EQ(keep.exit_code, 0) << keep.err;
  EXPECT_EQ(on_server(), 3u);

  const RunResult del = fetch("maildir:" + md.string(), {"--delete"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_TRUE(contains(del.err, account() + ": 0 new, 0 delivered")) << del.err;
  EXPECT_TRUE(contains(del.err, ", 3 deleted, ")) << del.err;
  EXPECT_TRUE(server_->message_files("carol").empty());
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, kFromLines, kCrlfFrom})));

  // Straight to --delete: delivered, then deleted.
  add({kEightBit, kLater});
  const RunResult both = fetch("maildir:" + md.string(), {"--delete"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_TRUE(contains(both.err, account() + ": 2 new, 2 delivered (")) << both.err;
  EXPECT_TRUE(contains(both.err, ", 2 deleted, ")) << both.err;
  EXPECT_TRUE(server_->message_files("carol").empty());
  EXPECT_EQ(maildir_messages(md),
            sorted(delivered_all({kPlain, kFromLines, kCrlfFrom, kEightBit, kLater})));

  const RunResult none = fetch("maildir:" + md.string(), {"--delete"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(contains(none.err, account() + ": 0 new, 0 delivered")) << none.err;
  EXPECT_EQ(maildir_messages(md).size(), 5u);
}

// Python's mailbox.mbox, a reader that is not ours. It reads mboxo: a line
// "From " starts a message, the empty line before it is not part of the
// message, and ">From " is left as it is (it does not unquote).
constexpr const char* kPythonReader = R"PY(
import json, mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
out = []
for key in box.keys():
    msg = box.get_message(key)
    payload = msg.get_payload(decode=True)
    out.append({"from": msg.get_from(), "subject": msg["Subject"],
                "raw": box.get_bytes(key).hex(),
                "payload": None if payload is None else payload.hex()})
print(json.dumps(out))
)PY";

// 3. mbox: mboxrd as a reader splits and unquotes it; Python reads it too.
TEST_F(FetchTest, MboxIsMboxrdThatOtherReadersRead) {
  add(kMessages);
  const fs::path mbox = dir() / "inbox.mbox";
  const RunResult r = fetch("mbox:" + mbox.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, account() + ": 4 new, 4 delivered (")) << r.err;
  const std::string text = read_file(mbox);
  EXPECT_EQ(read_mboxrd(text), delivered_all(kMessages));
  EXPECT_FALSE(fs::exists(mbox.string() + ".lock"));

  const fs::path script = dir() / "read_mbox.py";
  write_file(script, kPythonReader);
  const std::string command = "python3 '" + script.string() + "' '" + mbox.string() + "'";
  std::FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << command << "\n" << out;
  const nlohmann::json py = parse_json(out);
  ASSERT_TRUE(py.is_array()) << out;
  ASSERT_EQ(py.size(), kMessages.size()) << out;
  const char* subjects[] = {"plain", "from lines", "crlf from", "eight bit"};
  for (std::size_t i = 0; i < kMessages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i + 1));
    const std::string expected = delivered(kMessages[i]);
    EXPECT_EQ(py[i]["subject"], subjects[i]);
    EXPECT_EQ(py[i]["from"].get<std::string>().rfind("MAILER-DAEMON ", 0), 0u) << py[i]["from"];
    const std::string raw = from_hex(py[i]["raw"].get<std::string>());
    // mboxo shows the quoting; the rest is the message itself.
    EXPECT_EQ(raw, mboxrd_quoted(expected));
    if (!has_from_line(expected)) {
      EXPECT_EQ(raw, expected);
      ASSERT_TRUE(py[i]["payload"].is_string());
      EXPECT_EQ(from_hex(py[i]["payload"].get<std::string>()), body_of(expected));
    }
  }

  // Nothing is appended twice; a new message is appended alone.
  const RunResult again = fetch("mbox:" + mbox.string());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_file(mbox), text);
  add({kLater});
  const RunResult later = fetch("mbox:" + mbox.string());
  EXPECT_EQ(later.exit_code, 0) << later.err;
  const std::string after = read_file(mbox);
  EXPECT_EQ(after.substr(0, text.size()), text);
  EXPECT_EQ(read_mboxrd(after.substr(text.size())), std::vector{delivered(kLater)});
}

// 4. MDA: one command per message, the message with LF on its input; a
// command that fails fails its message, which stays on the server.
TEST_F(FetchTest, MdaGetsEachMessageAndItsFailureKeepsIt) {
  add(kMessages);
  const fs::path out = dir() / "mda";
  fs::create_directory(out);
  const RunResult r = fetch("mda:cat > '" + out.string() + "'/msg.$$", {"--delete"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sorted(contents_of(files_in(out))), sorted(delivered_all(kMessages)));
  EXPECT_TRUE(server_->message_files("carol").empty());

  // Every message fails: all stay, the exit status says so.
  add(kMessages);
  const fs::path state2 = dir() / "state2.db";
  const RunResult fail = fetch("mda:exit 1", {"--delete"}, state2.string());
  EXPECT_NE(fail.exit_code, 0) << fail.err;
  EXPECT_EQ(on_server(), kMessages.size());
  EXPECT_TRUE(contains(fail.err, account() + ": 4 new, 0 delivered")) << fail.err;
  EXPECT_TRUE(contains(fail.err, ", 0 deleted, ")) << fail.err;
  EXPECT_TRUE(contains(fail.err, ", 4 failed")) << fail.err;
  const auto ids = uids();
  ASSERT_EQ(ids.size(), kMessages.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(contains(fail.err, "message " + std::to_string(i + 1) + " (UID " + ids[i] + ")"))
        << fail.err;
  }

  // One message fails: the others are delivered and deleted, it stays.
  const fs::path out3 = dir() / "mda3";
  fs::create_directory(out3);
  const std::string picky = "mda:f='" + out3.string() +
                            "'/msg.$$; cat > \"$f\"; "
                            "if grep -q '^Subject: crlf from' \"$f\"; then rm \"$f\"; exit 3; fi";
  const RunResult one = fetch(picky, {"--delete"}, (dir() / "state3.db").string());
  EXPECT_NE(one.exit_code, 0) << one.err;
  EXPECT_TRUE(contains(one.err, "message 3 (UID " + ids[2] + ")")) << one.err;
  EXPECT_TRUE(contains(one.err, ", 1 failed")) << one.err;
  EXPECT_EQ(sorted(contents_of(files_in(out3))),
            sorted(delivered_all({kPlain, kFromLines, kEightBit})));
  const auto left = server_->message_files("carol");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(read_file(left[0]), kCrlfFrom);
}

// 5. --max-size: the big message stays and is named; the small ones go.
TEST_F(FetchTest, MaxSizeLeavesBigMessagesOnTheServer) {
  std::string big = "From: big@example.org\r\nSubject: big\r\n\r\n";
  for (int i = 0; i < 4000; ++i)
    big += "line " + std::to_string(i) + " of a message larger than the limit\r\n";
  add({kPlain, big, kCrlfFrom});
  const auto ids = uids();
  ASSERT_EQ(ids.size(), 3u);
  const fs::path md = dir() / "Mail";
  const RunResult j = fetch("maildir:" + md.string(), {"--max-size", "100k", "--delete", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const nlohmann::json doc = parse_json(j.out);
  ASSERT_TRUE(doc.contains("accounts")) << j.out;
  ASSERT_EQ(doc["accounts"].size(), 1u) << j.out;
  const nlohmann::json& a = doc["accounts"][0];
  EXPECT_EQ(a["delivered"], 2);
  EXPECT_EQ(a["deleted"], 2);
  ASSERT_EQ(a["skipped_too_big"].size(), 1u) << j.out;
  EXPECT_EQ(a["skipped_too_big"][0]["number"], 2);
  EXPECT_EQ(a["skipped_too_big"][0]["uid"], ids[1]);
  EXPECT_EQ(a["skipped_too_big"][0]["size"], dovecot_list_size(big));
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, kCrlfFrom})));
  const auto left = server_->message_files("carol");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(read_file(left[0]), big);

  // Without --json: on stderr, with its number and UID (now message 1).
  const RunResult t = fetch("maildir:" + md.string(), {"--max-size", "100k"});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(contains(t.err, "message 1 (UID " + ids[1] + ") is " +
                                  std::to_string(dovecot_list_size(big)) +
                                  " octets, over --max-size"))
      << t.err;
  EXPECT_TRUE(contains(t.err, ", 1 skipped (too big)")) << t.err;
  EXPECT_EQ(on_server(), 1u);
  // Without the limit it comes.
  const RunResult all = fetch("maildir:" + md.string());
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, big, kCrlfFrom})));
}

// 6. --dry-run: a list on stdout, nothing delivered, deleted or recorded.
TEST_F(FetchTest, DryRunChangesNothing) {
  add({kPlain, kFromLines, kCrlfFrom});
  const auto ids = uids();
  ASSERT_EQ(ids.size(), 3u);
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string(), {"--dry-run", "--delete"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected = account() + ": would fetch 3 message(s)\n";
  const std::string* messages[] = {&kPlain, &kFromLines, &kCrlfFrom};
  for (std::size_t i = 0; i < 3; ++i) {
    expected += "  " + std::to_string(i + 1) + " " +
                std::to_string(dovecot_list_size(*messages[i])) + " " + ids[i] + "\n";
  }
  EXPECT_EQ(r.out, expected);
  // Nothing created: no Maildir, no state database (with an mbox neither).
  EXPECT_FALSE(fs::exists(md));
  EXPECT_FALSE(fs::exists(state_));
  const RunResult mbox = fetch("mbox:" + (dir() / "dry.mbox").string(), {"--dry-run"});
  ASSERT_EQ(mbox.exit_code, 0) << mbox.err;
  EXPECT_FALSE(fs::exists(dir() / "dry.mbox"));
  EXPECT_EQ(on_server(), 3u);
  // With a state database, a dry run reads it and leaves its records alone.
  ASSERT_EQ(fetch("maildir:" + md.string(), {"--dry-run"}).exit_code, 0);
  {
    auto state = store::StateStore::open(state_);
    ASSERT_TRUE(state.ok()) << state.error().message;
    auto records = state->records(account_id());
    ASSERT_TRUE(records.ok()) << records.error().message;
    EXPECT_TRUE(records->empty());
  }
  ASSERT_EQ(fetch("maildir:" + md.string(), {"--dry-run"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(md));
  const RunResult real = fetch("maildir:" + md.string());
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_TRUE(contains(real.err, account() + ": 3 new, 3 delivered (")) << real.err;
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, kFromLines, kCrlfFrom})));
}

// 7. --json: one document on stdout, the counts of what happened.
TEST_F(FetchTest, JsonCountsWhatHappened) {
  add({kPlain, kFromLines, kCrlfFrom});
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string(), {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  nlohmann::json doc = parse_json(r.out);
  EXPECT_EQ(doc["exit_code"], 0);
  ASSERT_EQ(doc["accounts"].size(), 1u) << r.out;
  nlohmann::json a = doc["accounts"][0];
  std::uint64_t octets = 0;
  for (const auto& m : {kPlain, kFromLines, kCrlfFrom})
    octets += delivered(m).size();
  EXPECT_EQ(a["account"], account());
  EXPECT_EQ(a["destination"], "maildir:" + md.string());
  EXPECT_EQ(a["listed"], 3);
  EXPECT_EQ(a["new"], 3);
  EXPECT_EQ(a["delivered"], 3);
  EXPECT_EQ(a["octets"], octets);
  EXPECT_EQ(a["deleted"], 0);
  EXPECT_EQ(a["recovered"], 0);
  EXPECT_EQ(a["skipped_too_big"], nlohmann::json::array());
  EXPECT_EQ(a["failed"], nlohmann::json::array());
  EXPECT_EQ(a["uidl"], true);
  EXPECT_EQ(a["exit_code"], 0);
  EXPECT_TRUE(a["error"].is_null()) << a["error"];

  add({kLater});
  const RunResult d = fetch("maildir:" + md.string(), {"--json", "--delete"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  doc = parse_json(d.out);
  a = doc["accounts"][0];
  EXPECT_EQ(a["listed"], 4);
  EXPECT_EQ(a["new"], 1);
  EXPECT_EQ(a["delivered"], 1);
  EXPECT_EQ(a["octets"], delivered(kLater).size());
  EXPECT_EQ(a["deleted"], 4);
  EXPECT_TRUE(server_->message_files("carol").empty());

  // A failure is in the document too, with its exit status.
  add({kPlain});
  const RunResult f = fetch("mda:exit 1", {"--json"}, (dir() / "state-mda.db").string());
  EXPECT_NE(f.exit_code, 0);
  doc = parse_json(f.out);
  EXPECT_EQ(doc["exit_code"], f.exit_code);
  a = doc["accounts"][0];
  EXPECT_EQ(a["delivered"], 0);
  ASSERT_EQ(a["failed"].size(), 1u) << f.out;
  EXPECT_EQ(a["failed"][0]["number"], 1);
  EXPECT_EQ(a["exit_code"], f.exit_code);
}

// 8. The config file: two accounts, [defaults], password_command; all, one,
// or an unknown name.
TEST_F(FetchTest, ConfigFileAccounts) {
  add({kPlain, kFromLines}, "alice");
  add({kCrlfFrom}, "bob");
  const fs::path config = dir() / "config.toml";
  const std::string p = std::to_string(port());
  write_file(config,
             "# two accounts\n"
             "[defaults]\n"
             "plaintext = true\n"
             "allow_plaintext_password = true\n"
             "keep = true\n"
             "\n"
             "[account.alice]\n"
             "url = \"pop://alice@127.0.0.1:" +
                 p + "\"\n" + "to = \"maildir:" + (dir() / "alice").string() + "\"\n" +
                 "password_command = \"echo alice-secret\"\n"
                 "\n"
                 "[account.bob]\n"
                 "url = \"pop://bob@127.0.0.1:" +
                 p + "\"\n" + "to = \"maildir:" + (dir() / "bob").string() + "\"\n" +
                 "password_command = 'echo \"bob secret\"'\n",
             0600);
  RunOptions options;
  options.timeout_seconds = 30;
  const RunResult both = run_pop3kit({"fetch", "-c", config.string(), "--state", state_}, options);
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_TRUE(contains(both.err, "alice: 2 new, 2 delivered (")) << both.err;
  EXPECT_TRUE(contains(both.err, "bob: 1 new, 1 delivered (")) << both.err;
  EXPECT_EQ(maildir_messages(dir() / "alice"), sorted(delivered_all({kPlain, kFromLines})));
  EXPECT_EQ(maildir_messages(dir() / "bob"), delivered_all({kCrlfFrom}));
  EXPECT_EQ(server_->message_files("alice").size(), 2u);  // keep = true

  add({kLater}, "alice");
  add({kEightBit}, "bob");
  const RunResult one =
      run_pop3kit({"fetch", "-c", config.string(), "--state", state_, "alice"}, options);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_TRUE(contains(one.err, "alice: 1 new, 1 delivered (")) << one.err;
  EXPECT_FALSE(contains(one.err, "bob")) << one.err;
  EXPECT_EQ(maildir_messages(dir() / "alice"), sorted(delivered_all({kPlain, kFromLines, kLater})));
  EXPECT_EQ(maildir_messages(dir() / "bob"), delivered_all({kCrlfFrom}));

  const RunResult unknown =
      run_pop3kit({"fetch", "-c", config.string(), "--state", state_, "carol"}, options);
  EXPECT_EQ(unknown.exit_code, 64) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "\"carol\"")) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "accounts: alice, bob")) << unknown.err;
  EXPECT_EQ(maildir_messages(dir() / "bob"), delivered_all({kCrlfFrom}));

  const RunResult rest = run_pop3kit({"fetch", "-c", config.string(), "--state", state_}, options);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_TRUE(contains(rest.err, "alice: 0 new, 0 delivered")) << rest.err;
  EXPECT_TRUE(contains(rest.err, "bob: 1 new, 1 delivered (")) << rest.err;
  EXPECT_EQ(maildir_messages(dir() / "bob"), sorted(delivered_all({kCrlfFrom, kEightBit})));
}

// A literal password in a config file only its owner can read is used.
TEST_F(FetchTest, ConfigLiteralPassword) {
  add({kPlain});
  const fs::path secret = dir() / "secret.toml";
  write_file(secret,
             "[account.carol]\n"
             "url = \"pop://carol@127.0.0.1:" +
                 std::to_string(port()) + "\"\n" + "to = \"maildir:" + (dir() / "carol").string() +
                 "\"\n" +
                 "password = \"carol-secret\"\n"
                 "plaintext = true\n"
                 "allow_plaintext_password = true\n",
             0600);
  RunOptions options;
  options.timeout_seconds = 30;
  const RunResult r = run_pop3kit({"fetch", "-c", secret.string(), "--state", state_}, options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(maildir_messages(dir() / "carol"), delivered_all({kPlain}));
}

// 9. A bad config file: 78, FILE:LINE and the key, before any connection,
// before the state database and the Maildir are touched.
TEST_F(FetchTest, BadConfigFailsBeforeTheNetwork) {
  Listener listener;
  const std::string head =
      "[account.x]\n"
      "url = \"pop://x@127.0.0.1:" +
      std::to_string(listener.port()) + "\"\n" + "to = \"maildir:" + (dir() / "Mail").string() +
      "\"\n" + "plaintext = true\n" + "allow_plaintext_password = true\n";
  struct Case {
    const char* what;
    std::string text;
    mode_t mode;
    std::vector<std::string> expected;
  };
  const fs::path file = dir() / "config.toml";
  const std::string f = file.string();
  const std::vector<Case> cases = {
      {"syntax", head + "keep = tru\n", 0600, {f + ":6:", "(key 'keep')"}},
      {"unknown key", head + "colour = \"red\"\n", 0600, {f + ":6:", "unknown key 'colour'"}},
      {"wrong type", head + "keep = \"yes\"\n", 0600, {f + ":6:", "'keep' must be true or false"}},
      {"unknown table", "[acount.x]\nurl = \"pop://x@h\"\n", 0600, {f + ":1:", "'acount'"}},
      {"password readable by others",
       head + "password = \"s3cret-Pa55word\"\n",
       0644,
       {f + ": holds a password", "chmod 600"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    write_file(file, c.text, c.mode);
    RunOptions options;
    options.env["POP3KIT_PASSWORD"] = "env-password";
    options.timeout_seconds = 20;
    const RunResult r = run_pop3kit({"fetch", "-c", f, "--state", state_}, options);
    show(c.what, r);
    EXPECT_EQ(r.exit_code, 78) << r.err;
    for (const auto& e : c.expected)
      EXPECT_TRUE(contains(r.err, e)) << "want \"" << e << "\" in:\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(contains(r.err, "s3cret")) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(listener.connected());
    EXPECT_FALSE(fs::exists(state_));
    EXPECT_FALSE(fs::exists(dir() / "Mail"));
  }
}

// 10. A second fetcher of the account: 75 within the lock wait, naming the
// holder's pid; nothing fetched or deleted.
TEST_F(FetchTest, SecondFetcherOfTheAccountGivesUp) {
  add({kPlain, kCrlfFrom});
  const fs::path md = dir() / "Mail";
  auto state = store::StateStore::open(state_);
  ASSERT_TRUE(state.ok()) << state.error().message;
  {
    auto lock = state->lock(account_id(), 0ms);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    const auto start = std::chrono::steady_clock::now();
    const RunResult r = fetch("maildir:" + md.string(), {"--delete"});
    const auto took = std::chrono::steady_clock::now() - start;
    show("locked account", r);
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_LT(took, 10s);
    EXPECT_TRUE(contains(r.err, "by pid " + std::to_string(::getpid()) + " on ")) << r.err;
    EXPECT_TRUE(files_in(md / "new").empty());
    EXPECT_EQ(on_server(), 2u);
  }
  // Released: the next run goes through.
  const RunResult r = fetch("maildir:" + md.string(), {"--delete"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, kCrlfFrom})));
  EXPECT_EQ(on_server(), 0u);
}

// 11. Bad local state: refused with the path, nothing fetched or deleted.
TEST_F(FetchTest, CorruptStateDatabase) {
  add({kPlain, kCrlfFrom});
  std::string garbage;
  for (int i = 0; i < 8192; ++i)
    garbage.push_back(static_cast<char>((i * 7919 + 13) & 0xff));
  write_file(state_, garbage);
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string(), {"--delete"});
  show("corrupt state", r);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 75);
  EXPECT_TRUE(contains(r.err, state_)) << r.err;
  EXPECT_TRUE(files_in(md / "new").empty());
  EXPECT_EQ(on_server(), 2u);
  EXPECT_EQ(read_file(state_), garbage);  // left alone
}

TEST_F(FetchTest, BusyStateDatabase) {
  const fs::path md = dir() / "Mail";
  ASSERT_EQ(fetch("maildir:" + md.string()).exit_code, 0);  // creates the database
  add({kPlain, kCrlfFrom});
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(state_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  const RunResult r = fetch("maildir:" + md.string(), {"--delete"});
  show("busy state", r);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_TRUE(contains(r.err, state_)) << r.err;
  EXPECT_TRUE(files_in(md / "new").empty());
  EXPECT_EQ(on_server(), 2u);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const RunResult ok = fetch("maildir:" + md.string(), {"--delete"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(on_server(), 0u);
}

TEST_F(FetchTest, StateDirectoryCannotBeCreated) {
  add({kPlain});
  const fs::path blocker = dir() / "blocker";
  write_file(blocker, "a file, not a directory\n");
  const std::string state = (blocker / "sub" / "state.db").string();
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string(), {"--delete"}, state);
  show("state directory", r);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, (blocker / "sub").string())) << r.err;
  EXPECT_TRUE(files_in(md / "new").empty());
  EXPECT_EQ(on_server(), 1u);
}

TEST_F(FetchTest, MaildirThatIsAFile) {
  add({kPlain, kCrlfFrom});
  const fs::path md = dir() / "Mail";
  write_file(md, "not a maildir\n");
  const RunResult r = fetch("maildir:" + md.string(), {"--delete"});
  show("maildir is a file", r);
  EXPECT_EQ(r.exit_code, 73) << r.err;
  EXPECT_TRUE(contains(r.err, md.string())) << r.err;
  EXPECT_EQ(read_file(md), "not a maildir\n");
  EXPECT_EQ(on_server(), 2u);
}

// Root writes through permissions: the binary runs as nobody then.
TEST_F(FetchTest, ReadOnlyMaildir) {
  add({kPlain, kCrlfFrom});
  const fs::path shared = dir() / "shared";
  fs::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  const fs::path md = dir() / "ro";
  for (const fs::path& d : {md, md / "cur", md / "new", md / "tmp"})
    fs::create_directory(d);
  for (const fs::path& d : {md / "cur", md / "new", md / "tmp", md})
    ::chmod(d.c_str(), 0555);
  const std::vector<std::string> args{"fetch",
                                      url(),
                                      "--to",
                                      "maildir:" + md.string(),
                                      "--state",
                                      (shared / "state.db").string(),
                                      "--delete",
                                      "--plaintext",
                                      "--allow-plaintext-password"};
  const RunResult r = ::geteuid() == 0 ? run_pop3kit_as(65534, 65534, args, password())
                                       : run_pop3kit(args, password());
  show("read-only maildir", r);
  EXPECT_EQ(r.exit_code, 73) << r.err;
  EXPECT_TRUE(contains(r.err, md.string())) << r.err;
  EXPECT_TRUE(contains(r.err, "Permission denied")) << r.err;
  EXPECT_TRUE(files_in(md / "new").empty());
  EXPECT_EQ(on_server(), 2u);
}

// 12. A real reader of the Maildir: a second Dovecot serves what pop3kit
// delivered, also a message a mail reader moved to cur/ and marked seen.
TEST_F(FetchTest, DovecotServesTheDeliveredMaildir) {
  add(kMessages);
  std::string error;
  const auto reader = DovecotServer::start({{"reader", "reader-secret"}}, &error);
  ASSERT_NE(reader, nullptr) << error;
  const fs::path md = reader->maildir("reader");
  struct stat st {};
  ASSERT_EQ(::stat(md.c_str(), &st), 0) << md;
  // pop3kit runs as the Maildir's owner, as a user fetching their own mail.
  const fs::path shared = dir() / "shared";
  fs::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  const std::vector<std::string> args{"fetch",       url(),
                                      "--to",        "maildir:" + md.string(),
                                      "--state",     (shared / "state.db").string(),
                                      "--plaintext", "--allow-plaintext-password"};
  auto run = [&] {
    return ::geteuid() == 0 && st.st_uid != 0
               ? run_pop3kit_as(st.st_uid, st.st_gid, args, password())
               : run_pop3kit(args, password());
  };
  const RunResult r = run();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto fresh = files_in(md / "new");
  ASSERT_EQ(fresh.size(), kMessages.size());
  // A mail reader has seen one: cur/NAME:2,S.
  fs::rename(fresh[0], md / "cur" / (fresh[0].filename().string() + ":2,S"));

  RawPop3 c(reader->port());
  c.line();
  c.command("USER reader");
  ASSERT_EQ(c.command("PASS reader-secret").rfind("+OK", 0), 0u) << reader->log_tail();
  const std::string stat_line = c.command("STAT");
  ASSERT_EQ(stat_line.rfind("+OK " + std::to_string(kMessages.size()) + " ", 0), 0u) << stat_line;
  std::vector<std::string> bodies;
  std::vector<std::uint64_t> sizes;
  for (std::size_t n = 1; n <= kMessages.size(); ++n) {
    const std::string list = c.command("LIST " + std::to_string(n));
    ASSERT_EQ(list.rfind("+OK ", 0), 0u) << list;
    sizes.push_back(std::stoull(list.substr(list.rfind(' ') + 1)));
    ASSERT_EQ(c.command("RETR " + std::to_string(n)).rfind("+OK", 0), 0u);
    bodies.push_back(c.multiline());
  }
  c.command("QUIT");
  std::vector<std::string> expected;
  std::vector<std::uint64_t> expected_sizes;
  for (const auto& m : kMessages) {
    expected.push_back(dovecot_retr_body(m));
    expected_sizes.push_back(dovecot_list_size(delivered(m)));
  }
  std::sort(sizes.begin(), sizes.end());
  std::sort(expected_sizes.begin(), expected_sizes.end());
  EXPECT_EQ(sorted(bodies), sorted(expected));
  EXPECT_EQ(sizes, expected_sizes);

  // pop3kit's next run knows them all, wherever the reader put them.
  const RunResult again = run();
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.err, ": 0 new, 0 delivered")) << again.err;
  EXPECT_EQ(files_in(md / "new").size() + files_in(md / "cur").size(), kMessages.size());
}

// 13. -q: a run that went well prints nothing at all.
TEST_F(FetchTest, QuietPrintsNothing) {
  add({kPlain, kCrlfFrom});
  const fs::path md = dir() / "Mail";
  const RunResult r = fetch("maildir:" + md.string(), {"-q", "--delete"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(maildir_messages(md), sorted(delivered_all({kPlain, kCrlfFrom})));
  EXPECT_EQ(on_server(), 0u);
  const RunResult none = fetch("maildir:" + md.string(), {"-q"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out + none.err, "");
  // -q hides no failure.
  add({kPlain});
  const RunResult fail = fetch("mda:exit 1", {"-q"}, (dir() / "other.db").string());
  EXPECT_NE(fail.exit_code, 0);
  EXPECT_TRUE(contains(fail.err, "message 1 (UID ")) << fail.err;
}

}  // namespace
}  // namespace pop3kit::test
