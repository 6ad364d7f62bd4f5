// Crash and fault trials of `pop3kit fetch --delete` (label "crash"): the
// built binary against a throwaway Dovecot, checking the promise of
// pop3kit/fetch.hpp. A message is DELE'd only after it is durable at its
// destination and counts as deleted only after QUIT +OK, so a crash or a
// fault at any instant neither loses nor duplicates a message (Maildir and
// mbox, a server with UIDL).
//
// Every message carries a marker (in its Message-ID and on its first and
// last body lines), so each delivered copy can be counted and compared byte
// for byte with what the server held. The trials:
//
//  KillDuringDelete        SIGKILL spread over the run (plan_kill): by time
//                          over one uninterrupted run (at 0, and past its
//                          end), or just after the k-th message reaches the
//                          destination, or during commit, DELE and QUIT;
//                          Maildir, and mbox for every 4th trial; every 10th
//                          maildrop holds messages of 7 MB, so that a run
//                          has several batches (16 MB each; the command has
//                          no option for smaller ones). A killed mbox run
//                          leaves its dot-lock: the rerun must get past it.
//  ServerCutsConnection    a proxy in the test closes both sides (FIN or
//                          RST) after a random number of octets from the
//                          server.
//  KillWhileReaderMoves    a mail reader moves new/ to cur/ (":2,S") while
//                          fetch runs, is killed and runs again.
//  EmptyDotLockLeftByAKill an empty mbox dot-lock (pop3kit now makes its
//                          lock with the pid in it; other programs may not):
//                          75, then the age rule.
//  DiskFull                the destination on a 2 MB tmpfs (or, when mount
//                          is refused, a file size limit on the child).
//
// After a fault, before anything runs again: every message gone from the
// server is at the destination, complete, once. After a rerun that exits 0:
// every message is there exactly once, nothing is left in tmp/, the
// maildrop is empty.
//
// Environment (defaults keep CI short; scripts/crash-trials runs more):
//   POP3KIT_CRASH_SEED=N           seed (default fixed: reproducible)
//   POP3KIT_CRASH_TRIALS=N         KillDuringDelete trials (default 100)
//   POP3KIT_CUT_TRIALS=N           ServerCutsConnection trials (default 30)
//   POP3KIT_READER_TRIALS=N        KillWhileReaderMoves trials (default 15)
//   POP3KIT_CRASH_ONLY_TRIAL=T     run only trial T of each test
//   POP3KIT_CRASH_DELAY_US=N       force the kill delay (or the cut offset)
//   POP3KIT_DISKFULL=fsize         use the file size limit even as root
// A failure names the seed, the trial and its delay or cut offset, and
// keeps the trial's directory.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/dovecot.hpp"

#ifndef POP3KIT_BIN
#error "POP3KIT_BIN must name the pop3kit binary"
#endif

extern char** environ;

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

const char* const kPassword = "crash-secret";

// ---------------------------------------------------------------- settings

std::optional<std::uint64_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (end == nullptr || *end != '\0') {
    ADD_FAILURE() << name << "=" << v << " is not a number";
    return std::nullopt;
  }
  return n;
}

std::uint64_t seed() {
  return env_number("POP3KIT_CRASH_SEED").value_or(20260101);
}

std::uint64_t trials(const char* name, std::uint64_t ci_default) {
  return env_number(name).value_or(ci_default);
}

bool selected(std::uint64_t trial) {
  const auto only = env_number("POP3KIT_CRASH_ONLY_TRIAL");
  return !only || *only == trial;
}

// One generator per (test, trial): a trial can be run alone and gets the
// same maildrop.
std::mt19937_64 trial_rng(std::uint64_t test_tag, std::uint64_t trial) {
  std::seed_seq s{seed(), test_tag, trial};
  return std::mt19937_64(s);
}

std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
  return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
}

// ---------------------------------------------------------------- messages

struct Message {
  std::string marker;    // unique: "crash-SEED-TEST-TRIAL-I"
  std::string source;    // as stored on the server, CRLF line ends
  std::string expected;  // as a destination must hold it: LF line ends
};

std::string lf(const std::string& crlf) {
  std::string out;
  out.reserve(crlf.size());
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out += crlf[i];
  }
  return out;
}

// About `size` octets; filler lines never start with "From " or ".".
Message make_message(std::mt19937_64& rng, const std::string& marker, std::size_t size) {
  std::string s = "From: sender@example.org\r\nTo: crash@example.org\r\nSubject: " + marker +
                  "\r\nMessage-ID: <" + marker + "@pop3kit.test>\r\n\r\nbegin " + marker + "\r\n";
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string line;
  while (s.size() < size) {
    const std::size_t len = uniform(rng, 1, 76);
    line.assign(len, 'x');
    for (std::size_t i = 0; i < len; ++i)
      line[i] = kAlphabet[uniform(rng, 0, sizeof kAlphabet - 2)];
    line[0] = 'x';  // never "From " nor a dot
    s += line;
    s += "\r\n";
  }
  s += "end " + marker + "\r\n";
  Message m{marker, s, {}};
  m.expected = lf(m.source);
  return m;
}

enum class Profile { mixed, multi_batch, full_disk };

// 30 to 60 messages: mostly small, some 10-60 KB, at least 3 of 100-400 KB
// (so that kills land inside messages); multi_batch adds three of 7 MB
// (batches close at 16 MB).
std::vector<Message> make_maildrop(std::mt19937_64& rng, const std::string& prefix,
                                   Profile profile) {
  std::vector<Message> out;
  const std::size_t n = profile == Profile::full_disk ? 24 : uniform(rng, 30, 60);
  std::vector<std::size_t> large;
  for (std::size_t i = 0; i < 3; ++i)
    large.push_back(uniform(rng, 0, n - 1));
  std::vector<std::size_t> huge;
  if (profile == Profile::multi_batch) {
    for (std::size_t i = 0; i < 3; ++i)
      huge.push_back(uniform(rng, 0, n - 1));
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t size = 0;
    const auto roll = uniform(rng, 0, 99);
    if (profile == Profile::full_disk) {
      // Large and small alternating: once the disk is full, some small
      // ones still fit.
      size = i % 3 == 2 ? uniform(rng, 300, 2000) : uniform(rng, 150'000, 250'000);
    } else if (std::find(huge.begin(), huge.end(), i) != huge.end()) {
      size = 7'000'000;
    } else if (std::find(large.begin(), large.end(), i) != large.end() || roll < 8) {
      size = uniform(rng, 100'000, 400'000);
    } else if (roll < 28) {
      size = uniform(rng, 10'000, 60'000);
    } else {
      size = uniform(rng, 200, 4'000);
    }
    out.push_back(make_message(rng, prefix + "-" + std::to_string(i), size));
  }
  return out;
}

std::string read_file(const fs::path& p, bool* missing = nullptr) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (missing != nullptr) *missing = true;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// The marker of a message's text ("" when none).
std::string marker_of(const std::string& text) {
  const std::string key = "Message-ID: <";
  const auto at = text.find(key);
  if (at == std::string::npos) return {};
  const auto end = text.find('@', at);
  if (end == std::string::npos) return {};
  return text.substr(at + key.size(), end - at - key.size());
}

// Stores the maildrop directly in the user's Maildir/new (what
// dovecot-sandbox add-message does, without a process per message), with
// names whose time fields keep the order.
void fill_maildrop(DovecotServer& server, const std::string& user,
                   const std::vector<Message>& messages) {
  const fs::path md = server.maildir(user);
  struct stat st {};
  if (::stat(md.c_str(), &st) != 0) throw std::runtime_error("no maildir " + md.string());
  static std::uint64_t seq = 0;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto sec = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  for (const auto& m : messages) {
    const std::string base = std::to_string(sec) + ".M" + std::to_string(100000 + ++seq) + "P" +
                             std::to_string(::getpid()) + ".pop3kit-crash";
    const fs::path tmp = md / "tmp" / base;
    write_file(tmp, m.source);
    if (::chown(tmp.c_str(), st.st_uid, st.st_gid) != 0 || ::chmod(tmp.c_str(), 0600) != 0)
      throw std::runtime_error("cannot chown " + tmp.string());
    fs::rename(tmp, md / "new" / base);
  }
}

// ---------------------------------------------------------------- what is where

// Complete copies per marker, and what is wrong.
struct Count {
  std::map<std::string, int> copies;
  std::vector<std::string> problems;  // partial or unknown content
  std::size_t tmp_files = 0;
};

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// What a Maildir destination holds, in new/ and cur/ (and how many tmp/
// files). A file is known by its base name (without ":2,..."): one moved
// from new/ to cur/ between the two listings is one message. A file that
// vanished between listing and reading (moved by the reader) makes the scan
// start again.
Count count_maildir(const fs::path& dir, const std::map<std::string, const Message*>& by_marker) {
  for (int attempt = 0;; ++attempt) {
    Count c;
    std::map<std::string, fs::path> files;  // base name -> path (cur/ wins)
    for (const char* sub : {"new", "cur"}) {
      for (const auto& name : list_dir(dir / sub))
        files[name.substr(0, name.find(':'))] = dir / sub / name;
    }
    bool vanished = false;
    for (const auto& [base, path] : files) {
      bool missing = false;
      const std::string text = read_file(path, &missing);
      if (missing) {
        vanished = true;
        break;
      }
      const std::string where =
          path.parent_path().filename().string() + "/" + path.filename().string();
      const std::string marker = marker_of(text);
      const auto it = by_marker.find(marker);
      if (it == by_marker.end()) {
        c.problems.push_back(where + ": no known marker (" + std::to_string(text.size()) +
                             " octets)");
      } else if (text != it->second->expected) {
        c.problems.push_back(where + ": " + marker + " has " + std::to_string(text.size()) +
                             " octets, expected " + std::to_string(it->second->expected.size()));
      } else {
        ++c.copies[marker];
      }
    }
    if (vanished && attempt < 50) {
      std::this_thread::sleep_for(milliseconds(5));
      continue;
    }
    c.tmp_files = list_dir(dir / "tmp").size();
    return c;
  }
}

// What an mbox holds: messages start at "From " lines (the test's messages
// have no body line that starts so), each followed by one empty line.
// `strict`: a last message cut short is a problem (after a rerun); otherwise
// it is the uncommitted tail of a killed run, which recovery truncates.
Count count_mbox(const fs::path& file, const std::map<std::string, const Message*>& by_marker,
                 bool strict) {
  Count c;
  const std::string text = read_file(file);
  std::vector<std::size_t> starts;
  if (text.starts_with("From ")) starts.push_back(0);
  for (std::size_t at = text.find("\nFrom "); at != std::string::npos;
       at = text.find("\nFrom ", at + 1))
    starts.push_back(at + 1);
  if (!text.empty() && (starts.empty() || starts.front() != 0))
    c.problems.push_back("the mbox does not start with a From_ line");
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : text.size();
    const std::string chunk = text.substr(starts[k], end - starts[k]);
    const auto eol = chunk.find('\n');
    const std::string body = eol == std::string::npos ? "" : chunk.substr(eol + 1);
    const std::string marker = marker_of(body);
    const auto it = by_marker.find(marker);
    const bool last = k + 1 == starts.size();
    if (it != by_marker.end() && body == it->second->expected + "\n") {
      ++c.copies[marker];
    } else if (!strict && last) {
      // The tail of a killed run's open batch.
    } else {
      c.problems.push_back("mbox offset " + std::to_string(starts[k]) + ": " +
                           (marker.empty() ? "no known marker" : marker) + ", " +
                           std::to_string(body.size()) + " octets, not the message");
    }
  }
  return c;
}

// The markers still on the server. new/ is read before cur/: Dovecot only
// moves files from new/ to cur/, so a message moving meanwhile is seen. A
// file that vanished between listing and reading makes the whole scan
// start again.
std::map<std::string, int> server_markers(const DovecotServer& server, const std::string& user) {
  const fs::path md = server.maildir(user);
  for (int attempt = 0;; ++attempt) {
    std::map<std::string, int> out;
    bool vanished = false;
    for (const char* sub : {"new", "cur"}) {
      for (const auto& name : list_dir(md / sub)) {
        bool missing = false;
        const std::string text = read_file(md / sub / name, &missing);
        if (missing) {
          vanished = true;
          continue;
        }
        ++out[marker_of(text)];
      }
    }
    if (!vanished || attempt > 20) return out;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// ---------------------------------------------------------------- running the binary

struct Outcome {
  int exit_code = -1;   // or 128 + signal
  bool killed = false;  // by the trial's SIGKILL (not finished before it)
  microseconds took{};
  microseconds triggered{-1};  // when Spawn::trigger fired
  std::string out, err;
};

struct Spawn {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  // SIGKILL this long after the start, or after `trigger` first returned
  // true (polled every 200 us) when there is one.
  std::optional<microseconds> kill_after;
  std::function<bool()> trigger;
  std::optional<rlim_t> file_size_limit;  // RLIMIT_FSIZE, SIGXFSZ ignored
  int timeout_seconds = 120;
  fs::path output_dir;  // stdout/stderr files go here
};

// fork/exec of the binary. The test has threads (proxy, reader), so the
// child does only async-signal-safe work: everything is prepared before fork.
Outcome spawn(const Spawn& s) {
  std::vector<std::string> argv_s{POP3KIT_BIN};
  argv_s.insert(argv_s.end(), s.args.begin(), s.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    if (name == "POP3KIT_PASSWORD" || name == "POP3KIT_TOKEN" || s.env.count(name) != 0) continue;
    env_s.push_back(kv);
  }
  for (const auto& [k, v] : s.env)
    env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  const fs::path out_path = s.output_dir / "stdout";
  const fs::path err_path = s.output_dir / "stderr";
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open outputs");
  struct rlimit limit {};
  if (s.file_size_limit) limit.rlim_cur = limit.rlim_max = *s.file_size_limit;

  Outcome r;
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &sa, nullptr);
    if (s.file_size_limit) {
      sa.sa_handler = SIG_IGN;  // writes past the limit fail with EFBIG
      ::sigaction(SIGXFSZ, &sa, nullptr);
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  ::close(null_fd);

  int status = 0;
  bool done = false;
  if (s.kill_after) {
    auto from = t0;
    if (s.trigger) {
      while (!s.trigger()) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          done = true;
          break;
        }
        if (Clock::now() - t0 > std::chrono::seconds(s.timeout_seconds)) break;
        std::this_thread::sleep_for(microseconds(200));
      }
      from = Clock::now();
      r.triggered = std::chrono::duration_cast<microseconds>(from - t0);
    }
    const auto at = from + *s.kill_after;
    // Sleep to just before the moment, then poll: the kill lands within
    // tens of microseconds of it, unless the run ended first.
    while (!done) {
      const auto now = Clock::now();
      if (now >= at) break;
      if (at - now > milliseconds(2)) {
        std::this_thread::sleep_for(at - now - milliseconds(1));
      } else {
        std::this_thread::sleep_for(microseconds(20));
      }
      if (::waitpid(pid, &status, WNOHANG) == pid) done = true;
    }
    if (!done) {
      ::kill(pid, SIGKILL);
      r.killed = true;
    }
  }
  const auto deadline = t0 + std::chrono::seconds(s.timeout_seconds);
  while (!done) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "(timed out after " + std::to_string(s.timeout_seconds) + " s) ";
      break;
    }
    std::this_thread::sleep_for(microseconds(200));
  }
  r.took = std::chrono::duration_cast<microseconds>(Clock::now() - t0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.killed && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) r.killed = false;
  r.out = read_file(out_path);
  r.err += read_file(err_path);
  return r;
}

// ---------------------------------------------------------------- a cutting proxy

// Between fetch and Dovecot: copies both ways, and after `cut` octets from
// the server closes both sides (with RST when asked). One connection at a
// time, on a thread of its own.
class CuttingProxy {
 public:
  explicit CuttingProxy(std::uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("proxy: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  std::uint16_t port() const { return port_; }
  // The next connections are cut after `octets` from the server (none: not cut).
  void arm(std::optional<std::uint64_t> octets, bool reset) {
    std::lock_guard<std::mutex> g(mutex_);
    cut_ = octets;
    reset_ = reset;
  }
  // Octets the last connection carried from the server, and whether it was cut.
  std::pair<std::uint64_t, bool> last() {
    std::lock_guard<std::mutex> g(mutex_);
    return {last_octets_, last_cut_};
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      relay(client);
    }
  }

  static bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  void relay(int client) {
    std::optional<std::uint64_t> cut;
    bool reset = false;
    {
      std::lock_guard<std::mutex> g(mutex_);
      cut = cut_;
      reset = reset_;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(upstream_);
    std::uint64_t from_server = 0;
    bool was_cut = false;
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::vector<char> buf(64 * 1024);
      bool open = true;
      if (cut && *cut == 0) open = false, was_cut = true;
      while (open && !stop_) {
        pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (::poll(p, 2, 50) <= 0) continue;
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          const ssize_t n = ::recv(client, buf.data(), buf.size(), 0);
          if (n <= 0 || !write_all(server, buf.data(), static_cast<std::size_t>(n))) break;
        }
        if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          const ssize_t n = ::recv(server, buf.data(), buf.size(), 0);
          if (n <= 0) break;
          std::size_t pass = static_cast<std::size_t>(n);
          if (cut && from_server + pass >= *cut) {
            pass = static_cast<std::size_t>(*cut - from_server);
            open = false;
            was_cut = true;
          }
          if (pass > 0 && !write_all(client, buf.data(), pass)) break;
          from_server += pass;
        }
      }
    }
    if (was_cut && reset) {
      const linger l{1, 0};  // close() sends RST
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(server);
    ::close(client);
    std::lock_guard<std::mutex> g(mutex_);
    last_octets_ = from_server;
    last_cut_ = was_cut;
  }

  std::uint16_t upstream_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::optional<std::uint64_t> cut_;
  bool reset_ = false;
  std::uint64_t last_octets_ = 0;
  bool last_cut_ = false;
};

// ---------------------------------------------------------------- a mail reader

// Moves every file of new/ to cur/ with ":2,S" appended, as a mail reader
// that saw it does, until stopped.
class MailReader {
 public:
  explicit MailReader(fs::path maildir) : dir_(std::move(maildir)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~MailReader() { stop(); }
  MailReader(const MailReader&) = delete;
  MailReader& operator=(const MailReader&) = delete;
  void stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
  }
  std::uint64_t moved() const { return moved_; }

 private:
  void loop() {
    while (!stop_) {
      for (const auto& name : list_dir(dir_ / "new")) {
        if (name.starts_with(".") || name.find(':') != std::string::npos) continue;
        if (::rename((dir_ / "new" / name).c_str(), (dir_ / "cur" / (name + ":2,S")).c_str()) == 0)
          ++moved_;
      }
      std::this_thread::sleep_for(microseconds(300));
    }
  }
  fs::path dir_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> moved_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------- the fixture

struct Dest {
  bool mbox = false;
  fs::path path;
  std::string spec() const { return (mbox ? "mbox:" : "maildir:") + path.string(); }
};

class FetchCrashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ =
        DovecotServer::start(
            {{"kill", kPassword}, {"cut", kPassword}, {"reader", kPassword}, {"full", kPassword}},
            &error_)
            .release();
    char tmpl[] = "/tmp/pop3kit-crash-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) top_ = tmpl;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (!top_.empty() && !keep_top_) {
      std::error_code ec;
      fs::remove_all(top_, ec);
    } else if (!top_.empty()) {
      std::cerr << "[crash] kept " << top_ << " (failed trials)\n";
    }
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    ASSERT_FALSE(top_.empty());
    std::cout << "[crash] seed " << seed() << " (POP3KIT_CRASH_SEED)\n";
  }

  static std::string url(const std::string& user, std::uint16_t port) {
    return "pop://" + user + "@127.0.0.1:" + std::to_string(port);
  }

  // A fresh directory for one trial.
  static fs::path trial_dir(const std::string& name) {
    const fs::path d = top_ / name;
    std::error_code ec;
    fs::remove_all(d, ec);
    fs::create_directories(d);
    return d;
  }

  static Spawn fetch(const fs::path& dir, const std::string& user, std::uint16_t port,
                     const Dest& dest) {
    Spawn s;
    s.args = {"--plaintext",
              "--allow-plaintext-password",
              "fetch",
              url(user, port),
              "--delete",
              "--to",
              dest.spec(),
              "--state",
              (dir / "state.db").string()};
    s.env["POP3KIT_PASSWORD"] = kPassword;
    s.env["XDG_STATE_HOME"] = (dir / "xdg-state").string();
    s.env["XDG_CONFIG_HOME"] = (dir / "xdg-config").string();
    s.output_dir = dir;
    return s;
  }

  static std::map<std::string, const Message*> index(const std::vector<Message>& messages) {
    std::map<std::string, const Message*> m;
    for (const auto& msg : messages)
      m[msg.marker] = &msg;
    return m;
  }

  static Count count(const Dest& dest, const std::vector<Message>& messages, bool strict) {
    const auto by_marker = index(messages);
    return dest.mbox ? count_mbox(dest.path, by_marker, strict)
                     : count_maildir(dest.path, by_marker);
  }

  // After a fault, before anything runs again: no message is gone from the
  // server without being complete at the destination, none is there twice.
  static std::string check_no_loss(const Dest& dest, const std::vector<Message>& messages,
                                   const std::string& user) {
    // Dovecot may still be expunging after a QUIT it answered: that only
    // makes messages vanish later, never come back, so an early look
    // cannot report a loss that is not one.
    const auto on_server = server_markers(*server_, user);
    const Count c = count(dest, messages, false);
    std::string why;
    for (const auto& p : c.problems)
      why += "  " + p + "\n";
    std::size_t lost = 0, twice = 0;
    for (const auto& m : messages) {
      const auto it = c.copies.find(m.marker);
      const int copies = it == c.copies.end() ? 0 : it->second;
      if (copies > 1) {
        ++twice;
        why += "  " + m.marker + ": " + std::to_string(copies) + " copies\n";
      }
      if (copies == 0 && on_server.count(m.marker) == 0) {
        ++lost;
        why += "  " + m.marker + ": gone from the server, not at the destination\n";
      }
    }
    if (!why.empty())
      why = "after the fault: " + std::to_string(lost) + " lost, " + std::to_string(twice) +
            " duplicated\n" + why;
    return why;
  }

  // After a clean rerun: everything exactly once, nothing in tmp/, the
  // maildrop empty.
  static std::string check_final(const Dest& dest, const std::vector<Message>& messages,
                                 const std::string& user, std::uint64_t* lost_out = nullptr,
                                 std::uint64_t* dup_out = nullptr) {
    std::map<std::string, int> on_server;
    for (int i = 0; i < 100; ++i) {
      on_server = server_markers(*server_, user);
      if (on_server.empty()) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    const Count c = count(dest, messages, true);
    std::string why;
    for (const auto& p : c.problems)
      why += "  " + p + "\n";
    std::uint64_t lost = 0, twice = 0;
    for (const auto& m : messages) {
      const auto it = c.copies.find(m.marker);
      const int copies = it == c.copies.end() ? 0 : it->second;
      if (copies != 1) {
        (copies == 0 ? lost : twice) += 1;
        why += "  " + m.marker + ": " + std::to_string(copies) + " copies" +
               (on_server.count(m.marker) != 0 ? " (still on the server)" : "") + "\n";
      }
    }
    if (!dest.mbox && c.tmp_files != 0)
      why += "  " + std::to_string(c.tmp_files) + " file(s) left in tmp/\n";
    if (!on_server.empty())
      why += "  the maildrop still holds " + std::to_string(on_server.size()) + " message(s)\n";
    if (lost_out != nullptr) *lost_out += lost;
    if (dup_out != nullptr) *dup_out += twice;
    if (!why.empty())
      why = "after the rerun: " + std::to_string(lost) + " lost, " + std::to_string(twice) +
            " duplicated\n" + why;
    return why;
  }

  // Runs (unkilled) until exit 0, at most 3 times; "" or what went wrong.
  static std::string rerun(const Spawn& s, int* runs = nullptr) {
    std::string why;
    for (int i = 0; i < 3; ++i) {
      const Outcome r = spawn(s);
      if (runs != nullptr) ++*runs;
      if (r.exit_code == 0) return {};
      why += "  rerun " + std::to_string(i + 1) + " exited " + std::to_string(r.exit_code) + ": " +
             r.err + "\n";
    }
    return why;
  }

  // A killed run leaves its mbox dot-lock behind; the rerun must take it
  // as stale (its pid is gone) rather than wait minutes for it.
  static bool dot_lock_left(const Dest& dest) {
    return dest.mbox && fs::exists(dest.path.string() + ".lock");
  }

  static void keep() { keep_top_ = true; }

  static DovecotServer* server_;
  static std::string error_;
  static fs::path top_;
  static bool keep_top_;
};

DovecotServer* FetchCrashTest::server_ = nullptr;
std::string FetchCrashTest::error_;
fs::path FetchCrashTest::top_;
bool FetchCrashTest::keep_top_ = false;

std::string reproduce(const char* test, std::uint64_t trial, const std::string& what) {
  return std::string("[") + test + " seed=" + std::to_string(seed()) +
         " trial=" + std::to_string(trial) + " " + what +
         "] reproduce: POP3KIT_CRASH_SEED=" + std::to_string(seed()) +
         " POP3KIT_CRASH_ONLY_TRIAL=" + std::to_string(trial) + " --gtest_filter=FetchCrashTest." +
         test;
}

// Where a kill landed, judged from what it left.
std::string phase(const Outcome& killed, const Count& c, std::size_t messages,
                  std::size_t on_server, bool dest_is_mbox) {
  if (!killed.killed) return "finished before the kill";
  std::size_t delivered = 0;
  for (const auto& [m, n] : c.copies)
    delivered += static_cast<std::size_t>(n);
  if (on_server == 0) return "after QUIT";
  if (delivered == 0 && c.tmp_files == 0) return "before any message";
  if (delivered == messages) return "all at the destination, before QUIT +OK";
  if (delivered == 0) return "retrieving, nothing complete yet";
  if (dest_is_mbox) return "some messages appended, not all";
  return c.tmp_files != 0 ? "a batch partly moved to new/, or a later batch open"
                          : "some batches in new/";
}

void print_histogram(const char* test, const std::map<std::string, int>& h) {
  std::cout << "[crash] " << test << ": where the faults landed:\n";
  for (const auto& [k, n] : h)
    std::cout << "[crash]   " << n << "  " << k << "\n";
}

// When a trial's SIGKILL comes. A third of the trials: a delay from the
// start, stratified over [0, 1.15 x one uninterrupted run] (trial 0 at once,
// some after the end). The others follow the run itself, which spends most
// of its time starting and logging in: stratified over the messages, the
// kill comes up to 2 ms after the k-th message appears at the destination
// (a Maildir file in tmp/, new/ or cur/; so many octets of an mbox), or, for
// a fifth of them, up to 40 ms after the last one (commit, DELE, QUIT).
struct KillPlan {
  microseconds delay{};
  std::function<bool()> trigger;  // null: delay from the start
  std::string what;
};

KillPlan plan_kill(std::mt19937_64& rng, std::uint64_t t, std::uint64_t n, std::uint64_t run_us,
                   const std::vector<Message>& messages, const Dest& dest) {
  KillPlan p;
  if (const auto forced = env_number("POP3KIT_CRASH_DELAY_US")) {
    p.delay = microseconds(*forced);
    p.what = "kill_after_us=" + std::to_string(*forced) + " (forced)";
    return p;
  }
  const std::uint64_t group = std::max<std::uint64_t>(1, (n + 2) / 3);
  if (t % 3 == 0) {
    const std::uint64_t span = run_us * 115 / 100 + 1;
    const std::uint64_t d = t == 0 ? 0 : ((t / 3) * span + uniform(rng, 0, span - 1)) / group;
    p.delay = microseconds(d);
    p.what = "kill_after_us=" + std::to_string(d);
    return p;
  }
  const std::uint64_t events = std::max<std::uint64_t>(1, n - group);
  const std::uint64_t index = t - t / 3 - 1;  // among the event trials
  // x in [0, 1.25): the fraction of the messages written before the kill.
  const double x = (static_cast<double>(index) + std::uniform_real_distribution<double>()(rng)) /
                   static_cast<double>(events) * 1.25;
  const bool after_last = x >= 1.0;
  const std::uint64_t extra = after_last ? uniform(rng, 0, 40'000) : uniform(rng, 0, 2'000);
  p.delay = microseconds(extra);
  if (dest.mbox) {
    std::uint64_t total = 0;
    for (const auto& m : messages)
      total += m.expected.size() + 40;
    const auto octets =
        after_last ? total : static_cast<std::uint64_t>(x * static_cast<double>(total));
    p.trigger = [path = dest.path, octets] {
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      return !ec && size >= std::max<std::uint64_t>(1, octets);
    };
    p.what = "kill " + std::to_string(extra) + " us after the mbox reached " +
             std::to_string(octets) + " octets";
  } else {
    const std::size_t k =
        after_last ? messages.size()
                   : std::max<std::size_t>(
                         1, static_cast<std::size_t>(x * static_cast<double>(messages.size())) + 1);
    p.trigger = [path = dest.path, k] {
      return list_dir(path / "tmp").size() + list_dir(path / "new").size() +
                 list_dir(path / "cur").size() >=
             k;
    };
    p.what =
        "kill " + std::to_string(extra) + " us after message " + std::to_string(k) + " appeared";
  }
  return p;
}

// ---------------------------------------------------------------- 1. SIGKILL

TEST_F(FetchCrashTest, KillDuringDelete) {
  const std::string user = "kill";
  const std::uint64_t n = trials("POP3KIT_CRASH_TRIALS", 100);

  // How long one uninterrupted run takes, per kind of trial (Maildir or
  // mbox, one batch or several), measured on a maildrop of its own.
  std::map<std::pair<bool, Profile>, std::uint64_t> run_us;
  auto calibrate = [&](bool mbox, Profile profile) -> std::uint64_t {
    auto& us = run_us[{mbox, profile}];
    if (us != 0) return us;
    const std::uint64_t kind = (mbox ? 1 : 0) + (profile == Profile::multi_batch ? 2 : 0);
    server_->clear_messages(user);
    auto cal_rng = trial_rng(1, 1'000'000 + kind);
    const auto cal = make_maildrop(
        cal_rng, "crash-" + std::to_string(seed()) + "-cal" + std::to_string(kind), profile);
    fill_maildrop(*server_, user, cal);
    const fs::path cal_dir = trial_dir("kill-calibration-" + std::to_string(kind));
    const Dest cal_dest{mbox, mbox ? cal_dir / "mbox" : cal_dir / "Maildir"};
    const Outcome whole = spawn(fetch(cal_dir, user, server_->port(), cal_dest));
    EXPECT_EQ(whole.exit_code, 0) << whole.err;
    const std::string cal_check = check_final(cal_dest, cal, user);
    EXPECT_EQ(cal_check, "") << cal_check;
    us = std::max<std::uint64_t>(1000, static_cast<std::uint64_t>(whole.took.count()));
    std::cout << "[crash] one uninterrupted run, " << (mbox ? "mbox" : "maildir")
              << (profile == Profile::multi_batch ? " multi-batch" : "") << ", " << cal.size()
              << " messages: " << us << " us\n";
    std::error_code ec;
    fs::remove_all(cal_dir, ec);
    return us;
  };
  const bool verbose = env_number("POP3KIT_CRASH_VERBOSE").value_or(0) != 0;

  std::map<std::string, int> where;
  std::uint64_t ran = 0, lost = 0, dup = 0, failures = 0, dot_locks = 0;
  for (std::uint64_t t = 0; t < n && failures < 5; ++t) {
    if (!selected(t)) continue;
    auto rng = trial_rng(1, t);
    const bool mbox = t % 4 == 3;
    const Profile profile = t % 10 == 7 ? Profile::multi_batch : Profile::mixed;
    const auto messages =
        make_maildrop(rng, "crash-" + std::to_string(seed()) + "-k" + std::to_string(t), profile);
    const Dest dest{mbox, mbox ? top_ / ("kill-" + std::to_string(t)) / "mbox"
                               : top_ / ("kill-" + std::to_string(t)) / "Maildir"};
    const KillPlan plan = plan_kill(rng, t, n, calibrate(mbox, profile), messages, dest);
    const auto t0 = Clock::now();
    const std::string label =
        reproduce("KillDuringDelete", t,
                  std::string(mbox ? "mbox" : "maildir") +
                      (profile == Profile::multi_batch ? " multi-batch" : "") +
                      " messages=" + std::to_string(messages.size()) + " " + plan.what);
    server_->clear_messages(user);
    fill_maildrop(*server_, user, messages);
    const fs::path dir = trial_dir("kill-" + std::to_string(t));
    Spawn s = fetch(dir, user, server_->port(), dest);
    s.kill_after = plan.delay;
    s.trigger = plan.trigger;
    const Outcome killed = spawn(s);
    ++ran;
    if (!killed.killed && killed.exit_code != 0) {
      ADD_FAILURE() << label << "\nthe run exited " << killed.exit_code << ": " << killed.err;
    }
    const auto on_server = server_markers(*server_, user);
    where[std::string(mbox ? "mbox: " : "maildir: ") + phase(killed, count(dest, messages, false),
                                                             messages.size(), on_server.size(),
                                                             dest.mbox)]++;
    std::string why = check_no_loss(dest, messages, user);
    if (dot_lock_left(dest)) ++dot_locks;
    s.kill_after.reset();
    s.trigger = nullptr;
    const auto t1 = Clock::now();
    why += rerun(s);
    const auto t2 = Clock::now();
    why += check_final(dest, messages, user, &lost, &dup);
    if (verbose) {
      auto ms = [](Clock::duration d) {
        return std::chrono::duration_cast<milliseconds>(d).count();
      };
      std::cout << "[crash] trial " << t << (mbox ? " mbox" : " maildir") << " " << plan.what
                << " (triggered at " << killed.triggered.count() << " us): killed run + checks "
                << ms(t1 - t0) << " ms (run " << killed.took.count() / 1000 << " ms), rerun "
                << ms(t2 - t1) << " ms, final " << ms(Clock::now() - t2) << " ms\n";
    }
    if (!why.empty()) {
      ++failures;
      keep();
      ADD_FAILURE() << label << "\n" << why << "trial directory: " << dir;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  print_histogram("KillDuringDelete", where);
  std::cout << "[crash] KillDuringDelete: " << ran << " trials, " << lost << " lost, " << dup
            << " duplicated, " << failures << " failed; " << dot_locks
            << " killed mbox run(s) left their dot-lock for the rerun\n";
}

// ---------------------------------------------------------------- 2. connection cut

TEST_F(FetchCrashTest, ServerCutsConnection) {
  const std::string user = "cut";
  const std::uint64_t n = trials("POP3KIT_CUT_TRIALS", 30);
  const auto forced = env_number("POP3KIT_CRASH_DELAY_US");
  CuttingProxy proxy(server_->port());

  // One run through the proxy, not cut: how many octets the server sends.
  server_->clear_messages(user);
  auto cal_rng = trial_rng(2, 1'000'000);
  const auto cal =
      make_maildrop(cal_rng, "crash-" + std::to_string(seed()) + "-ccal", Profile::mixed);
  fill_maildrop(*server_, user, cal);
  const fs::path cal_dir = trial_dir("cut-calibration");
  proxy.arm(std::nullopt, false);
  const Outcome whole = spawn(fetch(cal_dir, user, proxy.port(), Dest{false, cal_dir / "Maildir"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::uint64_t total = proxy.last().first;
  std::uint64_t cal_octets = 0;
  for (const auto& m : cal)
    cal_octets += m.source.size();
  std::cout << "[crash] one uninterrupted run through the proxy: " << total
            << " octets from the server\n";

  std::map<std::string, int> where, exits;
  std::uint64_t ran = 0, lost = 0, dup = 0, failures = 0;
  for (std::uint64_t t = 0; t < n && failures < 5; ++t) {
    if (!selected(t)) continue;
    auto rng = trial_rng(2, t);
    const bool mbox = t % 4 == 3;
    const bool reset = rng() % 2 == 0;
    const auto messages = make_maildrop(
        rng, "crash-" + std::to_string(seed()) + "-c" + std::to_string(t), Profile::mixed);
    // This maildrop's octets from the server, scaled by what the
    // calibration run carried beyond its messages' sizes (greeting, CAPA,
    // login, LIST, UIDL, status lines): the cuts cover this run, and a few
    // land after its end.
    std::uint64_t octets = 0;
    for (const auto& m : messages)
      octets += m.source.size();
    const std::uint64_t span =
        (octets + (total - cal_octets) * messages.size() / cal.size()) * 105 / 100;
    std::uint64_t cut = (t * span + uniform(rng, 0, span - 1)) / n;
    if (forced) cut = *forced;
    const std::string label = reproduce(
        "ServerCutsConnection", t,
        std::string(mbox ? "mbox" : "maildir") + " messages=" + std::to_string(messages.size()) +
            " cut_after_octets=" + std::to_string(cut) + (reset ? " RST" : " FIN"));
    server_->clear_messages(user);
    fill_maildrop(*server_, user, messages);
    const fs::path dir = trial_dir("cut-" + std::to_string(t));
    const Dest dest{mbox, mbox ? dir / "mbox" : dir / "Maildir"};
    // The rerun goes through the proxy too, not cut: the state keys an
    // account by user@host:port, so a run on Dovecot's own port would be
    // another account.
    Spawn s = fetch(dir, user, proxy.port(), dest);
    proxy.arm(cut, reset);
    const Outcome faulted = spawn(s);
    proxy.arm(std::nullopt, false);
    ++ran;
    const auto [carried, was_cut] = proxy.last();
    std::string why;
    exits[std::to_string(faulted.exit_code)]++;
    if (faulted.exit_code == 0) {
      // A run that says it is done must be: all delivered, the maildrop empty.
      const std::string done = check_final(dest, messages, user);
      if (!done.empty()) {
        why += "  the run exited 0 after " + std::to_string(carried) + " octets" +
               (was_cut ? " (cut)" : "") + ", yet:\n" + done;
      }
    }
    if (faulted.exit_code != 0 && faulted.err.find("pop3kit: ") == std::string::npos)
      why += "  the cut run exited " + std::to_string(faulted.exit_code) + " without a message\n";
    const auto on_server = server_markers(*server_, user);
    const Count c = count(dest, messages, false);
    std::size_t delivered = 0;
    for (const auto& [m, k] : c.copies)
      delivered += static_cast<std::size_t>(k);
    where[delivered == 0                 ? "before any batch was durable"
          : on_server.empty()            ? "after QUIT"
          : delivered == messages.size() ? "all durable, before QUIT +OK"
                                         : "some durable"]++;
    why += check_no_loss(dest, messages, user);
    why += rerun(s);
    why += check_final(dest, messages, user, &lost, &dup);
    if (!why.empty()) {
      ++failures;
      keep();
      ADD_FAILURE() << label << "\n"
                    << why << "the cut run exited " << faulted.exit_code << ": " << faulted.err
                    << "trial directory: " << dir;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  print_histogram("ServerCutsConnection", where);
  std::cout << "[crash] ServerCutsConnection exit statuses of the cut runs:";
  for (const auto& [k, v] : exits)
    std::cout << " " << k << "x" << v;
  std::cout << "\n[crash] ServerCutsConnection: " << ran << " trials, " << lost << " lost, " << dup
            << " duplicated, " << failures << " failed\n";
}

// ---------------------------------------------------------------- 3. reader moves files

TEST_F(FetchCrashTest, KillWhileReaderMoves) {
  const std::string user = "reader";
  const std::uint64_t n = trials("POP3KIT_READER_TRIALS", 15);

  server_->clear_messages(user);
  auto cal_rng = trial_rng(3, 1'000'000);
  const auto cal =
      make_maildrop(cal_rng, "crash-" + std::to_string(seed()) + "-rcal", Profile::mixed);
  fill_maildrop(*server_, user, cal);
  const fs::path cal_dir = trial_dir("reader-calibration");
  const Outcome whole =
      spawn(fetch(cal_dir, user, server_->port(), Dest{false, cal_dir / "Maildir"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto run_us = static_cast<std::uint64_t>(whole.took.count());

  std::uint64_t ran = 0, lost = 0, dup = 0, failures = 0, moved = 0;
  std::map<std::string, int> where;
  for (std::uint64_t t = 0; t < n && failures < 5; ++t) {
    if (!selected(t)) continue;
    auto rng = trial_rng(3, t);
    const auto messages = make_maildrop(
        rng, "crash-" + std::to_string(seed()) + "-r" + std::to_string(t), Profile::mixed);
    server_->clear_messages(user);
    fill_maildrop(*server_, user, messages);
    const fs::path dir = trial_dir("reader-" + std::to_string(t));
    const Dest dest{false, dir / "Maildir"};
    const KillPlan plan = plan_kill(rng, t, n, run_us, messages, dest);
    const std::string label =
        reproduce("KillWhileReaderMoves", t,
                  "maildir messages=" + std::to_string(messages.size()) + " " + plan.what);
    fs::create_directories(dest.path / "new");
    fs::create_directories(dest.path / "cur");
    fs::create_directories(dest.path / "tmp");
    ::chmod(dest.path.c_str(), 0700);
    std::string why;
    {
      // The reader runs through the killed run, the recovery and the rerun.
      MailReader reader(dest.path);
      Spawn s = fetch(dir, user, server_->port(), dest);
      s.kill_after = plan.delay;
      s.trigger = plan.trigger;
      const Outcome killed = spawn(s);
      ++ran;
      const auto on_server = server_markers(*server_, user);
      where[phase(killed, count(dest, messages, false), messages.size(), on_server.size(),
                  dest.mbox)]++;
      why += check_no_loss(dest, messages, user);
      s.kill_after.reset();
      s.trigger = nullptr;
      why += rerun(s);
      reader.stop();
      moved += reader.moved();
    }
    why += check_final(dest, messages, user, &lost, &dup);
    if (!why.empty()) {
      ++failures;
      keep();
      ADD_FAILURE() << label << "\n" << why << "trial directory: " << dir;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  print_histogram("KillWhileReaderMoves", where);
  std::cout << "[crash] KillWhileReaderMoves: " << ran << " trials, " << lost << " lost, " << dup
            << " duplicated, " << failures << " failed; the reader moved " << moved
            << " files to cur/\n";
}

// ---------------------------------------------------------------- an empty dot-lock

// A run killed between creating its mbox dot-lock (O_EXCL) and writing its
// pid into it leaves an empty lock, which names no holder to look for: it
// is left to the age rule (stale after 5 minutes). Until then a run fails
// as "try again later" (75), names the lock and changes nothing; once the
// lock is old, a run delivers everything once.
TEST_F(FetchCrashTest, EmptyDotLockLeftByAKill) {
  const std::string user = "kill";
  auto rng = trial_rng(5, 0);
  std::vector<Message> messages;
  for (int i = 0; i < 3; ++i) {
    messages.push_back(
        make_message(rng, "crash-" + std::to_string(seed()) + "-lock-" + std::to_string(i), 2000));
  }
  server_->clear_messages(user);
  fill_maildrop(*server_, user, messages);
  const fs::path dir = trial_dir("empty-lock");
  const Dest dest{true, dir / "mbox"};
  const fs::path lock = dest.path.string() + ".lock";
  write_file(lock, "");
  const Spawn s = fetch(dir, user, server_->port(), dest);
  const Outcome blocked = spawn(s);
  EXPECT_EQ(blocked.exit_code, 75) << blocked.err;
  EXPECT_NE(blocked.err.find(lock.string()), std::string::npos) << blocked.err;
  EXPECT_EQ(server_markers(*server_, user).size(), messages.size());
  EXPECT_TRUE(count(dest, messages, true).copies.empty());
  fs::last_write_time(lock, fs::file_time_type::clock::now() - std::chrono::minutes(6));
  const Outcome after = spawn(s);
  EXPECT_EQ(after.exit_code, 0) << after.err;
  const std::string why = check_final(dest, messages, user);
  EXPECT_EQ(why, "") << why << "the run said: " << after.err;
  EXPECT_FALSE(fs::exists(lock));
}

// ---------------------------------------------------------------- 4. disk full

// A small tmpfs in the trial's directory, unmounted (lazily) at the end.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=2m,mode=0755") == 0) {
      mounted_ = true;
    } else {
      why_ = std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  bool grow() { return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, "size=64m") == 0; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string why_;
};

TEST_F(FetchCrashTest, DiskFull) {
  const std::string user = "full";
  const char* mode = std::getenv("POP3KIT_DISKFULL");
  const bool force_fsize = mode != nullptr && std::string(mode) == "fsize";
  for (const bool mbox : {false, true}) {
    auto rng = trial_rng(4, mbox ? 1 : 0);
    const auto messages =
        make_maildrop(rng, "crash-" + std::to_string(seed()) + "-f" + std::to_string(mbox ? 1 : 0),
                      Profile::full_disk);
    server_->clear_messages(user);
    fill_maildrop(*server_, user, messages);
    const fs::path dir = trial_dir(std::string("full-") + (mbox ? "mbox" : "maildir"));
    std::optional<SmallTmpfs> tmpfs;
    if (!force_fsize) tmpfs.emplace(dir / "small");
    const bool on_tmpfs = tmpfs && tmpfs->mounted();
    // The state database stays outside the small file system.
    const Dest dest{mbox, mbox ? dir / "small" / "mbox" : dir / "small" / "Maildir"};
    Spawn s = fetch(dir, user, server_->port(), dest);
    std::string how;
    if (on_tmpfs) {
      how = "a 2 MB tmpfs";
    } else {
      // RLIMIT_FSIZE: the file size is the limit (per message file for a
      // Maildir; the whole file for an mbox). SQLite's files stay far below.
      fs::create_directories(dir / "small");
      s.file_size_limit = mbox ? 2'000'000 : 200'000;
      how = "RLIMIT_FSIZE " + std::to_string(*s.file_size_limit) +
            (tmpfs ? " (mount refused: " + tmpfs->why() + ")"
                   : std::string(" (POP3KIT_DISKFULL=fsize)"));
    }
    std::cout << "[crash] DiskFull (" << (mbox ? "mbox" : "maildir") << "): " << how << "\n";
    RecordProperty(mbox ? "disk_full_mbox" : "disk_full_maildir", how);
    const std::string label =
        reproduce("DiskFull", mbox ? 1 : 0, std::string(mbox ? "mbox" : "maildir") + " on " + how);

    const Outcome full = spawn(s);
    EXPECT_NE(full.exit_code, 0) << label << "\n" << full.err;
    const std::string reason = on_tmpfs ? "No space left on device" : "File too large";
    EXPECT_NE(full.err.find(reason), std::string::npos)
        << label << "\nthe error should name the problem (" << reason << "):\n"
        << full.err;
    const auto on_server = server_markers(*server_, user);
    const Count c = count(dest, messages, true);  // strict: no partial message anywhere
    std::size_t delivered = 0;
    for (const auto& [m, k] : c.copies)
      delivered += static_cast<std::size_t>(k);
    std::cout << "[crash] DiskFull (" << (mbox ? "mbox" : "maildir") << "): " << delivered << " of "
              << messages.size() << " delivered, " << on_server.size()
              << " left on the server, exit " << full.exit_code << "\n";
    EXPECT_GT(delivered, 0U) << label << ": the trial should fill the disk part-way";
    EXPECT_LT(delivered, messages.size()) << label << ": the disk never filled";
    std::string why = check_no_loss(dest, messages, user);
    for (const auto& p : c.problems)
      why += "  half-written: " + p + "\n";
    if (!mbox && c.tmp_files != 0)
      why += "  " + std::to_string(c.tmp_files) + " file(s) left in tmp/\n";
    // Every message not delivered is still on the server.
    for (const auto& m : messages) {
      if (c.copies.count(m.marker) == 0 && on_server.count(m.marker) == 0)
        why += "  " + m.marker + " deleted but not delivered\n";
    }

    // Space again; the rerun delivers the rest exactly once.
    if (on_tmpfs) {
      EXPECT_TRUE(tmpfs->grow()) << label << ": remount failed: " << std::strerror(errno);
    } else {
      s.file_size_limit.reset();
    }
    why += rerun(s);
    why += check_final(dest, messages, user);
    if (!why.empty()) {
      keep();
      ADD_FAILURE() << label << "\n" << why << "trial directory: " << dir;
    }
  }
}

}  // namespace
}  // namespace pop3kit::test
