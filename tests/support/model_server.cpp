#include "model_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace pop3kit::test {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::size_t> number(std::string_view s) {
  std::size_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

std::string base64_decode(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return {};
  out.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (in.ends_with("=="))
    out.resize(out.size() - 2);
  else if (in.ends_with("="))
    out.resize(out.size() - 1);
  return out;
}

// A non-ASCII octet in the header (before the first empty line).
bool has_8bit_header(std::string_view text) {
  const std::size_t end = text.find("\r\n\r\n");
  const std::string_view header = text.substr(0, end);
  return std::any_of(header.begin(), header.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// What Courier sends a client that has not enabled UTF8 in place of such a
// message; the boundary differs on every retrieval.
std::string unicode_wrapper(const std::string& original) {
  static std::atomic<std::uint64_t> serial{0};
  const std::string boundary = "=_courier-" + std::to_string(++serial);
  return "MIME-Version: 1.0\r\nSubject: Cannot display Unicode content\r\n"
         "Content-Type: multipart/mixed; boundary=\"" +
         boundary + "\"\r\n\r\n--" + boundary +
         "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
         "Cannot display Unicode content\r\n\r\n--" +
         boundary + "\r\nContent-Type: message/global\r\n\r\n" + original + "\r\n--" + boundary +
         "--\r\n";
}

}  // namespace

struct ModelServer::Session {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::string in;
  std::size_t lines = 0;
  std::vector<ModelServer::ResponseEnd> ends;
  ModelFault fault = ModelFault::none;
  std::size_t fault_line = 0;
  std::string extra;

  ~Session() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }

  bool read_more(Clock::duration limit) {
    const auto until = Clock::now() + limit;
    while (ssl == nullptr || SSL_pending(ssl) == 0) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 100);
      if (r > 0) break;
      if (r < 0 || *stop || Clock::now() >= until) return false;
    }
    char buf[4096];
    const int n = ssl != nullptr ? SSL_read(ssl, buf, sizeof buf)
                                 : static_cast<int>(::recv(fd, buf, sizeof buf, 0));
    if (n <= 0) return false;
    in.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  /// The next command line (CRLF or LF), or nullopt when the client went away.
  std::optional<std::string> read_line() {
    std::size_t eol;
    while ((eol = in.find('\n')) == std::string::npos) {
      if (in.size() > 4096 || !read_more(std::chrono::seconds(30))) return std::nullopt;
    }
    std::string line = in.substr(0, eol);
    in.erase(0, eol + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }

  void write(std::string_view rest) const {
    while (!rest.empty()) {
      const int n = ssl != nullptr
                        ? SSL_write(ssl, rest.data(), static_cast<int>(rest.size()))
                        : static_cast<int>(::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL));
      if (n <= 0) return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// Whether the client's next command is already here (read, or waiting
  /// in the socket).
  bool command_waiting() const {
    if (!in.empty() || (ssl != nullptr && SSL_pending(ssl) > 0)) return true;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  /// Writes one response (one write, as a server does), applying the armed
  /// fault. false when the session must end here.
  bool respond(const std::vector<std::string>& response) {
    std::string out;
    for (std::size_t i = 0; i < response.size(); ++i) {
      out += response[i];
      out += "\r\n";
      ++lines;
      const bool last = i + 1 == response.size();
      if (last) ends.push_back({lines, command_waiting()});
      if (lines != fault_line) continue;
      switch (fault) {
        case ModelFault::none:
          break;
        case ModelFault::inject:
          if (last) out += extra;
          break;
        case ModelFault::cut:
          write(out);
          return false;
        case ModelFault::stall:
          write(out);
          // Read (and ignore) until the client gives up.
          while (read_more(std::chrono::seconds(60)))
            in.clear();
          return false;
      }
    }
    write(out);
    return true;
  }
};

ModelServer::ModelServer(std::vector<ModelMessage> maildrop, ModelOptions options)
    : options_(std::move(options)), maildrop_(std::move(maildrop)) {
  // Writes to a client that hung up must not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error(std::string("bind/listen failed: ") + std::strerror(errno));
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

ModelServer::~ModelServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void ModelServer::reset(std::vector<ModelMessage> maildrop) {
  std::lock_guard lock(mu_);
  maildrop_ = std::move(maildrop);
}

void ModelServer::arm(ModelFault fault, std::size_t after_line, std::string extra) {
  std::lock_guard lock(mu_);
  fault_ = fault;
  fault_line_ = after_line;
  extra_ = std::move(extra);
}

void ModelServer::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait_for(lock, std::chrono::seconds(30), [this] { return !busy_; });
}

std::vector<ModelMessage> ModelServer::maildrop() {
  std::lock_guard lock(mu_);
  return maildrop_;
}

std::size_t ModelServer::last_lines() {
  std::lock_guard lock(mu_);
  return last_lines_;
}

std::vector<ModelServer::ResponseEnd> ModelServer::last_response_ends() {
  std::lock_guard lock(mu_);
  return last_ends_;
}

std::size_t ModelServer::commits() {
  std::lock_guard lock(mu_);
  return commits_;
}

void ModelServer::run() {
  for (;;) {
    if (stop_) return;
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard lock(mu_);
      busy_ = true;
    }
    serve(fd);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void ModelServer::serve(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Session s;
  s.fd = fd;
  s.stop = &stop_;
  std::vector<ModelMessage> drop;
  {
    std::lock_guard lock(mu_);
    s.fault = fault_;
    s.fault_line = fault_line_;
    s.extra = extra_;
    fault_ = ModelFault::none;  // One session only.
  }
  const auto end_session = [&] {
    std::lock_guard lock(mu_);
    last_lines_ = s.lines;
    last_ends_ = s.ends;
  };

  bool authorized = false;
  bool utf8 = false;
  bool was_authorized = false;
  std::string user;
  std::vector<bool> deleted;
  const auto message = [&](std::string_view arg) -> std::optional<std::size_t> {
    const auto n = number(arg);
    if (!n || *n == 0 || *n > drop.size() || deleted[*n - 1]) return std::nullopt;
    return *n - 1;
  };
  const auto login = [&](const std::string& u, const std::string& p) {
    if (u != options_.user || p != options_.password) return false;
    std::lock_guard lock(mu_);
    drop = maildrop_;
    deleted.assign(drop.size(), false);
    authorized = true;
    return true;
  };

  if (!s.respond({"+OK model POP3 server ready"})) return end_session();
  while (auto line = s.read_line()) {
    const std::string& l = *line;
    const std::size_t sp = l.find(' ');
    std::string verb = l.substr(0, sp);
    for (char& c : verb)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string arg = sp == std::string::npos ? "" : l.substr(sp + 1);
    std::vector<std::string> r;
    bool upgrade = false;
    bool quit = false;
    if (verb == "CAPA") {
      r = {"+OK capabilities follow", "TOP", "UIDL", "USER", "RESP-CODES", "SASL PLAIN"};
      if (options_.pipelining) r.emplace_back("PIPELINING");
      if (!options_.cert_file.empty() && s.ssl == nullptr && !authorized) r.emplace_back("STLS");
      if (options_.courier) r.emplace_back("UTF8 USER");
      r.emplace_back(".");
    } else if (verb == "STLS" && !authorized && s.ssl == nullptr && !options_.cert_file.empty()) {
      r = {"+OK begin TLS"};
      upgrade = true;
    } else if (verb == "UTF8" && options_.courier && !authorized) {
      utf8 = true;
      r = {"+OK UTF8 enabled"};
    } else if (verb == "USER" && !authorized) {
      user = arg;
      r = {"+OK"};
    } else if (verb == "PASS" && !authorized) {
      r = {login(user, arg) ? "+OK logged in" : "-ERR [AUTH] invalid login"};
    } else if (verb == "AUTH" && !authorized && arg.starts_with("PLAIN")) {
      std::string ir = arg.size() > 6 ? arg.substr(6) : "";
      if (ir.empty()) {
        if (!s.respond({"+ "})) return end_session();
        auto answer = s.read_line();
        if (!answer) break;
        ir = *answer;
      }
      const std::string plain = base64_decode(ir);
      const std::size_t a = plain.find('\0');
      const std::size_t b = a == std::string::npos ? a : plain.find('\0', a + 1);
      const bool ok =
          b != std::string::npos && login(plain.substr(a + 1, b - a - 1), plain.substr(b + 1));
      r = {ok ? "+OK logged in" : "-ERR [AUTH] invalid login"};
    } else if (!authorized && verb != "QUIT" && verb != "NOOP") {
      r = {"-ERR not now"};
    } else if (verb == "STAT") {
      std::size_t n = 0, octets = 0;
      for (std::size_t i = 0; i < drop.size(); ++i) {
        if (!deleted[i]) ++n, octets += drop[i].text.size();
      }
      r = {"+OK " + std::to_string(n) + " " + std::to_string(octets)};
    } else if (verb == "LIST" || verb == "UIDL") {
      const auto field = [&](std::size_t i) {
        return verb == "LIST" ? std::to_string(drop[i].text.size()) : drop[i].uid;
      };
      if (!arg.empty()) {
        const auto i = message(arg);
        r = {i ? "+OK " + std::to_string(*i + 1) + " " + field(*i) : "-ERR no such message"};
      } else {
        r = {"+OK"};
        for (std::size_t i = 0; i < drop.size(); ++i) {
          if (!deleted[i]) r.push_back(std::to_string(i + 1) + " " + field(i));
        }
        r.emplace_back(".");
      }
    } else if (verb == "RETR" || verb == "TOP") {
      const std::size_t sp2 = arg.find(' ');
      const auto i = message(arg.substr(0, sp2));
      if (!i) {
        r = {"-ERR no such message"};
      } else {
        const std::string t = options_.courier && !utf8 && has_8bit_header(drop[*i].text)
                                  ? unicode_wrapper(drop[*i].text)
                                  : drop[*i].text;
        r = {"+OK " + std::to_string(t.size()) + " octets"};
        for (std::size_t at = 0; at < t.size();) {
          std::size_t eol = t.find("\r\n", at);
          if (eol == std::string::npos) eol = t.size();
          std::string body_line = t.substr(at, eol - at);
          if (body_line.starts_with(".")) body_line.insert(0, ".");
          r.push_back(std::move(body_line));
          at = eol + 2;
        }
        r.emplace_back(".");
      }
    } else if (verb == "DELE") {
      const auto i = message(arg);
      if (i) deleted[*i] = true;
      r = {i ? "+OK deleted" : "-ERR no such message"};
    } else if (verb == "NOOP") {
      r = {"+OK"};
    } else if (verb == "RSET") {
      deleted.assign(drop.size(), false);
      r = {"+OK"};
    } else if (verb == "QUIT" && authorized && quit_fails_) {
      r = {"-ERR some deleted messages not removed"};
      quit = true;
    } else if (verb == "QUIT") {
      if (authorized) {
        // UPDATE state: the maildrop changes before +OK is written.
        std::lock_guard lock(mu_);
        std::vector<ModelMessage> kept;
        for (const ModelMessage& m : maildrop_) {
          bool gone = false;
          for (std::size_t i = 0; i < drop.size(); ++i) {
            if (deleted[i] && drop[i].uid == m.uid) gone = true;
          }
          if (!gone) kept.push_back(m);
        }
        maildrop_ = std::move(kept);
        ++commits_;
      }
      r = {"+OK bye"};
      quit = true;
    } else {
      r = {"-ERR unknown command"};
    }
    if (options_.courier && authorized && !was_authorized) {
      // The login process read everything that had arrived, then starts
      // the mail process, which answers the login: what the client sent
      // behind the login command is never seen.
      while (s.read_more(Clock::duration::zero())) {
      }
      s.in.clear();
    }
    was_authorized = authorized;
    if (!s.respond(r) || quit) break;
    if (upgrade) {
      s.ctx = SSL_CTX_new(TLS_server_method());
      if (s.ctx == nullptr ||
          SSL_CTX_use_certificate_chain_file(s.ctx, options_.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(s.ctx, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        break;
      }
      s.ssl = SSL_new(s.ctx);
      SSL_set_fd(s.ssl, fd);
      // Bytes the client sent after STLS are not carried into TLS.
      s.in.clear();
      if (SSL_accept(s.ssl) != 1) break;
    }
  }
  end_session();
}

}  // namespace pop3kit::test
