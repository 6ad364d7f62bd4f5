#include "netx_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pop3kit::netx_test {

NetxServer::NetxServer(std::vector<Step> script, bool ipv6) : script_(std::move(script)) {
  listen_fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("bind/listen failed: " + why);
  }
  port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  thread_ = std::thread([this] { run(); });
}

NetxServer::~NetxServer() {
  if (thread_.joinable()) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
  }
  ::close(listen_fd_);
}

std::string NetxServer::finish() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return problem_;
}

std::vector<std::string> NetxServer::received() {
  std::lock_guard lock(mu_);
  return received_;
}

void NetxServer::run() {
  auto set_problem = [&](std::string p) {
    std::lock_guard lock(mu_);
    if (problem_.empty()) problem_ = std::move(p);
  };
  pollfd lp{listen_fd_, POLLIN, 0};
  if (::poll(&lp, 1, 20'000) <= 0 || (lp.revents & POLLIN) == 0) {
    if (!script_.empty()) set_problem("no connection");
    return;
  }
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    set_problem("accept failed");
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string pending;
  // false on EOF, error or 20 s of silence; *eof tells EOF apart.
  auto read_more = [&](bool* eof) -> bool {
    pollfd q{fd, POLLIN, 0};
    if (::poll(&q, 1, 20'000) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (eof != nullptr) *eof = true;
      return false;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  for (const Step& s : script_) {
    bool ok = true;
    switch (s.kind) {
      case Step::send: {
        std::string_view rest = s.data;
        while (!rest.empty()) {
          const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
          if (n <= 0) break;
          rest.remove_prefix(static_cast<std::size_t>(n));
        }
        break;
      }
      case Step::expect: {
        std::size_t eol;
        while ((eol = pending.find("\r\n")) == std::string::npos) {
          if (!read_more(nullptr)) break;
        }
        if (eol == std::string::npos) {
          set_problem("client sent no line for '" + s.data + "'");
          ok = false;
          break;
        }
        std::string line = pending.substr(0, eol);
        pending.erase(0, eol + 2);
        if (line.rfind(s.data, 0) != 0) {
          set_problem("expected '" + s.data + "', got '" + line + "'");
          ok = false;
        }
        std::lock_guard lock(mu_);
        received_.push_back(std::move(line));
        break;
      }
      case Step::pause:
        std::this_thread::sleep_for(s.duration);
        break;
      case Step::close:
        ::shutdown(fd, SHUT_RDWR);
        break;
      case Step::expect_close: {
        bool eof = false;
        while (read_more(&eof)) {
        }
        if (!eof) set_problem("the client did not close the connection");
        if (!pending.empty()) set_problem("the client sent more: '" + pending + "'");
        break;
      }
    }
    if (!ok) break;
  }
  ::close(fd);
}

}  // namespace pop3kit::netx_test
