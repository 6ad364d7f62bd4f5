// libFuzzer target for the engine's input path.
//
// Input layout (see fuzz/corpus/fuzz_engine/ and fuzz/make-corpus for
// examples):
//   byte 0   flags: bit 0 feed a fixed greeting first; bit 1 use
//            receive_space()/commit_received() instead of feed(); bits 2-3
//            receive buffer size (64 KiB, 1 KiB, 4 KiB, 16 KiB); bit 4 small
//            max_line (64) to exercise the line limit.
//   byte 1   piece size: 0 = as much as the engine takes, else pieces of
//            1..4*byte pseudo-random sizes.
//   byte 2   number of commands (mod 17), followed by that many
//            (choice, argument) byte pairs. choice bit 7 set: queue before any
//            server byte (pipelined); clear: queue when nothing is outstanding.
//   rest     the server's bytes.
//
// Invariants checked (a failure aborts, which libFuzzer reports):
//   - a BodyChunk is never empty;
//   - every view in an event lies inside the engine's receive buffer;
//   - a caller error leaves the output and the queue unchanged;
//   - arguments with CR, LF or NUL are always refused;
//   - after Failed, next_event() returns Failed with the same code for ever,
//     failed() is true and every command is refused;
//   - the engine never produces unbounded events without consuming input;
//   - every state change starts from the state before, follows an edge of
//     RFC 1939's state diagram, and state() never moves without one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "pop3kit/engine.hpp"

namespace {

namespace proto = pop3kit::proto;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_engine: invariant violated: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

struct Cmd {
  bool upfront;
  std::uint8_t kind;
  std::uint8_t arg;
};

constexpr std::string_view kDigest = "c4c9334bac560ecc979e58001b3e22fb";

// Queues command `c`. Returns the engine's answer.
std::error_code queue(proto::Engine& e, const Cmd& c) {
  const std::uint64_t n = c.arg;  // 0 is a caller error: numbers start at 1
  switch (c.kind % 17) {
    case 0:
      return e.user(c.arg % 2 == 0 ? "bob" : "user name");
    case 1:
      return e.pass(c.arg % 2 == 0 ? "secret" : "pass with spaces");
    case 2:
      return e.apop("bob", kDigest);
    case 3:
      return e.stat();
    case 4:
      return c.arg % 2 == 0 ? e.list() : e.list(n / 2);
    case 5:
      return e.retr(n);
    case 6:
      return e.top(n % 16, n / 16);
    case 7:
      return e.dele(n);
    case 8:
      return e.noop();
    case 9:
      return e.rset();
    case 10:
      return e.quit();
    case 11:
      return c.arg % 2 == 0 ? e.uidl() : e.uidl(n / 2);
    case 12:
      return e.capa();
    case 13:
      return e.retr(n | (std::uint64_t{n} << 40));  // large numbers
    case 14: {
      // Long argument: may exceed the 255-octet command limit.
      const std::string name(static_cast<std::size_t>(c.arg) * 2, 'x');
      return e.user(name);
    }
    case 15: {
      // Forbidden octets must always be refused.
      static constexpr std::string_view bad[] = {"a\r\nSTAT", "a\nb", std::string_view("a\0b", 3),
                                                 "\r"};
      const std::error_code ec = e.user(bad[c.arg % 4]);
      require(static_cast<bool>(ec), "argument with CR/LF/NUL accepted");
      return ec;
    }
    default:
      return e.pass(std::string_view("p\rq", 3));
  }
}

// Queues a command and checks that a refusal changed nothing.
void queue_checked(proto::Engine& e, const Cmd& c) {
  const std::string before(e.pending_output());
  const std::size_t outstanding = e.outstanding();
  const bool was_failed = e.failed();
  const std::error_code ec = queue(e, c);
  if (was_failed) require(static_cast<bool>(ec), "command accepted after failure");
  if (ec) {
    require(e.pending_output() == before, "refused command changed the output");
    require(e.outstanding() == outstanding, "refused command changed the queue");
  } else {
    require(e.outstanding() == outstanding + 1, "accepted command not queued");
    require(e.pending_output().size() > before.size(), "accepted command not encoded");
    const std::string_view out = e.pending_output();
    require(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n",
            "command not terminated by CRLF");
  }
}

// The changes Engine::state() may make (see proto::StateChange).
bool legal_change(proto::State from, proto::State to) {
  using S = proto::State;
  switch (from) {
    case S::greeting:
      return to == S::authorization || to == S::closed;
    case S::authorization:
      return to == S::transaction || to == S::closed;
    case S::transaction:
      return to == S::update || to == S::closed;
    case S::update:
      return to == S::closed;
    case S::closed:
      return false;
  }
  return false;
}

class Driver {
 public:
  Driver(proto::Engine& e, std::size_t buffer_size) : e_(e), buffer_size_(buffer_size) {
    e_.set_state_trace([this](const proto::StateChange& c) {
      require(c.from == state_, "state change does not start from the state before");
      require(legal_change(c.from, c.to), "state change outside RFC 1939's diagram");
      require(!c.why.empty(), "state change without a reason");
      state_ = c.to;
    });
  }

  void check_state() const {
    require(e_.state() == state_, "state changed without a state change report");
  }

  // Learns where the receive buffer is (receive_space() ends at its end).
  void locate_buffer() {
    const std::span<char> space = e_.receive_space();
    if (space.data() == nullptr) return;
    buf_end_ = space.data() + space.size();
    buf_begin_ = buf_end_ - buffer_size_;
  }

  void check_view(std::string_view v, const char* what) const {
    if (v.empty() || buf_begin_ == nullptr) return;
    require(v.data() >= buf_begin_ && v.data() + v.size() <= buf_end_, what);
  }

  // Consumes events until NeedData (or Failed). Returns false once failed.
  bool drain() {
    std::size_t events = 0;
    for (;;) {
      const proto::Event ev = e_.next_event();
      check_state();
      require(++events < 4 * buffer_size_ + 64, "events without progress");
      if (std::holds_alternative<proto::NeedData>(ev)) {
        require(!e_.failed(), "NeedData after failure");
        return true;
      }
      if (const auto* f = std::get_if<proto::Failed>(&ev)) {
        require(static_cast<bool>(f->code), "Failed without an error code");
        require(e_.failed() && e_.error() == f->code, "Failed event but engine not failed");
        if (failed_code_) require(f->code == failed_code_, "failure code changed");
        failed_code_ = f->code;
        // Sticky: the same event again.
        const proto::Event again = e_.next_event();
        const auto* f2 = std::get_if<proto::Failed>(&again);
        require(f2 != nullptr && f2->code == f->code, "failure is not sticky");
        return false;
      }
      require(!failed_code_, "event after Failed");
      if (const auto* b = std::get_if<proto::BodyChunk>(&ev)) {
        require(!b->data.empty(), "empty BodyChunk");
        check_view(b->data, "BodyChunk outside the receive buffer");
        body_bytes_ += b->data.size();
      } else if (const auto* g = std::get_if<proto::Greeting>(&ev)) {
        check_view(g->text, "Greeting text outside the receive buffer");
        check_view(g->apop_timestamp, "APOP timestamp outside the receive buffer");
        if (!g->apop_timestamp.empty()) {
          require(g->apop_timestamp.front() == '<' && g->apop_timestamp.back() == '>',
                  "APOP timestamp without angle brackets");
        }
      } else if (const auto* s = std::get_if<proto::Status>(&ev)) {
        check_view(s->text, "Status text outside the receive buffer");
      } else if (const auto* u = std::get_if<proto::UidlEntry>(&ev)) {
        check_view(u->uid, "UID outside the receive buffer");
        require(!u->uid.empty() && u->uid.size() <= e_.limits().max_uid_length,
                "UID empty or too long");
        for (const char ch : u->uid) {
          require(ch >= 0x21 && ch <= 0x7e, "UID octet outside 0x21-0x7E");
        }
      } else if (const auto* c = std::get_if<proto::Capability>(&ev)) {
        check_view(c->name, "capability name outside the receive buffer");
        check_view(c->arguments, "capability arguments outside the receive buffer");
      }
    }
  }

  std::error_code failed_code() const { return failed_code_; }

 private:
  proto::Engine& e_;
  std::size_t buffer_size_;
  const char* buf_begin_ = nullptr;
  const char* buf_end_ = nullptr;
  std::error_code failed_code_;
  std::uint64_t body_bytes_ = 0;
  proto::State state_ = proto::State::greeting;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  const std::uint8_t piece = data[1];
  const std::size_t ncmd = data[2] % 17;
  std::size_t pos = 3;
  if (size < pos + 2 * ncmd) return 0;
  std::vector<Cmd> cmds;
  for (std::size_t i = 0; i < ncmd; ++i) {
    cmds.push_back(
        {(data[pos] & 0x80) != 0, static_cast<std::uint8_t>(data[pos] & 0x7f), data[pos + 1]});
    pos += 2;
  }
  std::string_view input(reinterpret_cast<const char*>(data) + pos, size - pos);

  proto::Limits limits;
  static constexpr std::size_t kBuffers[] = {64 * 1024, 1024, 4096, 16 * 1024};
  limits.receive_buffer = kBuffers[(flags >> 2) & 3];
  if ((flags & 0x10) != 0) limits.max_line = 64;
  proto::Engine engine(limits);
  const std::size_t buffer_size = engine.limits().receive_buffer;
  Driver d(engine, buffer_size);
  const bool zero_copy = (flags & 2) != 0;

  if ((flags & 1) != 0) {
    const std::string_view greeting = "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n";
    d.locate_buffer();
    require(engine.feed(greeting) == greeting.size(), "greeting not taken");
    d.drain();
  }

  std::size_t next_cmd = 0;
  for (const Cmd& c : cmds) {
    if (c.upfront) queue_checked(engine, c);
  }
  auto queue_deferred = [&] {
    while (next_cmd < cmds.size() && engine.outstanding() == 0) {
      const Cmd& c = cmds[next_cmd++];
      if (!c.upfront) queue_checked(engine, c);
    }
  };
  queue_deferred();
  d.check_state();
  engine.consume_output(engine.pending_output().size());

  std::uint32_t rng = 0x12345678u ^ piece;
  while (!input.empty()) {
    std::size_t n = input.size();
    if (piece != 0) {
      rng = rng * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (rng >> 8) % (std::size_t{piece} * 4));
    }
    d.locate_buffer();
    std::size_t taken = 0;
    if (zero_copy) {
      const std::span<char> space = engine.receive_space();
      taken = std::min(n, space.size());
      if (taken > 0) std::memcpy(space.data(), input.data(), taken);
      engine.commit_received(taken);
    } else {
      taken = engine.feed(input.substr(0, n));
      require(taken <= n, "feed took more than it was given");
    }
    input.remove_prefix(taken);
    const bool alive = d.drain();
    if (!alive) {
      // Sticky: commands refused, input still accepted without reviving it.
      queue_checked(engine, Cmd{true, 8, 0});
      require(engine.failed(), "engine recovered from failure");
      break;
    }
    if (taken == 0) {
      // The engine took nothing although it asked for data: it must have
      // room after draining, or the input can never be consumed.
      const std::span<char> space = engine.receive_space();
      require(!space.empty(), "engine wants data but has no receive space");
    }
    queue_deferred();
    d.check_state();
    engine.consume_output(engine.pending_output().size());
  }

  if (!engine.failed()) {
    const bool expecting = engine.wants_read();
    engine.receive_eof();
    d.locate_buffer();
    const bool alive = d.drain();
    if (expecting) require(!alive, "EOF in the middle of a response did not fail");
  }
  if (engine.failed()) {
    const proto::Event ev = engine.next_event();
    require(std::holds_alternative<proto::Failed>(ev), "failure is not sticky after EOF");
  }
  return 0;
}
