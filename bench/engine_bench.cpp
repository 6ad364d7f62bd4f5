// Throughput of the engine's body path: one RETR whose 64 MiB body is made of
// realistic mail lines (headers, text, quoted-printable, base64, dot-stuffed
// lines), generated deterministically in memory. The engine is fed either
// zero-copy through receive_space()/commit_received() in as large pieces as it
// accepts, or through feed() in 4 KiB pieces as a socket would deliver them.
// Bytes processed are the octets on the wire (status line, stuffed body and
// terminator); bytes/second is per CPU second of this (single) thread, so
// other load on the machine does not distort it much.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "pop3kit/engine.hpp"

namespace {

namespace proto = pop3kit::proto;

constexpr std::size_t kBodySize = std::size_t{64} << 20;

// Deterministic pseudo-random numbers (64-bit LCG, high bits).
class Rng {
 public:
  std::uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state_ >> 33);
  }
  std::size_t below(std::size_t n) { return next() % n; }

 private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ULL;
};

constexpr std::array<std::string_view, 32> kWords = {
    "the",     "mail",     "server", "message", "delivery", "of",      "and",     "report",
    "quarter", "attached", "please", "review",  "before",   "meeting", "regards", "with",
    "to",      "a",        "budget", "update",  "we",       "will",    "send",    "final",
    "draft",   "on",       "Monday", "thanks",  "for",      "your",    "help",    "team"};

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Appends one body line (without CRLF) to `plain` and its dot-stuffed form to
// `wire`, both followed by CRLF.
void add_line(std::string& plain, std::string& wire, std::string_view line) {
  plain.append(line);
  plain.append("\r\n");
  if (!line.empty() && line.front() == '.') wire.push_back('.');
  wire.append(line);
  wire.append("\r\n");
}

// Words up to `width` characters after `prefix`.
std::string text_line(Rng& rng, std::size_t width, std::string_view prefix = {}) {
  std::string line(prefix);
  while (line.size() < width) {
    if (line.size() > prefix.size()) line.push_back(' ');
    line.append(kWords[rng.below(kWords.size())]);
  }
  return line;
}

struct Mail {
  std::string plain;  // the message as the application should receive it
  std::string wire;   // "+OK\r\n" + dot-stuffed body + ".\r\n"
};

// One RETR response whose body is about kBodySize octets: a mail header, then
// MIME parts (plain text, quoted-printable, base64) repeated.
Mail make_mail() {
  Mail m;
  m.plain.reserve(kBodySize + 4096);
  m.wire.reserve(kBodySize + kBodySize / 64 + 4096);
  m.wire.append("+OK message follows\r\n");
  Rng rng;
  std::string& p = m.plain;
  std::string& w = m.wire;
  for (std::string_view h : {
           "Return-Path: <alice@example.org>",
           "Received: from mx1.example.org (mx1.example.org [192.0.2.10])",
           "\tby mail.example.net (Postfix) with ESMTPS id 4F3A21C0042",
           "\tfor <bob@example.net>; Tue, 24 Nov 2026 09:14:03 +0000 (UTC)",
           "From: Alice Example <alice@example.org>",
           "To: Bob Example <bob@example.net>",
           "Subject: Quarterly report and the attached spreadsheet",
           "Date: Tue, 24 Nov 2026 09:13:58 +0000",
           "Message-ID: <20261124091358.4F3A21C0042@mx1.example.org>",
           "MIME-Version: 1.0",
           "Content-Type: multipart/mixed; boundary=\"=_boundary_42\"",
           "",
       }) {
    add_line(p, w, h);
  }
  std::string line;
  while (p.size() < kBodySize) {
    // Plain text part, with the occasional line that starts with a dot.
    add_line(p, w, "--=_boundary_42");
    add_line(p, w, "Content-Type: text/plain; charset=us-ascii");
    add_line(p, w, "");
    for (int i = 0; i < 40; ++i) {
      if (rng.below(64) == 0) {
        add_line(p, w, ".");
        continue;
      }
      const bool dot = rng.below(16) == 0;
      add_line(p, w, text_line(rng, 60 + rng.below(12), dot ? "." : ""));
    }
    add_line(p, w, "");
    // Quoted-printable part: soft line breaks and escapes.
    add_line(p, w, "--=_boundary_42");
    add_line(p, w, "Content-Type: text/plain; charset=utf-8");
    add_line(p, w, "Content-Transfer-Encoding: quoted-printable");
    add_line(p, w, "");
    for (int i = 0; i < 20; ++i) {
      line = text_line(rng, 50 + rng.below(20));
      line.append(rng.below(2) == 0 ? " caf=C3=A9 =3D total=" : "=20");
      add_line(p, w, line);
    }
    add_line(p, w, "");
    // Base64 attachment: 76-character lines.
    add_line(p, w, "--=_boundary_42");
    add_line(p, w, "Content-Type: application/vnd.ms-excel; name=\"report.xls\"");
    add_line(p, w, "Content-Transfer-Encoding: base64");
    add_line(p, w, "Content-Disposition: attachment; filename=\"report.xls\"");
    add_line(p, w, "");
    for (int i = 0; i < 120; ++i) {
      line.clear();
      for (int c = 0; c < 76; ++c)
        line.push_back(kBase64[rng.below(kBase64.size())]);
      add_line(p, w, line);
    }
    add_line(p, w, "");
  }
  add_line(p, w, "--=_boundary_42--");
  w.append(".\r\n");
  return m;
}

const Mail& mail() {
  static const Mail m = make_mail();
  return m;
}

// Feeds all of `bytes` through feed(), draining events whenever the engine
// is full.
void feed_all(proto::Engine& e, std::string_view bytes) {
  while (!bytes.empty()) {
    const std::size_t n = e.feed(bytes);
    bytes.remove_prefix(n);
    if (n == 0) {
      // Buffer full: the caller must drain events first; handled by callers.
      return;
    }
  }
}

// Brings an engine to TRANSACTION with RETR 1 queued and its output drained.
bool start_session(proto::Engine& e) {
  feed_all(e, "+OK POP3 server ready <1896.697170952@mail.example.net>\r\n");
  if (!std::holds_alternative<proto::Greeting>(e.next_event())) return false;
  if (e.user("bob") || e.pass("secret")) return false;
  feed_all(e, "+OK\r\n+OK maildrop locked and ready\r\n");
  for (int i = 0; i < 2; ++i) {
    const proto::Event ev = e.next_event();
    const auto* st = std::get_if<proto::Status>(&ev);
    if (st == nullptr || !st->ok) return false;
  }
  if (e.state() != proto::State::transaction) return false;
  if (e.retr(1)) return false;
  e.consume_output(e.pending_output().size());
  return true;
}

// Consumes events until NeedData. Returns false on End (stores it in `done`)
// or on an unexpected event (stores an error).
struct Drain {
  std::uint64_t body_bytes = 0;
  std::uint64_t checksum = 0;
  bool done = false;
  const char* error = nullptr;
};

void drain(proto::Engine& e, Drain& d) {
  for (;;) {
    const proto::Event ev = e.next_event();
    if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
      if (chunk->data.empty()) {
        d.error = "empty BodyChunk (the engine promises never to send one)";
        return;
      }
      d.body_bytes += chunk->data.size();
      d.checksum += static_cast<unsigned char>(chunk->data.back());
      continue;
    }
    if (std::holds_alternative<proto::NeedData>(ev)) return;
    if (std::holds_alternative<proto::End>(ev)) {
      d.done = true;
      return;
    }
    if (const auto* st = std::get_if<proto::Status>(&ev)) {
      if (st->ok && st->command == proto::Command::retr) continue;
    }
    d.error = std::holds_alternative<proto::Failed>(ev) ? "engine failed" : "unexpected event";
    return;
  }
}

bool check(benchmark::State& state, const Drain& d) {
  if (d.error != nullptr) {
    state.SkipWithError(d.error);
    return false;
  }
  if (!d.done || d.body_bytes != mail().plain.size()) {
    state.SkipWithError("body incomplete or of the wrong length");
    return false;
  }
  return true;
}

// Zero-copy: copy from the "socket" straight into receive_space().
void BM_RetrBody_ReceiveSpace(benchmark::State& state) {
  const std::string_view wire = mail().wire;
  for (auto _ : state) {
    proto::Engine engine;
    if (!start_session(engine)) {
      state.SkipWithError("could not reach TRANSACTION");
      return;
    }
    Drain d;
    std::size_t pos = 0;
    while (!d.done && d.error == nullptr) {
      const std::span<char> space = engine.receive_space();
      const std::size_t n = std::min(space.size(), wire.size() - pos);
      if (n == 0) {
        d.error = "no receive space while input remains";
        break;
      }
      std::memcpy(space.data(), wire.data() + pos, n);
      engine.commit_received(n);
      pos += n;
      drain(engine, d);
    }
    if (!check(state, d)) return;
    benchmark::DoNotOptimize(d.checksum);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(wire.size()));
}

// feed() in pieces of state.range(0) bytes, as reads from a socket.
void BM_RetrBody_Feed(benchmark::State& state) {
  const std::string_view wire = mail().wire;
  const auto piece = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    proto::Engine engine;
    if (!start_session(engine)) {
      state.SkipWithError("could not reach TRANSACTION");
      return;
    }
    Drain d;
    std::size_t pos = 0;
    while (!d.done && d.error == nullptr) {
      std::string_view chunk = wire.substr(pos, piece);
      if (chunk.empty()) {
        d.error = "input ended before End";
        break;
      }
      while (!chunk.empty() && !d.done && d.error == nullptr) {
        const std::size_t n = engine.feed(chunk);
        chunk.remove_prefix(n);
        pos += n;
        const std::uint64_t before = d.body_bytes;
        drain(engine, d);
        if (n == 0 && d.body_bytes == before && !d.done && d.error == nullptr) {
          d.error = "engine accepts no input and produces no event";
        }
      }
    }
    if (!check(state, d)) return;
    benchmark::DoNotOptimize(d.checksum);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(wire.size()));
}

}  // namespace

BENCHMARK(BM_RetrBody_ReceiveSpace)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RetrBody_Feed)->Arg(4096)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
