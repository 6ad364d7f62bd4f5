#include "session_transcript.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <variant>

namespace pop3kit::test {

using session::Want;

std::string describe(const Error& e) {
  std::string s = "error " + std::to_string(e.code.value());
  if (e.response_code != ResponseCode::none)
    s += std::string(" [") + to_string(e.response_code) + "]";
  return s + ": " + e.message;
}

namespace {

struct Feed {
  const Script& script;
  std::string stream;              // every server byte after the greeting
  std::vector<std::size_t> gates;  // octets of client text needed for each turn
  std::vector<std::size_t> ends;   // end of each turn's bytes in `stream`
  std::string expected_client;

  explicit Feed(const Script& s) : script(s) {
    for (const Turn& t : s.turns) {
      expected_client += t.client;
      gates.push_back(expected_client.size());
      stream += t.server;
      ends.push_back(stream.size());
    }
  }

  // Server octets the client has earned with what it sent.
  std::size_t available(const std::string& sent) const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < gates.size(); ++i) {
      if (sent.size() < gates[i] || sent.compare(0, gates[i], expected_client, 0, gates[i]) != 0) {
        break;
      }
      n = ends[i];
    }
    return n;
  }
};

void give(proto::Engine& engine, std::string_view piece, bool zero_copy, std::size_t& taken) {
  if (zero_copy) {
    const auto space = engine.receive_space();
    const std::size_t n = std::min(space.size(), piece.size());
    std::memcpy(space.data(), piece.data(), n);
    engine.commit_received(n);
    taken = n;
  } else {
    taken = engine.feed(piece);
  }
}

}  // namespace

SessionOutcome run_session(const Script& script, const SubjectFactory& factory, std::size_t chunk,
                           std::size_t cut, bool zero_copy) {
  SessionOutcome out;
  proto::Engine engine(script.limits);
  std::size_t taken = 0;
  std::string timestamp;
  if (!script.greeting.empty()) {
    give(engine, script.greeting, false, taken);
    EXPECT_EQ(taken, script.greeting.size());
    const proto::Event ev = engine.next_event();
    const auto* g = std::get_if<proto::Greeting>(&ev);
    if (g == nullptr || !g->ok) {
      ADD_FAILURE() << "the greeting was not read";
      return out;
    }
    timestamp = g->apop_timestamp;
  }
  auto subject = factory();
  session::Operation* op = &subject->make(timestamp);
  bool read_since_write = true;

  const Feed feed(script);
  std::size_t pos = 0;
  bool eof_given = false;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    const Want want = op->resume(engine);
    if (want == Want::done) {
      if (!out.outcome.empty()) out.outcome += "; ";
      out.outcome += op->outcome() ? "ok" : describe(op->outcome().error());
      out.closes = op->closes_connection();
      if (out.closes) break;
      op = subject->then();
      if (op == nullptr) break;
      continue;
    }
    if (want == Want::write || want == Want::write_ready) {
      // Want::write_ready is asked once per event: this transport has room
      // for all of it (run_batch_tight in batch_test.cpp has less).
      do {
        const std::string_view pending = engine.pending_output();
        const std::size_t n = chunk == 0 ? pending.size() : std::min(chunk, pending.size());
        out.sent.append(pending.substr(0, n));
        if (read_since_write || out.batches.empty()) out.batches.emplace_back();
        out.batches.back().append(pending.substr(0, n));
        read_since_write = false;
        engine.consume_output(n);
      } while (want == Want::write_ready && !engine.pending_output().empty());
      continue;
    }
    if (want == Want::start_tls) {
      ++out.tls_asked;
      if (script.tls_handshake_works) {
        engine.set_tls_active();
      } else {
        op->transport_failed(Error(errc::tls_failed, "no TLS in this test"));
      }
      continue;
    }
    const std::size_t avail = feed.available(out.sent);
    if (pos < avail) {
      std::size_t end = avail;
      if (cut != 0 && pos < cut && cut < end) end = cut;
      if (chunk != 0) end = std::min(end, pos + chunk);
      give(engine, std::string_view(feed.stream).substr(pos, end - pos), zero_copy, taken);
      pos += taken;
      read_since_write = true;
      continue;
    }
    if (script.close && pos == feed.stream.size() && !eof_given) {
      eof_given = true;
      engine.receive_eof();
      continue;
    }
    // Nothing more will come: a real driver would time out.
    if (!op->closing()) out.stalled = true;
    op->transport_failed(Error(errc::timed_out, "timed out"));
  }
  EXPECT_TRUE(op == nullptr || op->done()) << "the operation never ended";
  out.found = subject->found();
  return out;
}

SessionOutcome run_session_all_splits(const Script& script, const SubjectFactory& factory) {
  const SessionOutcome whole = run_session(script, factory, 0);
  std::size_t total = 0;
  for (const Turn& t : script.turns)
    total += t.server.size();
  for (std::size_t chunk = 1; chunk <= total; ++chunk) {
    for (const bool zc : {false, true}) {
      const SessionOutcome o = run_session(script, factory, chunk, 0, zc);
      EXPECT_EQ(o, whole) << "chunk size " << chunk << (zc ? " (zero-copy)" : "") << "\n sent "
                          << o.sent << "\n outcome " << o.outcome << "\n found " << o.found;
      if (!(o == whole)) return whole;  // one report is enough
    }
  }
  for (std::size_t cut = 1; cut < total; ++cut) {
    const SessionOutcome o = run_session(script, factory, 0, cut);
    EXPECT_EQ(o, whole) << "cut at " << cut << "\n outcome " << o.outcome;
    if (!(o == whole)) break;
  }
  return whole;
}

}  // namespace pop3kit::test
