// Many concurrent sessions of the async client in one process, on one
// io_context, against one Dovecot: every session logs in, lists (LIST and
// UIDL, with the login), retrieves every message pipelined, checks each
// body byte for byte, and quits. Then: every session succeeded, the peak
// RSS stayed under 256 MB, and the process has as many descriptors open as
// before. POP3KIT_ASYNC_SESSIONS sets the number of sessions (default 200,
// what CI runs on 2 cores; bench/async-sessions runs 1000).
#include <dirent.h>
#include <sys/resource.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pop3kit/async.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::async {
namespace {

using namespace std::chrono_literals;
using pop3kit::test::DovecotServer;

constexpr int kUsers = 10;
constexpr int kMessages = 3;

int open_descriptors() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n - 1;  // the directory stream itself
}

long peak_rss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::string message(int user, int n) {
  std::string body =
      "Subject: user " + std::to_string(user) + " message " + std::to_string(n) + "\r\n\r\n";
  for (int line = 0; line < 70; ++line) {
    body += std::string(70, static_cast<char>('a' + (line + n) % 26)) + "\r\n";
  }
  return body;
}

// Compares each message with the expected bytes as it streams in.
class Checker : public MessageHandler {
 public:
  explicit Checker(const std::vector<std::string>* expected) : expected_(expected) {}
  std::error_code begin(std::uint64_t) override {
    got_.clear();
    return {};
  }
  std::error_code data(std::uint64_t, std::string_view chunk) override {
    got_.append(chunk);
    return {};
  }
  std::error_code end(std::uint64_t number, std::uint64_t) override {
    if (number >= 1 && number <= expected_->size() && got_ == (*expected_)[number - 1]) ++good;
    return {};
  }
  void failed(std::uint64_t, const Error&) override {}
  int good = 0;

 private:
  const std::vector<std::string>* expected_;
  std::string got_;
};

struct Outcome {
  bool done = false;
  std::string error;  // empty when the session did everything right
};

// One session; its parameters are values and a pointer to its outcome, so
// that nothing it refers to lives in a caller's frame.
asio::awaitable<void> session(asio::any_io_executor executor, std::uint16_t port, std::string user,
                              const std::vector<std::string>* expected, Outcome* out) {
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 60s;
  Client c(executor, o);
  auto fail = [out](std::string what, const Error& e) {
    out->error = std::move(what) + ": " + e.message;
    out->done = true;
  };
  if (auto r = co_await c.connect("127.0.0.1", port); !r) co_return fail("connect", r.error());
  session::Query listing(session::Query::Kind::listing);
  if (auto r = co_await c.login(user, "secret-" + user, {}, &listing); !r) {
    co_return fail("login", r.error());
  }
  if (!listing.outcome()) co_return fail("listing", listing.outcome().error());
  std::vector<std::uint64_t> numbers;
  std::vector<std::uint64_t> sizes;
  for (const auto& e : listing.entries()) {
    numbers.push_back(e.number);
    sizes.push_back(e.size);
  }
  if (numbers.size() != expected->size()) {
    out->error = "listed " + std::to_string(numbers.size()) + " messages";
    out->done = true;
    co_return;
  }
  Checker checker(expected);
  if (auto r = co_await c.retrieve_many(numbers, checker, sizes); !r) {
    co_return fail("RETR", r.error());
  }
  if (checker.good != static_cast<int>(expected->size())) {
    out->error = std::to_string(checker.good) + " messages arrived intact";
    out->done = true;
    co_return;
  }
  if (auto r = co_await c.quit(); !r) co_return fail("QUIT", r.error());
  out->done = true;
}

TEST(AsyncScaleTest, ManySessionsOneLoop) {
  int sessions = 200;
  if (const char* env = std::getenv("POP3KIT_ASYNC_SESSIONS")) sessions = std::atoi(env);
  ASSERT_GT(sessions, 0);
  // Each session holds a socket: make sure the soft limit allows them.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::vector<pop3kit::test::MailUser> users;
  for (int u = 0; u < kUsers; ++u) {
    users.push_back({"user" + std::to_string(u), "secret-user" + std::to_string(u)});
  }
  std::string error;
  auto server = DovecotServer::start(users, &error, pop3kit::test::ServerCert::none, sessions);
  ASSERT_NE(server, nullptr) << error;
  std::vector<std::vector<std::string>> expected(kUsers);
  for (int u = 0; u < kUsers; ++u) {
    for (int n = 1; n <= kMessages; ++n) {
      expected[u].push_back(message(u, n));
      server->add_message(users[u].name, expected[u].back());
    }
  }

  const int fds_before = open_descriptors();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Outcome> outcomes(static_cast<std::size_t>(sessions));
  {
    asio::io_context io(1);
    for (int i = 0; i < sessions; ++i) {
      const int u = i % kUsers;
      asio::co_spawn(io,
                     session(io.get_executor(), server->port(), users[u].name, &expected[u],
                             &outcomes[static_cast<std::size_t>(i)]),
                     asio::detached);
    }
    io.run();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long rss = peak_rss_kib();
  const int fds_after = open_descriptors();
  int good = 0;
  std::string first_error;
  for (const auto& o : outcomes) {
    if (o.done && o.error.empty()) {
      ++good;
    } else if (first_error.empty()) {
      first_error = o.done ? o.error : "did not finish";
    }
  }
  std::printf(
      "%d sessions: %d correct in %.2f s; peak RSS %ld KiB; descriptors %d before, %d after\n",
      sessions, good, seconds, rss, fds_before, fds_after);
  EXPECT_EQ(good, sessions) << first_error << "\n" << server->log_tail();
  EXPECT_LT(rss, 256L * 1024);
  EXPECT_EQ(fds_after, fds_before);
}

}  // namespace
}  // namespace pop3kit::async
