#include "transcript.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace pop3kit::test {

using namespace pop3kit::proto;

std::string crlf(std::initializer_list<std::string_view> lines) {
  std::string s;
  for (auto l : lines)
    s.append(l).append("\r\n");
  return s;
}

std::string render(const Event& ev) {
  struct Visitor {
    std::string operator()(const NeedData&) const { return "need"; }
    std::string operator()(const Greeting& g) const {
      return std::string("greeting ") + (g.ok ? "+OK" : "-ERR") + code(g.code) + " [" +
             std::string(g.text) + "] ts=" + std::string(g.apop_timestamp);
    }
    std::string operator()(const Status& s) const {
      return std::string(to_string(s.command)) + (s.ok ? " +OK" : " -ERR") + code(s.code) + " [" +
             std::string(s.text) + "]";
    }
    std::string operator()(const StatReply& r) const {
      return "stat " + std::to_string(r.count) + " " + std::to_string(r.size);
    }
    std::string operator()(const ListEntry& e) const {
      return "list " + std::to_string(e.number) + " " + std::to_string(e.size);
    }
    std::string operator()(const UidlEntry& e) const {
      return "uidl " + std::to_string(e.number) + " " + std::string(e.uid);
    }
    std::string operator()(const Capability& c) const {
      return "capa " + std::string(c.name) + "|" + std::string(c.arguments);
    }
    std::string operator()(const BodyChunk& b) const { return "body:" + std::string(b.data); }
    std::string operator()(const SaslChallenge& c) const {
      return "challenge [" + std::string(c.data) + "]";
    }
    std::string operator()(const End& e) const {
      return std::string("end ") + to_string(e.command);
    }
    std::string operator()(const Failed& f) const {
      return "failed " + std::to_string(f.code.value()) + ": " + std::string(f.message);
    }
    static std::string code(ResponseCode rc) {
      if (rc == ResponseCode::none) return "";
      if (rc == ResponseCode::other) return " {other}";
      return std::string(" {") + to_string(rc) + "}";
    }
  };
  return std::visit(Visitor{}, ev);
}

std::string render(const StateChange& c) {
  std::string s = std::string(to_string(c.from)) + " -> " + to_string(c.to) + " (";
  if (c.command != Command::none) s.append(to_string(c.command)).append(" ");
  return s.append(c.why).append(")");
}

namespace {

struct Runner {
  const Transcript& t;
  Engine engine;
  Outcome out;
  bool greeted = false;
  bool logged_in = false;
  bool failed = false;

  State last = State::greeting;  // where the last state change went

  explicit Runner(const Transcript& tr) : t(tr), engine(tr.limits) {
    engine.set_state_trace([this](const StateChange& c) {
      EXPECT_EQ(c.from, last) << render(c);
      EXPECT_NE(c.from, c.to) << render(c);
      last = c.to;
      out.states.push_back(render(c));
    });
  }

  void collect_output() {
    EXPECT_EQ(engine.state(), last) << "state changed without a trace";
    const auto pending = engine.pending_output();
    out.sent.append(pending);
    engine.consume_output(pending.size());
  }

  void push(const Event& ev) {
    if (const auto* b = std::get_if<BodyChunk>(&ev)) {
      EXPECT_FALSE(b->data.empty()) << "empty body chunk";
      if (!out.events.empty() && out.events.back().starts_with("body:")) {
        out.events.back().append(b->data);
        return;
      }
    }
    out.events.push_back(render(ev));
  }

  // Drains events until the engine needs data. Returns false once failed.
  bool drain() {
    for (int guard = 0; guard < 10'000'000; ++guard) {
      const Event ev = engine.next_event();
      EXPECT_EQ(engine.state(), last) << "state changed without a trace";
      if (std::holds_alternative<NeedData>(ev)) return true;
      push(ev);
      if (std::holds_alternative<Failed>(ev)) {
        // Errors are sticky: the same failure again, and no command accepted.
        EXPECT_EQ(render(engine.next_event()), out.events.back());
        EXPECT_EQ(engine.noop(), make_error_code(errc::engine_failed));
        failed = true;
        return false;
      }
      if (std::holds_alternative<Greeting>(ev) && !greeted) {
        greeted = true;
        if (t.commands) t.commands(engine);
        collect_output();
      }
      if (const auto* st = std::get_if<Status>(&ev);
          st != nullptr && st->ok && !logged_in &&
          (st->command == Command::pass || st->command == Command::apop ||
           st->command == Command::auth)) {
        logged_in = true;
        if (t.after_login) t.after_login(engine);
        collect_output();
      }
    }
    ADD_FAILURE() << "engine produced events without end";
    return false;
  }

  void give(std::string_view piece, bool zero_copy) {
    while (!piece.empty() && !failed) {
      std::size_t n = 0;
      if (zero_copy) {
        const auto space = engine.receive_space();
        n = std::min(space.size(), piece.size());
        std::memcpy(space.data(), piece.data(), n);
        engine.commit_received(n);
      } else {
        n = engine.feed(piece);
      }
      piece.remove_prefix(n);
      if (!drain()) return;
      if (n == 0 && !piece.empty()) {
        ADD_FAILURE() << "engine accepts no input but produces no event";
        return;
      }
    }
  }
};

}  // namespace

namespace {

// Feeds the server's bytes: `server`, then (once the login is answered)
// `server_after_login`; `pieces` cuts each phase into the reads the engine
// sees, given the phase's offset in the whole.
Outcome play(
    const Transcript& t, bool zero_copy,
    const std::function<std::vector<std::string_view>(std::string_view, std::size_t)>& pieces) {
  Runner r(t);
  for (const auto& piece : pieces(t.server, 0)) {
    if (r.failed) break;
    r.give(piece, zero_copy);
  }
  if (!t.server_after_login.empty() && !r.failed) {
    EXPECT_TRUE(r.logged_in) << "bytes for after the login, but no login was answered";
    for (const auto& piece : pieces(t.server_after_login, t.server.size())) {
      if (r.failed) break;
      r.give(piece, zero_copy);
    }
  }
  if (t.eof && !r.failed) {
    r.engine.receive_eof();
    r.drain();
  }
  r.collect_output();
  return r.out;
}

}  // namespace

Outcome run(const Transcript& t, std::size_t chunk, bool zero_copy) {
  return play(t, zero_copy, [chunk](std::string_view phase, std::size_t) {
    std::vector<std::string_view> out;
    const std::size_t n = chunk == 0 ? std::max<std::size_t>(phase.size(), 1) : chunk;
    for (; !phase.empty(); phase.remove_prefix(std::min(n, phase.size())))
      out.push_back(phase.substr(0, std::min(n, phase.size())));
    return out;
  });
}

Outcome run_all_splits(const Transcript& t, std::size_t max_chunk) {
  const Outcome whole = run(t, 0);
  const std::size_t total = t.server.size() + t.server_after_login.size();
  const std::size_t limit = std::min(max_chunk, total);
  for (std::size_t chunk = 1; chunk <= limit; ++chunk) {
    for (const bool zc : {false, true}) {
      const Outcome o = run(t, chunk, zc);
      EXPECT_EQ(o.events, whole.events) << "chunk size " << chunk << (zc ? " (zero-copy)" : "");
      EXPECT_EQ(o.sent, whole.sent) << "chunk size " << chunk;
      EXPECT_EQ(o.states, whole.states) << "chunk size " << chunk;
      if (o.events != whole.events) return whole;  // one report is enough
    }
  }
  // Every two-piece split (of the phase the cut falls in).
  for (std::size_t cut = 1; cut < total && cut <= max_chunk * 4; ++cut) {
    const Outcome o = play(t, false, [cut](std::string_view phase, std::size_t offset) {
      std::vector<std::string_view> out;
      if (cut > offset && cut < offset + phase.size()) {
        out.push_back(phase.substr(0, cut - offset));
        out.push_back(phase.substr(cut - offset));
      } else if (!phase.empty()) {
        out.push_back(phase);
      }
      return out;
    });
    EXPECT_EQ(o.events, whole.events) << "split at " << cut;
    EXPECT_EQ(o.states, whole.states) << "split at " << cut;
    if (o.events != whole.events) break;
  }
  return whole;
}

}  // namespace pop3kit::test
