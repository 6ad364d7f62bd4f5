// engine_poll — the sans-I/O engine driven by a hand-written poll(2) loop.
//
//   engine_poll --plain [HOST [PORT [USER [PASSWORD]]]]
//
// proto::Engine owns no socket, reads no clock and never blocks: the program
// owns the socket and the loop. Each turn of the loop:
//
//   1. events out:  next_event() until NeedData, reacting to each (here the
//                   reaction is to queue the next commands);
//   2. wait:        poll() for POLLOUT while pending_output() is not empty,
//                   and for POLLIN;
//   3. bytes in:    recv() into receive_space(), then commit_received(n), or
//                   receive_eof() when the server closed;
//   4. what to write: send() pending_output(), then consume_output(n) with
//                   what the socket took.
//
// The session: greeting, USER and PASS (one write), STAT, RETR 1 when the
// maildrop is not empty (the body is counted, not kept), QUIT. Events go to
// stdout, the bytes moved to stderr. Exit status 0 when the login succeeded
// and QUIT was answered +OK.
//
// Plain TCP only, so --plain is required: TLS would be one more layer
// between this loop and the socket, which the blocking Client provides.
// See settings.hpp for the connection settings.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pop3kit/engine.hpp>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <variant>

#include "settings.hpp"

namespace {

namespace proto = pop3kit::proto;

// A connected, non-blocking TCP socket, or -1.
int dial(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
      rc != 0) {
    std::fprintf(stderr, "%s: %s\n", host.c_str(), ::gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (const addrinfo* a = list; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(list);
  if (fd < 0) {
    std::fprintf(stderr, "connect %s port %u: %s\n", host.c_str(), port, std::strerror(errno));
    return -1;
  }
  // Connected (blocking, for brevity); from here on nothing may block.
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What the program does with the events: the session's script. It only
// queues commands on the engine; the loop in main() moves the bytes.
class Session {
 public:
  Session(proto::Engine& engine, std::string user, std::string password)
      : engine_(engine), user_(std::move(user)), password_(std::move(password)) {}

  // Reacts to one event. False when the session cannot go on.
  bool on_event(const proto::Event& event) {
    if (const auto* g = std::get_if<proto::Greeting>(&event)) {
      std::printf("greeting %s %.*s\n", g->ok ? "+OK" : "-ERR", int(g->text.size()),
                  g->text.data());
      // USER and PASS are queued together; nothing may follow PASS until it
      // is answered (the engine refuses it with errc::wrong_state).
      return g->ok && check(engine_.user(user_)) && check(engine_.pass(password_));
    }
    if (const auto* s = std::get_if<proto::Status>(&event)) return on_status(*s);
    if (const auto* st = std::get_if<proto::StatReply>(&event)) {
      std::printf("stat %" PRIu64 " messages, %" PRIu64 " octets\n", st->count, st->size);
      return check(st->count > 0 ? engine_.retr(1) : engine_.quit());
    }
    if (const auto* chunk = std::get_if<proto::BodyChunk>(&event)) {
      // A view into the engine's receive buffer, valid until more input is
      // added: write it out or copy it now. Here it is only counted.
      body_octets_ += chunk->data.size();
      ++body_chunks_;
      return true;
    }
    if (const auto* end = std::get_if<proto::End>(&event)) {
      std::printf("end of %s: %" PRIu64 " octets\n", proto::to_string(end->command), body_octets_);
      return check(engine_.quit());
    }
    if (const auto* f = std::get_if<proto::Failed>(&event)) {
      // The server broke the protocol (or closed too early): the engine stays
      // failed for good.
      std::printf("failed: %.*s\n", int(f->message.size()), f->message.data());
      return false;
    }
    return true;  // Entries and capabilities are not asked for here.
  }

  // Logged in, and QUIT answered +OK.
  bool succeeded() const { return logged_in_ && quit_ok_; }
  std::uint64_t body_chunks() const { return body_chunks_; }

 private:
  bool on_status(const proto::Status& s) {
    std::printf("%s %s%s%.*s\n", proto::to_string(s.command), s.ok ? "+OK" : "-ERR",
                s.text.empty() ? "" : " ", int(s.text.size()), s.text.data());
    if (s.command == proto::Command::quit) quit_ok_ = s.ok;
    // A refused login: say goodbye politely. The -ERR to USER is followed by
    // the -ERR to PASS, which ends the login.
    if (!s.ok && s.command == proto::Command::pass) return check(engine_.quit());
    if (s.ok && s.command == proto::Command::pass) {
      logged_in_ = true;
      return check(engine_.stat());
    }
    return true;
  }

  // A command refused by the engine is a bug in the caller: nothing queued.
  static bool check(std::error_code ec) {
    if (ec) std::printf("refused by the engine: %s\n", ec.message().c_str());
    return !ec;
  }

  proto::Engine& engine_;
  std::string user_;
  std::string password_;
  std::uint64_t body_octets_ = 0;
  std::uint64_t body_chunks_ = 0;
  bool logged_in_ = false;
  bool quit_ok_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "engine_poll --plain [HOST [PORT [USER [PASSWORD]]]]";
  const auto settings = examples::parse_settings(argc, argv, 0, usage);
  if (!settings) return 2;
  if (settings->security != pop3kit::Security::plain) {
    std::fprintf(stderr, "this example speaks plain TCP only: pass --plain\nusage: %s\n", usage);
    return 2;
  }
  const int fd = dial(settings->host, settings->port);
  if (fd < 0) return 1;

  proto::Engine engine;
  Session session(engine, settings->user, settings->password);
  constexpr int kTimeoutMs = 30'000;
  bool ok = true;

  while (ok) {
    // 1. Events out, until the engine needs more input.
    for (proto::Event ev = engine.next_event(); ok && !std::holds_alternative<proto::NeedData>(ev);
         ev = engine.next_event()) {
      ok = session.on_event(ev);
    }
    if (!ok || engine.state() == proto::State::closed) break;

    // 2. Wait. Input is always watched for: bytes that come while no answer
    // is awaited are refused below.
    pollfd p{fd, POLLIN, 0};
    if (!engine.pending_output().empty()) p.events |= POLLOUT;
    const int n = ::poll(&p, 1, kTimeoutMs);
    if (n == 0) {
      std::printf("failed: no answer for %d s\n", kTimeoutMs / 1000);
      ok = false;
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("poll");
      ok = false;
      break;
    }

    // 3. Bytes in, straight into the engine's buffer (no copy). Read before
    // writing: once a command is written, the engine cannot tell its answer
    // from bytes the server sent before it.
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const bool awaited = engine.awaiting_response();
      const auto space = engine.receive_space();
      const ssize_t got = ::recv(fd, space.data(), space.size(), 0);
      if (got < 0 && errno != EAGAIN && errno != EINTR) {
        std::perror("recv");
        ok = false;
        break;
      }
      if (got > 0 && !awaited) {
        std::printf("failed: the server sent data no command asked for\n");
        ok = false;
        break;
      }
      if (got == 0) engine.receive_eof();
      if (got > 0) {
        engine.commit_received(static_cast<std::size_t>(got));
        std::fprintf(stderr, "io: read %zd octets\n", got);
      }
    }

    // 4. What to write: whatever the socket takes now; the rest next turn.
    if ((p.revents & POLLOUT) != 0) {
      const std::string_view out = engine.pending_output();
      const ssize_t put = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (put < 0 && errno != EAGAIN && errno != EINTR) {
        std::perror("send");
        ok = false;
        break;
      }
      if (put > 0) {
        engine.consume_output(static_cast<std::size_t>(put));
        std::fprintf(stderr, "io: wrote %zd octets\n", put);
      }
    }
  }
  ::close(fd);
  std::fprintf(stderr, "io: %" PRIu64 " body chunks\n", session.body_chunks());
  return ok && session.succeeded() ? 0 : 1;
}
