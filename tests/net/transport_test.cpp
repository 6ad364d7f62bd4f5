// Transport::start_tls(): what STLS asks of a transport. A plain TCP
// connection hands itself over to TLS and is closed afterwards whatever the
// outcome; a transport that is no socket refuses without harm.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "pop3kit/tls.hpp"
#include "pop3kit/transport.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::net {
namespace {

using namespace std::chrono_literals;
using S = test::ScriptServer;

// Bytes from a string: a transport with no socket under it.
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::string in) : in_(std::move(in)) {}
  Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds) override {
    const std::size_t n = std::min(buf.size(), in_.size());
    std::memcpy(buf.data(), in_.data(), n);
    in_.erase(0, n);
    return n;
  }
  Result<std::size_t> write_some(std::string_view data, std::chrono::milliseconds) override {
    return data.size();
  }
  void close() noexcept override {}
  std::string peer() const override { return "memory"; }

 private:
  std::string in_;
};

TlsOptions trusting_test_ca() {
  TlsOptions o;
  o.ca_file = test::TestCerts::get().ca;
  return o;
}

TEST(TransportStartTls, NoSocketNoTls) {
  MemoryTransport t("+OK\r\n");
  EXPECT_FALSE(t.can_start_tls());
  auto r = t.start_tls("localhost", trusting_test_ca(), 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unsupported);
  EXPECT_EQ(r.error().message, "TLS cannot be started over this connection to memory");
  char buf[8];
  auto n = t.read_some(buf, 1s);  // left as it was
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "+OK\r\n");
}

TEST(TransportStartTls, ClosedTcpRefuses) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  ::close(fds[1]);
  TcpTransport t(fds[0], "pair");
  EXPECT_TRUE(t.can_start_tls());
  t.close();
  EXPECT_FALSE(t.can_start_tls());
  auto r = t.start_tls("localhost", trusting_test_ca(), 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unsupported);
}

// A failed handshake closes the connection: the peer sees the end of it.
TEST(TransportStartTls, FailureClosesTheConnection) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  const char plain[] = "+OK not TLS\r\n";
  ASSERT_EQ(::send(fds[1], plain, sizeof plain - 1, MSG_NOSIGNAL),
            static_cast<ssize_t>(sizeof plain - 1));
  TcpTransport t(fds[0], "pair");
  auto r = t.start_tls("localhost", trusting_test_ca(), 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_failed) << r.error().message;
  EXPECT_NE(r.error().message.find("sent '+OK not TLS'"), std::string::npos) << r.error().message;
  EXPECT_FALSE(t.can_start_tls());
  char buf[4096];
  auto after = t.read_some(buf, 1s);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, errc::not_connected);
  ssize_t n = 0;
  do {
    n = ::recv(fds[1], buf, sizeof buf, 0);  // the ClientHello, then the end
  } while (n > 0);
  EXPECT_EQ(n, 0);
  ::close(fds[1]);
}

TEST(TransportStartTls, TcpHandsItselfOver) {
  const auto& certs = test::TestCerts::get();
  test::ScriptServer server({S::start_tls(), S::send("+OK over TLS\r\n"), S::wait_close()},
                            certs.cert(certs.good), certs.key(certs.good));
  auto tcp = connect_tcp("localhost", server.port(), 5s);
  ASSERT_TRUE(tcp.ok()) << tcp.error().message;
  Transport& plain = **tcp;
  ASSERT_TRUE(plain.can_start_tls());
  auto tls = plain.start_tls("localhost", trusting_test_ca(), 5s);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  EXPECT_FALSE(plain.can_start_tls());
  EXPECT_EQ((*tls)->peer(), plain.peer());
  EXPECT_NE((*tls)->certificate().subject.find("CN=localhost"), std::string::npos);
  char buf[64];
  std::string got;
  while (got.find("\r\n") == std::string::npos) {
    auto n = (*tls)->read_some(buf, 5s);
    ASSERT_TRUE(n.ok() && *n > 0);
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "+OK over TLS\r\n");
  // TLS over TLS is not STLS.
  EXPECT_FALSE((*tls)->can_start_tls());
  EXPECT_EQ((*tls)->start_tls("localhost", trusting_test_ca(), 1s).error().code, errc::unsupported);
  (*tls)->close();
  EXPECT_EQ(server.problem(), "");
}

}  // namespace
}  // namespace pop3kit::net
