#include "support/dovecot.hpp"

#include "support/test_certs.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#ifndef POP3KIT_DOVECOT_SANDBOX
#error "POP3KIT_DOVECOT_SANDBOX must name scripts/dovecot-sandbox"
#endif

namespace pop3kit::test {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int status = -1;     // exit status, or -1 when the command did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs argv (no shell) and collects its output.
RunResult run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::system_error(errno, std::generic_category(), "fork");
  }
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execv(argv[0], argv.data());
    const char msg[] = "exec failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);
  RunResult r;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      r.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string last_line(const std::string& s) {
  const std::string t = trim(s);
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

fs::path make_temp_dir() {
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') base = t;
  std::string templ = base + "/pop3kit-dovecot-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp in " + base);
  // Dovecot's mail processes run unprivileged: they must be able to traverse it.
  ::chmod(templ.c_str(), 0711);
  return templ;
}

}  // namespace

std::string DovecotServer::script() {
  if (const char* s = std::getenv("POP3KIT_DOVECOT_SANDBOX"); s != nullptr && *s != '\0') return s;
  return POP3KIT_DOVECOT_SANDBOX;
}

const char* to_string(ServerCert cert) noexcept {
  switch (cert) {
    case ServerCert::none:
      return "none";
    case ServerCert::good:
      return "good";
    case ServerCert::expired:
      return "expired";
    case ServerCert::not_yet_valid:
      return "not_yet_valid";
    case ServerCert::self_signed:
      return "self_signed";
    case ServerCert::wrong_host:
      return "wrong_host";
    case ServerCert::unknown_ca:
      return "unknown_ca";
  }
  return "?";
}

std::unique_ptr<DovecotServer> DovecotServer::start(std::vector<MailUser> users, std::string* error,
                                                    ServerCert tls_cert, int max_clients) {
  std::unique_ptr<DovecotServer> server(new DovecotServer);
  try {
    const fs::path top = make_temp_dir();
    server->dir_ = top / "sandbox";
    std::vector<std::string> args{"/bin/bash", script(), "start", server->dir_.string()};
    if (users.empty()) users.push_back({"demo", "demo-password"});
    for (const auto& u : users) {
      args.emplace_back("--user");
      args.push_back(u.name + ":" + u.password);
    }
    if (max_clients > 0) {
      args.emplace_back("--max-clients");
      args.push_back(std::to_string(max_clients));
    }
    const bool tls = tls_cert != ServerCert::none;
    if (tls) {
      // The script copies the certificate and key into the sandbox.
      const TestCerts& certs = TestCerts::get();
      const std::string name = to_string(tls_cert);
      args.emplace_back("--tls");
      args.push_back(certs.cert(name));
      args.push_back(certs.key(name));
    }
    const RunResult r = run(args);
    if (r.status != 0) {
      if (error != nullptr) {
        *error = "dovecot-sandbox start failed (exit " + std::to_string(r.status) + "):\n" +
                 r.output + "\n" + server->log_tail();
      }
      run({"/bin/bash", script(), "stop", server->dir_.string()});
      std::error_code ec;
      fs::remove_all(top, ec);
      server->dir_.clear();
      return nullptr;
    }
    // "PORT", or "PORT TLS_PORT" with --tls.
    std::istringstream ports(last_line(r.output));
    unsigned long p = 0;
    unsigned long tp = 0;
    ports >> p;
    if (tls) ports >> tp;
    if (p == 0 || p > 65535 || (tls && (tp == 0 || tp > 65535))) {
      if (error != nullptr) *error = "dovecot-sandbox start printed no port:\n" + r.output;
      run({"/bin/bash", script(), "stop", server->dir_.string()});
      std::error_code ec;
      fs::remove_all(top, ec);
      server->dir_.clear();
      return nullptr;
    }
    server->port_ = static_cast<std::uint16_t>(p);
    server->tls_port_ = static_cast<std::uint16_t>(tp);
    server->cert_ = tls_cert;
    server->running_ = true;
    if (tls) {
      // Next to the served certificate, so that everything a client needs
      // lives (and is removed) with the sandbox.
      const TestCerts& certs = TestCerts::get();
      fs::copy_file(certs.ca, server->ca_file(), fs::copy_options::overwrite_existing);
      fs::copy_file(certs.other_ca, server->other_ca_file(), fs::copy_options::overwrite_existing);
    }

    // Watchdog: a separate session that waits for EOF on a pipe. If this
    // process dies without the destructor, the pipe closes and the watchdog
    // stops Dovecot and removes the directory. The destructor writes 'q'
    // first, and the watchdog just exits.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      const std::string sh_script =
          "DOVECOT_SANDBOX_STOP=kill /bin/bash \"$0\" stop \"$1\" >/dev/null 2>&1; rm -rf \"$2\"";
      const std::string s = script();
      const std::string d = server->dir_.string();
      const std::string t = top.string();
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::setsid();
        const int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) {
          ::dup2(devnull, 0);
          ::dup2(devnull, 1);
          ::dup2(devnull, 2);
        }
        for (int fd = 3; fd < 1024; ++fd)
          if (fd != fds[0]) ::close(fd);
        char c = 0;
        ssize_t n;
        do {
          n = ::read(fds[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1 && c == 'q') ::_exit(0);
        ::execl("/bin/sh", "sh", "-c", sh_script.c_str(), s.c_str(), d.c_str(), t.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(fds[0]);
      if (pid > 0) {
        server->watchdog_fd_ = fds[1];
        server->watchdog_pid_ = pid;
      } else {
        ::close(fds[1]);
      }
    }
    return server;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = std::string("cannot start Dovecot: ") + e.what();
    return nullptr;
  }
}

DovecotServer::~DovecotServer() {
  stop();
  if (watchdog_fd_ >= 0) {
    const char q = 'q';
    [[maybe_unused]] auto n = ::write(watchdog_fd_, &q, 1);
    ::close(watchdog_fd_);
  }
  if (watchdog_pid_ > 0) {
    int status = 0;
    while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_.parent_path(), ec);
  }
}

void DovecotServer::stop() noexcept {
  if (!running_) return;
  running_ = false;
  try {
    // The directory is removed next: no need for Dovecot's slow polite stop.
    run({"/usr/bin/env", "DOVECOT_SANDBOX_STOP=kill", "/bin/bash", script(), "stop",
         dir_.string()});
  } catch (...) {
  }
}

fs::path DovecotServer::ca_file() const {
  return cert_ == ServerCert::none ? fs::path() : dir_ / "tls" / "ca.pem";
}

fs::path DovecotServer::other_ca_file() const {
  return cert_ == ServerCert::none ? fs::path() : dir_ / "tls" / "other-ca.pem";
}

fs::path DovecotServer::cert_file() const {
  return cert_ == ServerCert::none ? fs::path() : dir_ / "tls" / "server.pem";
}

fs::path DovecotServer::maildir(std::string_view user) const {
  return dir_ / "mail" / std::string(user) / "Maildir";
}

fs::path DovecotServer::add_message_file(std::string_view user, const fs::path& file) {
  const RunResult r =
      run({"/bin/bash", script(), "add-message", dir_.string(), std::string(user), file.string()});
  if (r.status != 0) throw std::runtime_error("dovecot-sandbox add-message failed:\n" + r.output);
  return last_line(r.output);
}

fs::path DovecotServer::add_message(std::string_view user, std::string_view bytes) {
  static int counter = 0;
  const fs::path tmp =
      dir_ / ("incoming-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".eml");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::path path;
  try {
    path = add_message_file(user, tmp);
  } catch (...) {
    fs::remove(tmp);
    throw;
  }
  fs::remove(tmp);
  return path;
}

std::vector<fs::path> DovecotServer::message_files(std::string_view user) const {
  std::vector<fs::path> files;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(maildir(user) / sub, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void DovecotServer::clear_messages(std::string_view user) {
  for (const char* sub : {"new", "cur", "tmp"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(maildir(user) / sub, ec)) {
      if (e.is_regular_file()) fs::remove(e.path(), ec);
    }
  }
}

std::string DovecotServer::log_tail(int lines) const {
  const fs::path log = dir_ / "dovecot.log";
  std::ifstream in(log);
  if (!in) return "(no Dovecot log at " + log.string() + ")";
  std::deque<std::string> tail;
  std::string l;
  while (std::getline(in, l)) {
    tail.push_back(l);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out = "--- tail of " + log.string() + " ---\n";
  for (const auto& t : tail)
    out += t + "\n";
  return out;
}

std::string dovecot_retr_body(std::string_view file) {
  std::string out;
  out.reserve(file.size() + file.size() / 16 + 2);
  char prev = 0;
  for (const char c : file) {
    if (c == '\n' && prev != '\r') out.push_back('\r');
    out.push_back(c);
    prev = c;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::uint64_t dovecot_list_size(std::string_view file) {
  std::uint64_t n = 0;
  char prev = 0;
  for (const char c : file) {
    if (c == '\n' && prev != '\r') ++n;
    ++n;
    prev = c;
  }
  return n;
}

// ---------------------------------------------------------------------------

RawPop3::RawPop3(std::uint16_t port, int timeout_ms) : timeout_ms_(timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::system_error(e, std::generic_category(),
                            "connect 127.0.0.1:" + std::to_string(port));
  }
}

RawPop3::~RawPop3() {
  close();
}

void RawPop3::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawPop3::send(std::string_view line) {
  std::string data(line);
  data += "\r\n";
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "send");
    }
    off += static_cast<std::size_t>(n);
  }
}

std::string RawPop3::line() {
  for (;;) {
    const auto pos = buf_.find("\r\n");
    if (pos != std::string::npos) {
      std::string l = buf_.substr(0, pos);
      buf_.erase(0, pos + 2);
      return l;
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms_);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error("RawPop3: timed out waiting for a line");
    char b[65536];
    const ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("RawPop3: connection closed");
    buf_.append(b, static_cast<std::size_t>(n));
  }
}

std::string RawPop3::multiline() {
  std::string out;
  for (;;) {
    std::string l = line();
    if (l == ".") return out;
    if (!l.empty() && l[0] == '.') l.erase(0, 1);
    out += l;
    out += "\r\n";
  }
}

}  // namespace pop3kit::test
