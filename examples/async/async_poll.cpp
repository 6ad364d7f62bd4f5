// async_poll — polls many mailboxes at once with pop3kit::async: one
// thread, one io_context, one coroutine per mailbox. Each session connects,
// logs in with the listing sent right behind the login (LIST and UIDL), and
// quits; the program prints how many sessions succeeded, the messages they
// saw, and the first errors.
//
//   async_poll [--plain | --starttls | --tls] [--ca FILE] [--sessions N]
//              HOST PORT USER PASSWORD
//
// USER may hold "%d", replaced by the session's number modulo --users M
// (default 1), to spread the sessions over accounts user0, user1, ...
// The password is the same for every account. Defaults: --tls, 1000
// sessions. Exit status 0 when every session succeeded.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "pop3kit/async.hpp"

namespace {

using pop3kit::async::Client;
using pop3kit::async::ClientOptions;

struct Outcome {
  bool ok = false;
  std::size_t messages = 0;
  std::string error;
};

// One mailbox. Every parameter is a value or a pointer to something that
// outlives the io_context's run, never a reference into a caller's frame.
asio::awaitable<void> poll(asio::any_io_executor executor, ClientOptions options, std::string host,
                           std::uint16_t port, std::string user, std::string password,
                           Outcome* out) {
  Client client(executor, std::move(options));
  if (auto r = co_await client.connect(host, port); !r) {
    out->error = "connect: " + r.error().message;
    co_return;
  }
  pop3kit::session::Query listing(pop3kit::session::Query::Kind::listing);
  if (auto r = co_await client.login(user, password, {}, &listing); !r) {
    out->error = "login as " + user + ": " + r.error().message;
    co_return;
  }
  if (!listing.outcome()) {
    out->error = "listing: " + listing.outcome().error().message;
    co_return;
  }
  out->messages = listing.entries().size();
  if (auto r = co_await client.quit(); !r) {
    out->error = "QUIT: " + r.error().message;
    co_return;
  }
  out->ok = true;
}

int usage() {
  std::fputs(
      "usage: async_poll [--plain | --starttls | --tls] [--ca FILE] [--sessions N] [--users M]\n"
      "                  HOST PORT USER PASSWORD\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ClientOptions options;
  options.security = pop3kit::async::Security::tls;
  int sessions = 1000;
  int users = 1;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--plain") {
      options.security = pop3kit::async::Security::plain;
    } else if (a == "--starttls") {
      options.security = pop3kit::async::Security::starttls;
    } else if (a == "--tls") {
      options.security = pop3kit::async::Security::tls;
    } else if (a == "--ca" && i + 1 < argc) {
      options.tls.ca_file = argv[++i];
    } else if (a == "--sessions" && i + 1 < argc) {
      sessions = std::atoi(argv[++i]);
    } else if (a == "--users" && i + 1 < argc) {
      users = std::atoi(argv[++i]);
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 4 || sessions <= 0 || users <= 0) return usage();
  const int port = std::atoi(args[1].c_str());
  if (port <= 0 || port > 65535) return usage();

  // One TLS context (trust store loaded once) for every session.
  if (options.security != pop3kit::async::Security::plain) {
    auto context = pop3kit::async::TlsContext::make(options.tls);
    if (!context) {
      std::fprintf(stderr, "async_poll: %s\n", context.error().message.c_str());
      return 1;
    }
    options.tls_context = *context;
  }

  std::vector<Outcome> outcomes(static_cast<std::size_t>(sessions));
  const auto start = std::chrono::steady_clock::now();
  asio::io_context io(1);
  for (int i = 0; i < sessions; ++i) {
    std::string user = args[2];
    if (const auto at = user.find("%d"); at != std::string::npos) {
      user.replace(at, 2, std::to_string(i % users));
    }
    asio::co_spawn(io,
                   poll(io.get_executor(), options, args[0], static_cast<std::uint16_t>(port),
                        std::move(user), args[3], &outcomes[static_cast<std::size_t>(i)]),
                   asio::detached);
  }
  io.run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int ok = 0;
  std::size_t messages = 0;
  int shown = 0;
  for (const Outcome& o : outcomes) {
    if (o.ok) {
      ++ok;
      messages += o.messages;
    } else if (shown++ < 5) {
      std::fprintf(stderr, "async_poll: %s\n", o.error.c_str());
    }
  }
  std::printf("%d of %d sessions succeeded in %.2f s; %zu messages listed\n", ok, sessions, seconds,
              messages);
  return ok == sessions ? 0 : 1;
}
