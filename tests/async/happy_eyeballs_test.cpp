// Happy eyeballs (RFC 8305) and the deadlines of the async client, on
// loopback: an address that does not answer loses to one that does within
// the attempt delay; every address failing gives an error naming each; a
// server that stalls mid-answer ends in a timeout, never a hang.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/script_server.hpp"
#include "sync.hpp"

namespace pop3kit::async {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using test::sync;
using Server = pop3kit::test::ScriptServer;
using Clock = std::chrono::steady_clock;

// A listener whose accept queue is full, so that a new connection's SYN is
// dropped and its connect never completes: an address that does not
// answer. Returns its port; the descriptors stay open in `fds`.
std::uint16_t unanswering_port(std::vector<int>& fds) {
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  fds.push_back(l);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 0) != 0) return 0;
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  // Fill the queue (backlog 0 still queues one or two connections).
  for (int i = 0; i < 4; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fds.push_back(c);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  return ntohs(a.sin_port);
}

// A port with nothing listening: connections are refused.
std::uint16_t refusing_port() {
  const int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(l);
  return ntohs(a.sin_port);
}

tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds)
      ::close(fd);
  }
};

TEST(HappyEyeballsTest, InterleavesTheFamiliesStartingWithTheFirst) {
  const auto v6a = tcp::endpoint(asio::ip::make_address("::1"), 1);
  const auto v6b = tcp::endpoint(asio::ip::make_address("::2"), 1);
  const auto v4a = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 1);
  const auto v4b = tcp::endpoint(asio::ip::make_address("127.0.0.2"), 1);
  EXPECT_EQ(interleave({v6a, v6b, v4a, v4b}), (std::vector<tcp::endpoint>{v6a, v4a, v6b, v4b}));
  EXPECT_EQ(interleave({v4a, v6a, v6b}), (std::vector<tcp::endpoint>{v4a, v6a, v6b}));
  EXPECT_TRUE(interleave({}).empty());
}

// The first address does not answer; the second, tried 250 ms later beside
// it, wins well before the first attempt's timeout, and the loser is closed.
TEST(HappyEyeballsTest, SecondAddressWinsWhenTheFirstDoesNotAnswer) {
  Fds hold;
  const std::uint16_t dead = unanswering_port(hold.fds);
  ASSERT_NE(dead, 0);
  Server server({Server::send("+OK ready\r\n"), Server::wait_close()});
  asio::io_context io;
  const auto t0 = Clock::now();
  auto r = sync(io, connect_endpoints(io.get_executor(), {loopback(dead), loopback(server.port())},
                                      250ms, 10s));
  const auto took = Clock::now() - t0;
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->remote_endpoint().port(), server.port());
  EXPECT_GE(took, 240ms);
  EXPECT_LT(took, 2s);
  r->close();
}

// A refused attempt starts the next one at once, without the delay.
TEST(HappyEyeballsTest, RefusedAttemptStartsTheNextAtOnce) {
  Server server({Server::send("+OK ready\r\n"), Server::wait_close()});
  asio::io_context io;
  const auto t0 = Clock::now();
  auto r =
      sync(io, connect_endpoints(io.get_executor(),
                                 {loopback(refusing_port()), loopback(server.port())}, 5s, 10s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(Clock::now() - t0, 2s);
  r->close();
}

TEST(HappyEyeballsTest, AllFailNamesEveryAttempt) {
  Fds hold;
  const std::uint16_t dead = unanswering_port(hold.fds);
  const std::uint16_t refused = refusing_port();
  asio::io_context io;
  auto r = sync(
      io, connect_endpoints(io.get_executor(), {loopback(dead), loopback(refused)}, 100ms, 500ms));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::connect_failed)) << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(dead) + " (timed out"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(refused) + " ("),
            std::string::npos)
      << r.error().message;
}

TEST(HappyEyeballsTest, ClientConnectNamesTheHostWhenRefused) {
  ClientOptions o;
  o.security = Security::plain;
  asio::io_context io;
  Client c(io.get_executor(), o);
  const std::uint16_t port = refusing_port();
  auto r = sync(io, c.connect("127.0.0.1", port));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::connect_failed)) << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(c.connected());
}

// cancel() while connect() waits for an address that does not answer (a
// SIGTERM of pop3kit fetch, say): the connect ends at once with
// errc::cancelled, not at the attempt's timeout; a later connect() fails
// the same way.
TEST(HappyEyeballsTest, CancelEndsAConnectWaitingForAnAnswer) {
  Fds hold;
  const std::uint16_t dead = unanswering_port(hold.fds);
  ASSERT_NE(dead, 0);
  ClientOptions o;
  o.security = Security::plain;
  o.connect_timeout = 30s;
  asio::io_context io;
  Client c(io.get_executor(), o);
  asio::steady_timer later(io, 300ms);
  later.async_wait([&c](const std::error_code&) { c.cancel(); });
  const auto t0 = Clock::now();
  auto r = sync(io, c.connect("127.0.0.1", dead));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::cancelled)) << r.error().message;
  EXPECT_LT(Clock::now() - t0, 10s);
  EXPECT_FALSE(c.connected());
  Server server({Server::send("+OK ready\r\n"), Server::wait_close()});
  auto again = sync(io, c.connect("127.0.0.1", server.port()));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, make_error_code(errc::cancelled)) << again.error().message;
  EXPECT_FALSE(c.connected());
}

// ---- Deadlines ----------------------------------------------------------

ClientOptions plain(std::chrono::milliseconds io_timeout) {
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = io_timeout;
  return o;
}

// The server stops in the middle of CAPA's answer: the read times out.
TEST(AsyncDeadlineTest, StallMidAnswerIsATimeout) {
  Server server({Server::send("+OK ready\r\n"), Server::expect("CAPA"),
                 Server::send("+OK\r\nUSER\r\nTOP\r\nPIPEL"), Server::sleep(1500ms),
                 Server::close()});
  asio::io_context io;
  Client c(io.get_executor(), plain(300ms));
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", server.port())).ok());
  const auto t0 = Clock::now();
  auto r = sync(io, c.capa());
  const auto took = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::timed_out)) << r.error().message;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_FALSE(c.connected());
}

// A server that trickles a byte now and then never trips io_timeout; the
// operation's deadline ends it.
TEST(AsyncDeadlineTest, TrickleEndsAtTheOperationDeadline) {
  Server server({Server::send("+OK ready\r\n"), Server::expect("CAPA"), Server::send("+OK\r\n"),
                 Server::trickle(std::string(200, 'x'), 100ms)});
  asio::io_context io;
  ClientOptions o = plain(1s);
  o.operation_deadline = 700ms;
  Client c(io.get_executor(), o);
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", server.port())).ok());
  const auto t0 = Clock::now();
  auto r = sync(io, c.capa());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::deadline_exceeded)) << r.error().message;
  EXPECT_NE(r.error().message.find("CAPA did not finish within its deadline"), std::string::npos)
      << r.error().message;
  EXPECT_LT(Clock::now() - t0, 3s);
}

// A greeting that never comes is a timeout of connect().
TEST(AsyncDeadlineTest, SilentServerTimesOutTheGreeting) {
  Server server({Server::sleep(1500ms), Server::close()});
  asio::io_context io;
  Client c(io.get_executor(), plain(300ms));
  auto r = sync(io, c.connect("127.0.0.1", server.port()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::timed_out)) << r.error().message;
}

// Data sent while no command is outstanding is refused before the next
// command goes out, as the blocking client does.
TEST(AsyncRunnerTest, UnaskedDataBeforeACommandIsRefused) {
  Server server({Server::send("+OK ready\r\n"), Server::expect("CAPA"),
                 Server::send("+OK\r\nUSER\r\n.\r\n+OK extra\r\n"), Server::wait_close()});
  asio::io_context io;
  Client c(io.get_executor(), plain(2s));
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", server.port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  auto r = sync(io, c.capa());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::unexpected_data)) << r.error().message;
  EXPECT_FALSE(c.connected());
}

}  // namespace
}  // namespace pop3kit::async
