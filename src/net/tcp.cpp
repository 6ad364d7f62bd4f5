#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "pop3kit/text.hpp"
#include "pop3kit/transport.hpp"
#include "wait.hpp"

namespace pop3kit::net {
namespace {

using detail::Clock;
using detail::duration_text;
using detail::wait_until;

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string address_text(const sockaddr* sa, std::uint16_t port) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    std::string zone;  // a link-local peer means nothing without it; URL spelling
    if (in6->sin6_scope_id != 0) {
      char name[IF_NAMESIZE] = {};
      zone = "%25" + sanitize(if_indextoname(in6->sin6_scope_id, name) != nullptr
                                  ? std::string(name)
                                  : std::to_string(in6->sin6_scope_id),
                              IF_NAMESIZE);
    }
    return "[" + std::string(host) + zone + "]:" + std::to_string(port);
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(port);
}

Error io_failure(int err, const char* what, const std::string& peer) {
  const errc code = (err == ECONNRESET || err == EPIPE) ? errc::connection_closed : errc::io_error;
  return Error(code, std::string(what) + " " + peer + " failed: " + errno_text(err));
}

}  // namespace

Result<void> write_all(Transport& t, std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    auto n = t.write_some(data, timeout);
    if (!n) return std::move(n).error();
    data.remove_prefix(*n);
  }
  return {};
}

TcpTransport::TcpTransport(int fd, std::string peer) noexcept : fd_(fd), peer_(std::move(peer)) {}

TcpTransport::~TcpTransport() {
  close();
}

void TcpTransport::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int TcpTransport::release() noexcept {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

Result<std::size_t> TcpTransport::read_some(std::span<char> buf,
                                            std::chrono::milliseconds timeout) {
  if (fd_ < 0) return Error(errc::not_connected, "not connected");
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return io_failure(errno, "reading from", peer_);
    const int r = wait_until(fd_, POLLIN, deadline);
    if (r == 0) {
      return Error(errc::timed_out,
                   "no answer from " + peer_ + " within " + duration_text(timeout));
    }
    if (r < 0) return io_failure(errno, "waiting for", peer_);
  }
}

Result<std::size_t> TcpTransport::write_some(std::string_view data,
                                             std::chrono::milliseconds timeout) {
  if (fd_ < 0) return Error(errc::not_connected, "not connected");
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return io_failure(errno, "writing to", peer_);
    const int r = wait_until(fd_, POLLOUT, deadline);
    if (r == 0) {
      return Error(errc::timed_out,
                   "could not write to " + peer_ + " within " + duration_text(timeout));
    }
    if (r < 0) return io_failure(errno, "waiting for", peer_);
  }
}

Result<std::unique_ptr<TcpTransport>> connect_tcp(std::string_view host, std::uint16_t port,
                                                  std::chrono::milliseconds timeout, Family family,
                                                  std::chrono::milliseconds total) {
  if (host.empty()) return Error(errc::invalid_argument, "empty host name");
  const auto end =
      total > std::chrono::milliseconds::zero() ? Clock::now() + total : Clock::time_point::max();
  addrinfo hints{};
  hints.ai_family = family == Family::ipv4   ? AF_INET
                    : family == Family::ipv6 ? AF_INET6
                                             : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string host_str(host);
  const std::string port_str = std::to_string(port);
  const int rc = ::getaddrinfo(host_str.c_str(), port_str.c_str(), &hints, &list);
  if (rc != 0) {
    // AI_ADDRCONFIG hides ::1 on hosts with no global IPv6 address; retry without it.
    hints.ai_flags = AI_NUMERICSERV;
    if (::getaddrinfo(host_str.c_str(), port_str.c_str(), &hints, &list) != 0) {
      const std::string reason = rc == EAI_SYSTEM ? errno_text(errno) : ::gai_strerror(rc);
      return Error(errc::host_not_found,
                   "cannot resolve host '" + sanitize(host, 100) + "': " + reason);
    }
  }
  Error last(errc::connect_failed, "no usable address for '" + sanitize(host, 100) + "'");
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const std::string peer = address_text(ai->ai_addr, port);
    if (Clock::now() >= end) {
      last = Error(errc::timed_out, "connecting to '" + sanitize(host, 100) + "' timed out after " +
                                        duration_text(total));
      break;
    }
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && fd <= 2) {
      // The host started with stdin, stdout or stderr closed: as 0-2 the
      // socket would receive whatever the host prints. Move it above them.
      const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      ::close(fd);
      fd = high;
    }
    if (fd < 0) {
      last = Error(errc::connect_failed,
                   "cannot create a socket for " + peer + ": " + errno_text(errno));
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        const auto attempt_end = Clock::now() + timeout;
        const int r = wait_until(fd, POLLOUT, std::min(attempt_end, end));
        if (r == 0) {
          ::close(fd);
          last = end < attempt_end
                     ? Error(errc::timed_out, "connecting to '" + sanitize(host, 100) +
                                                  "' timed out after " + duration_text(total))
                     : Error(errc::timed_out, "connecting to " + peer + " timed out after " +
                                                  duration_text(timeout));
          continue;
        }
        socklen_t len = sizeof err;
        if (r < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err != 0) {
      ::close(fd);
      last = Error(errc::connect_failed, "cannot connect to " + peer + ": " + errno_text(err));
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::freeaddrinfo(list);
    return std::make_unique<TcpTransport>(fd, peer);
  }
  ::freeaddrinfo(list);
  return last;
}

}  // namespace pop3kit::net
