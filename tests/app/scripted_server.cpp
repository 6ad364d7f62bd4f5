// Test helper: scripted one-connection POP3 server.
#include "scripted_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace pop3kit::test {
namespace {

constexpr int kTimeoutMs = 20'000;

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, kTimeoutMs) == 1;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

ScriptedServer::ScriptedServer(std::vector<Step> steps) : steps_(std::move(steps)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 1) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("ScriptedServer: cannot listen on loopback");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedServer::~ScriptedServer() {
  join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void ScriptedServer::join() {
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ScriptedServer::received() {
  join();
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

std::string ScriptedServer::error() {
  join();
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void ScriptedServer::serve() {
  auto fail = [this](const std::string& e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.empty()) error_ = e;
  };
  if (!wait_readable(listen_fd_)) return fail("no connection");
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return fail("accept failed");

  std::string buf;
  // One line without CRLF; false on EOF or timeout.
  auto read_line = [&](std::string& line) {
    for (;;) {
      const auto end = buf.find("\r\n");
      if (end != std::string::npos) {
        line = buf.substr(0, end);
        buf.erase(0, end + 2);
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(line);
        return true;
      }
      if (!wait_readable(fd)) return false;
      char tmp[4096];
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  };

  bool open = true;
  for (const Step& s : steps_) {
    if (!s.expect.empty()) {
      std::string line;
      if (!read_line(line)) {
        fail("connection ended while waiting for \"" + s.expect + "\"");
        open = false;
        break;
      }
      if (line.compare(0, s.expect.size(), s.expect) != 0) {
        fail("expected \"" + s.expect + "\", got \"" + line + "\"");
        open = false;
        break;
      }
    }
    send_all(fd, s.reply);
    if (s.close) {
      open = false;
      break;
    }
  }
  // Record whatever else the client sends (it must not be, e.g., QUIT).
  std::string line;
  while (open && read_line(line)) {
  }
  ::close(fd);
}

}  // namespace pop3kit::test
