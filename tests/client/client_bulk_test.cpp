// Bulk operations: pipelined with PIPELINING, lock-step without, same results.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <limits>
#include <map>
#include <memory>

#include "pop3kit/client.hpp"
#include "pop3kit/transport.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

// Records everything a bulk retrieval hands out.
struct Recorder : MessageHandler {
  std::map<std::uint64_t, std::string> bodies;
  std::vector<std::string> log;
  std::error_code begin(std::uint64_t n) override {
    log.push_back("begin " + std::to_string(n));
    return {};
  }
  std::error_code data(std::uint64_t n, std::string_view chunk) override {
    bodies[n] += chunk;
    return {};
  }
  std::error_code end(std::uint64_t n, std::uint64_t octets) override {
    log.push_back("end " + std::to_string(n) + " " + std::to_string(octets));
    return {};
  }
  void failed(std::uint64_t n, const Error& e) override {
    log.push_back("failed " + std::to_string(n) + ": " + e.message);
  }
};

// Counts what a bulk retrieval hands out, without keeping it.
struct Counter : MessageHandler {
  std::uint64_t messages = 0, octets = 0;
  std::error_code begin(std::uint64_t) override { return {}; }
  std::error_code data(std::uint64_t, std::string_view d) override {
    octets += d.size();
    return {};
  }
  std::error_code end(std::uint64_t, std::uint64_t) override {
    ++messages;
    return {};
  }
  void failed(std::uint64_t, const Error&) override {}
};

// Message numbers 1..n.
std::vector<std::uint64_t> one_to(std::uint64_t n) {
  std::vector<std::uint64_t> numbers(n);
  for (std::uint64_t i = 0; i < n; ++i)
    numbers[i] = i + 1;
  return numbers;
}

const std::string kCapaPipelining = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";
const std::string kCapaPlain = "+OK\r\nUSER\r\nUIDL\r\n.\r\n";

Client session(const ScriptServer& server) {
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.capa().ok());
  EXPECT_TRUE(c.login("u", "p").ok());
  return c;
}

TEST(ClientBulk, PipelinedLoginAndRetrieveWithErrInTheMiddle) {
  // The server reads every command of a batch before it answers any: a
  // client that waited for each answer would stall here and time out.
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::send("+OK\r\n+OK\r\n"),
                       S::expect("RETR 1"), S::expect("RETR 2"), S::expect("RETR 3"),
                       S::send("+OK\r\none\r\n.\r\n-ERR [SYS/PERM] message 2 is gone\r\n"
                               "+OK\r\n..three\r\n.\r\n"),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  Client c = session(server);
  EXPECT_TRUE(c.pipelining());
  Recorder rec;
  const std::vector<std::uint64_t> numbers = {1, 2, 3};
  auto r = c.retrieve_many(numbers, rec);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::vector<std::string> expected = {
      "begin 1", "end 1 5", "failed 2: RETR 2: server says \"[SYS/PERM] message 2 is gone\"",
      "begin 3", "end 3 8"};
  EXPECT_EQ(rec.log, expected);
  EXPECT_EQ(rec.bodies[1], "one\r\n");
  EXPECT_EQ(rec.bodies[3], ".three\r\n");
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientBulk, WithoutPipeliningLockStepSameResults) {
  ScriptServer server({S::send("+OK\r\n"),
                       S::expect("CAPA"),
                       S::send(kCapaPlain),
                       S::expect("USER u"),
                       S::quiet(50ms),
                       S::send("+OK\r\n"),
                       S::expect("PASS p"),
                       S::quiet(50ms),
                       S::send("+OK\r\n"),
                       S::expect("CAPA"),
                       S::send(kCapaPlain),
                       S::expect("RETR 1"),
                       S::quiet(50ms),
                       S::send("+OK\r\none\r\n.\r\n"),
                       S::expect("RETR 2"),
                       S::quiet(50ms),
                       S::send("-ERR [SYS/PERM] message 2 is gone\r\n"),
                       S::expect("RETR 3"),
                       S::quiet(50ms),
                       S::send("+OK\r\n..three\r\n.\r\n"),
                       S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Client c = session(server);
  EXPECT_FALSE(c.pipelining());
  Recorder rec;
  const std::vector<std::uint64_t> numbers = {1, 2, 3};
  ASSERT_TRUE(c.retrieve_many(numbers, rec).ok());
  const std::vector<std::string> expected = {
      "begin 1", "end 1 5", "failed 2: RETR 2: server says \"[SYS/PERM] message 2 is gone\"",
      "begin 3", "end 3 8"};
  EXPECT_EQ(rec.log, expected);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Gmail lists PIPELINING only after login; LOGIN-DELAY/EXPIRE marked USER
// change after login: the client asks again and uses the new answer.
TEST(ClientCapa, AskedAgainAfterLogin) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nLOGIN-DELAY 900 USER\r\nEXPIRE 31 USER\r\n"
                               "IMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n"),
                       S::expect("USER u"), S::quiet(50ms), S::send("+OK\r\n"), S::expect("PASS p"),
                       S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nPIPELINING\r\nLOGIN-DELAY 300\r\nEXPIRE NEVER\r\n"
                               "SASL PLAIN  XOAUTH2\r\n.\r\n"),
                       S::expect("QUIT"), S::send("+OK\r\n")});
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  auto before = c.capa();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->login_delay()->value, 900U);
  EXPECT_TRUE(before->login_delay()->per_user);
  EXPECT_EQ(before->expire()->value, 31U);
  EXPECT_EQ(before->implementation(), "Shlemazle-Plotz-v302");
  EXPECT_FALSE(c.pipelining());
  ASSERT_TRUE(c.login("u", "p").ok());
  EXPECT_TRUE(c.pipelining());
  const Capabilities& after = c.capabilities();
  EXPECT_EQ(after.login_delay()->value, 300U);
  EXPECT_FALSE(after.login_delay()->per_user);
  ASSERT_TRUE(after.expire().has_value());
  EXPECT_FALSE(after.expire()->value.has_value());  // NEVER
  EXPECT_FALSE(after.implementation().has_value());
  const std::vector<std::string_view> mechs = {"PLAIN", "XOAUTH2"};
  EXPECT_EQ(after.sasl_mechanisms(), mechs);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientCapa, Utf8OnlyWhenAdvertised) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"),
                       S::expect("CAPA"), S::send("+OK\r\nUTF8 USER\r\n.\r\n"), S::expect("UTF8"),
                       S::send("+OK\r\n"), S::wait_close()});
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  EXPECT_EQ(c.utf8().error().code, errc::unsupported);
  ASSERT_TRUE(c.capa().ok());
  EXPECT_TRUE(c.utf8().ok());
  c.close();
  EXPECT_EQ(server.finish().size(), 3U);  // CAPA CAPA UTF8: nothing when not offered
}

TEST(ClientCapa, MalformedPolicyValuesAreAbsent) {
  Capabilities caps;
  caps.entries = {{"LOGIN-DELAY", "soon"}, {"EXPIRE", "5 DAYS"}};
  EXPECT_FALSE(caps.login_delay().has_value());
  EXPECT_FALSE(caps.expire().has_value());
  caps.entries = {{"login-delay", "0"}, {"EXPIRE", "0"}};
  EXPECT_EQ(caps.login_delay()->value, 0U);
  EXPECT_EQ(caps.expire()->value, 0U);
}

TEST(ClientBulk, ListWithUidlAndDeleMany) {
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining), S::expect("USER"),
       S::expect("PASS"), S::send("+OK\r\n+OK\r\n"), S::expect("LIST"), S::expect("UIDL"),
       S::send("+OK\r\n1 10\r\n2 20\r\n.\r\n+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n"), S::expect("DELE 1"),
       S::expect("DELE 2"), S::send("+OK\r\n-ERR [IN-USE] locked\r\n"), S::expect("QUIT"),
       S::send("+OK\r\n")});
  Client c = session(server);
  auto l = c.list_with_uidl();
  ASSERT_TRUE(l.ok()) << l.error().message;
  ASSERT_EQ(l->size(), 2U);
  EXPECT_EQ((*l)[1].number, 2U);
  EXPECT_EQ((*l)[1].size, 20U);
  EXPECT_EQ((*l)[1].uid, "bbb");
  const std::vector<std::uint64_t> numbers = {1, 2};
  auto d = c.dele_many(numbers);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)[0].ok());
  ASSERT_FALSE((*d)[1].ok());
  EXPECT_EQ((*d)[1].error().code, errc::temporary_failure);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientBulk, ListWithoutUidl) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send("-ERR\r\n"),
                       S::expect("USER"), S::send("+OK\r\n"), S::expect("PASS"), S::send("+OK\r\n"),
                       S::expect("LIST"), S::send("+OK\r\n1 10\r\n.\r\n"), S::expect("UIDL"),
                       S::send("-ERR not supported\r\n"), S::wait_close()});
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  EXPECT_FALSE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  auto l = c.list_with_uidl();
  ASSERT_TRUE(l.ok()) << l.error().message;
  ASSERT_EQ(l->size(), 1U);
  EXPECT_EQ((*l)[0].uid, "");
}

TEST(ClientCapa, MissingTopAndUidlSaidClearly) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"),
                       S::expect("USER"), S::send("+OK\r\n"), S::expect("PASS"), S::send("+OK\r\n"),
                       S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"), S::expect("TOP 1 0"),
                       S::send("-ERR unknown command\r\n"), S::expect("UIDL 1"),
                       S::send("-ERR unknown command\r\n"), S::expect("RETR 1"),
                       S::send("+OK\r\nx\r\n.\r\n"), S::wait_close()});
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  auto t = c.top(1, 0, {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message,
            "TOP 1 0: server says \"unknown command\" (the server does not offer TOP)");
  auto u = c.uidl(1);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().message,
            "UIDL 1: server says \"unknown command\" (the server does not offer UIDL)");
  EXPECT_TRUE(c.retrieve(1, {}).ok());  // and the session still works
}

TEST(ClientBulk, CallerErrorsBeforeAnythingIsSent) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER"), S::expect("PASS"), S::send("+OK\r\n+OK\r\n"),
                       S::wait_close()});
  Client c = session(server);
  Recorder rec;
  const std::vector<std::uint64_t> numbers = {1, 0, 3};
  auto r = c.retrieve_many(numbers, rec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_TRUE(rec.log.empty());
  c.close();
  EXPECT_EQ(server.finish().size(), 3U);  // CAPA USER PASS
}

// A server that answers each command in full before it reads the next, with
// small socket buffers, and a command window smaller than them: the server
// measures what the client keeps in flight, never more than the window (and
// the window is used: a deep pipeline). NoWindowAtAllStillNoDeadlock below
// has no window at all.
TEST(ClientBulk, CommandWindowBoundsWhatIsInFlight) {
  constexpr std::uint64_t kCount = 20000;
  const std::string body(4000, 'b');
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER"), S::expect("PASS"), S::send("+OK\r\n+OK\r\n"),
                       S::serve_retr(kCount, body), S::expect("QUIT"), S::send("+OK\r\n")});
  server.set_receive_buffer(4096);
  server.set_send_buffer(4096);
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  o.pipeline_window = 2048;
  o.pipeline_octets = std::numeric_limits<std::uint64_t>::max();
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  Counter counter;
  auto r = c.retrieve_many(one_to(kCount), counter);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(counter.messages, kCount);
  EXPECT_EQ(counter.octets, kCount * (body.size() + 2));
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  const std::size_t window = o.pipeline_window;
  EXPECT_LE(server.max_unanswered_bytes(), window + 16);
  EXPECT_GT(server.max_unanswered_bytes(), window / 2);  // and it did pipeline deeply
}

// The same server, with no window at all: every one of 20000 commands
// (210 KB) is queued at once, and both sides' socket buffers are a few KB.
// A client that wrote them all before it read would block in write() while
// the server blocks writing answers nobody reads, and fail after io_timeout;
// this one writes what the socket takes and reads while commands wait.
TEST(ClientBulk, NoWindowAtAllStillNoDeadlock) {
  constexpr std::uint64_t kCount = 20000;
  const std::string body(4000, 'b');
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER"), S::expect("PASS"), S::send("+OK\r\n+OK\r\n"),
                       S::serve_retr(kCount, body), S::expect("QUIT"), S::send("+OK\r\n")});
  server.set_receive_buffer(4096);
  server.set_send_buffer(4096);
  // The client's socket is as small: made here, not by connect_tcp().
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ASSERT_EQ(errno, EINPROGRESS);
    pollfd p{fd, POLLOUT, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
  }
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  o.pipeline_window = std::numeric_limits<std::size_t>::max();
  o.pipeline_octets = std::numeric_limits<std::uint64_t>::max();
  Client c(o);
  ASSERT_TRUE(c.connect(std::make_unique<net::TcpTransport>(fd, "127.0.0.1")).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  Counter counter;
  auto r = c.retrieve_many(one_to(kCount), counter);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(counter.messages, kCount);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  // The client filled the server's socket (its unsent commands waited in
  // the client meanwhile).
  EXPECT_GT(server.max_unanswered_bytes(), 4096U);
}

// LIST's sizes set how deep the pipeline goes: with answers expected to take
// 1 MB each and a 3 MB window, 3 commands are in flight (the third brings
// the sum over), so the server never sees more than 2 waiting behind the
// one it answers; with unknown sizes (64 KiB each) all 50 would go at once.
TEST(ClientBulk, SizesSetHowManyAnswersAreInFlight) {
  constexpr std::uint64_t kCount = 50;
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER"), S::expect("PASS"), S::send("+OK\r\n+OK\r\n"),
                       S::serve_retr(kCount, "x"), S::expect("QUIT"), S::send("+OK\r\n")});
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  o.pipeline_octets = 3'000'000;
  Client c(o);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login("u", "p").ok());
  Recorder rec;
  std::vector<std::uint64_t> numbers(kCount), sizes(kCount, 1'000'000);
  for (std::uint64_t i = 0; i < kCount; ++i)
    numbers[i] = i + 1;
  ASSERT_TRUE(c.retrieve_many(numbers, rec, sizes).ok());
  EXPECT_EQ(rec.bodies.size(), kCount);
  EXPECT_TRUE(c.quit().ok());
  EXPECT_EQ(server.problem(), "");
  EXPECT_LE(server.max_unanswered_bytes(), 3 * std::string("RETR 50\r\n").size());
  EXPECT_GE(server.max_unanswered_bytes(), std::string("RETR 1\r\n").size());
}

}  // namespace
}  // namespace pop3kit::test
