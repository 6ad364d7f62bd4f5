// The engine against hostile servers: data nobody asked for, SASL exchanges
// that never end, lines without end, and a body line that is long but legal.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace pop3kit::test {
namespace {

using namespace pop3kit::proto;

Engine authorized(Limits limits = {}) {
  Engine e(limits);
  e.feed("+OK\r\n");
  (void)e.next_event();
  return e;
}

std::string next(Engine& e) {
  return render(e.next_event());
}

// Logged in with USER/PASS; what was sent is consumed.
Engine in_transaction(Limits limits = {}) {
  Engine e = authorized(limits);
  EXPECT_FALSE(e.user("u"));
  EXPECT_FALSE(e.pass("p"));
  e.consume_output(e.pending_output().size());
  e.feed("+OK\r\n+OK\r\n");
  EXPECT_EQ(next(e), "USER +OK []");
  EXPECT_EQ(next(e), "PASS +OK []");
  return e;
}

// ---- Unsolicited data ---------------------------------------------------------

// Left over after the last answer, read before the next command was queued:
// never the answer to that command.
TEST(EngineUnsolicited, LeftOverIsNotTheNextAnswer) {
  for (const char* extra : {"+OK\r\n", "+", "-ERR x\r\n"}) {
    Engine e = authorized();
    ASSERT_FALSE(e.user("u"));
    e.feed(std::string("+OK\r\n") + extra);
    EXPECT_EQ(next(e), "USER +OK []");
    ASSERT_FALSE(e.pass("p"));  // queued before the engine looked at the rest
    const std::string ev = next(e);
    EXPECT_TRUE(ev.starts_with("failed 206")) << extra << ": " << ev;
    EXPECT_EQ(e.error(), errc::unexpected_data);
  }
}

// Arrived while nothing was outstanding, then a command was queued.
TEST(EngineUnsolicited, ArrivedWhileIdle) {
  Engine e = authorized();
  EXPECT_EQ(next(e), "need");
  e.feed("+OK extra\r\n");
  ASSERT_FALSE(e.quit());
  EXPECT_TRUE(next(e).starts_with("failed 206"));
}

TEST(EngineUnsolicited, ArrivedWhileIdleZeroCopy) {
  Engine e = authorized();
  auto space = e.receive_space();
  space[0] = '+';
  e.commit_received(1);
  ASSERT_FALSE(e.user("u"));
  EXPECT_TRUE(next(e).starts_with("failed 206"));
}

// After a single-line answer with a deferred entry (STAT), the entry still
// comes first, then the failure.
TEST(EngineUnsolicited, AfterStatTheReplyStillComes) {
  Engine e = in_transaction();
  ASSERT_FALSE(e.stat());
  e.feed("+OK 2 20\r\n+OK\r\n");
  EXPECT_EQ(next(e), "STAT +OK [2 20]");
  EXPECT_EQ(next(e), "stat 2 20");
  EXPECT_TRUE(next(e).starts_with("failed 206"));
}

// Every split of a transcript whose server says one line too many after a
// multi-line answer: the same failure whichever read it came in.
TEST(EngineUnsolicited, ExtraAfterListingAtEverySplit) {
  Transcript t;
  t.server = "+OK\r\n+OK\r\n+OK\r\n";
  t.server_after_login = "+OK\r\n1 10\r\n.\r\n+OK\r\n";
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) { ASSERT_FALSE(e.list()); };
  const Outcome o = run_all_splits(t);
  ASSERT_FALSE(o.events.empty());
  EXPECT_EQ(o.events[o.events.size() - 2], "end LIST");
  EXPECT_TRUE(o.events.back().starts_with("failed 206")) << o.events.back();
}

TEST(EngineUnsolicited, AwaitingResponseFollowsTheOutput) {
  Engine e;
  EXPECT_TRUE(e.awaiting_response());  // the greeting
  e.feed("+OK\r\n");
  (void)e.next_event();
  EXPECT_FALSE(e.awaiting_response());
  ASSERT_FALSE(e.capa());
  EXPECT_FALSE(e.awaiting_response());  // queued, not sent
  e.consume_output(1);
  EXPECT_TRUE(e.awaiting_response());
  e.consume_output(100);
  e.feed("+OK\r\n.\r\n");
  EXPECT_EQ(next(e), "CAPA +OK []");
  EXPECT_EQ(next(e), "end CAPA");
  EXPECT_FALSE(e.awaiting_response());
  EXPECT_EQ(e.buffered(), 0U);
}

// ---- SASL ---------------------------------------------------------------------

TEST(EngineSasl, ChallengeAfterCancelFails) {
  Engine e = authorized();
  ASSERT_FALSE(e.auth("PLAIN"));
  e.feed("+ \r\n");
  EXPECT_EQ(next(e), "challenge []");
  ASSERT_FALSE(e.sasl_cancel());
  e.feed("+ \r\n");
  const std::string ev = next(e);
  EXPECT_TRUE(ev.starts_with("failed 210")) << ev;
  EXPECT_NE(ev.find("after the client cancelled"), std::string::npos) << ev;
  EXPECT_EQ(e.error(), errc::bad_sasl_exchange);
  EXPECT_TRUE(is_protocol_error(e.error()));
}

TEST(EngineSasl, CancelThenErrIsFine) {
  Engine e = authorized();
  ASSERT_FALSE(e.auth("PLAIN"));
  e.feed("+ \r\n");
  EXPECT_EQ(next(e), "challenge []");
  ASSERT_FALSE(e.sasl_cancel());
  e.feed("-ERR cancelled\r\n");
  EXPECT_EQ(next(e), "AUTH -ERR [cancelled]");
  // A later exchange starts afresh.
  ASSERT_FALSE(e.auth("LOGIN"));
  e.feed("+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(next(e), "challenge [VXNlcm5hbWU6]");
}

TEST(EngineSasl, ChallengeRoundsAreBounded) {
  Limits limits;
  limits.max_sasl_challenges = 3;
  Engine e = authorized(limits);
  ASSERT_FALSE(e.auth("X-ENDLESS"));
  for (int i = 0; i < 3; ++i) {
    e.feed("+ AA==\r\n");
    EXPECT_EQ(next(e), "challenge [AA==]");
    ASSERT_FALSE(e.sasl_response("AA=="));
  }
  e.feed("+ AA==\r\n");
  const std::string ev = next(e);
  EXPECT_TRUE(ev.starts_with("failed 210")) << ev;
  EXPECT_NE(ev.find("more than 3 challenges"), std::string::npos) << ev;
}

TEST(EngineSasl, DefaultBoundAllowsScram) {
  Engine e = authorized();
  ASSERT_FALSE(e.auth("SCRAM-SHA-256", "biws"));
  e.feed("+ cj1h\r\n");
  EXPECT_EQ(next(e), "challenge [cj1h]");
  ASSERT_FALSE(e.sasl_response("Yz1i"));
  e.feed("+ dj1h\r\n");
  EXPECT_EQ(next(e), "challenge [dj1h]");
  ASSERT_FALSE(e.sasl_response(""));
  e.feed("+OK\r\n");
  EXPECT_EQ(next(e), "AUTH +OK []");
}

// ---- Long lines ---------------------------------------------------------------

// Feeds `total` octets of `fill` after `prefix`, in 64 KiB pieces, draining
// events; returns the first Failed event rendered, or "" when none came.
// The engine's memory is its fixed receive buffer: it must fail long before
// the line ends.
std::string feed_long_line(Engine& e, const std::string& prefix, std::size_t total, char fill,
                           std::size_t& fed) {
  e.feed(prefix);
  const std::string piece(64 * 1024, fill);
  fed = 0;
  while (fed < total) {
    for (Event ev = e.next_event(); !std::holds_alternative<NeedData>(ev); ev = e.next_event()) {
      if (std::holds_alternative<Failed>(ev)) return render(ev);
    }
    fed += e.feed(std::string_view(piece).substr(0, std::min(piece.size(), total - fed)));
  }
  return "";
}

TEST(EngineLongLines, TenMegabyteUid) {
  Engine e = in_transaction();
  ASSERT_FALSE(e.uidl());
  std::size_t fed = 0;
  const std::string ev = feed_long_line(e, "+OK\r\n1 ", 10 << 20, 'u', fed);
  EXPECT_TRUE(ev.starts_with("failed 201")) << ev;
  EXPECT_LE(fed, e.limits().receive_buffer);
}

TEST(EngineLongLines, HundredMegabyteStatusLine) {
  Engine e = authorized();
  ASSERT_FALSE(e.user("u"));
  std::size_t fed = 0;
  const std::string ev = feed_long_line(e, "+OK ", std::size_t{100} << 20, 's', fed);
  EXPECT_TRUE(ev.starts_with("failed 201")) << ev;
  EXPECT_LE(fed, e.limits().receive_buffer);
}

TEST(EngineLongLines, HundredMegabyteCapabilityLine) {
  Engine e = authorized();
  ASSERT_FALSE(e.capa());
  std::size_t fed = 0;
  const std::string ev = feed_long_line(e, "+OK\r\nSASL ", std::size_t{100} << 20, 'c', fed);
  EXPECT_TRUE(ev.starts_with("failed 201")) << ev;
}

TEST(EngineLongLines, MillionCapabilityLines) {
  Engine e = authorized();
  ASSERT_FALSE(e.capa());
  e.feed("+OK\r\n");
  std::string failed;
  std::size_t lines = 0;
  for (; lines < 1'000'000 && failed.empty(); ++lines) {
    e.feed("X\r\n");
    for (Event ev = e.next_event(); !std::holds_alternative<NeedData>(ev); ev = e.next_event()) {
      if (std::holds_alternative<Failed>(ev)) {
        failed = render(ev);
        break;
      }
    }
  }
  EXPECT_TRUE(failed.starts_with("failed 205")) << failed;
  EXPECT_LE(lines, e.limits().max_capabilities + 1);
}

// A body line has no length limit (RFC 1939 §3 limits only the first line):
// 100 MB without a line end is delivered whole, in chunks no larger than the
// receive buffer, with the engine's memory fixed.
TEST(EngineLongLines, HundredMegabyteBodyLineIsDelivered) {
  Engine e = in_transaction();
  ASSERT_FALSE(e.retr(1));
  const std::size_t total = std::size_t{100} << 20;
  const std::size_t buffer = e.limits().receive_buffer;
  const std::string piece(1 << 20, 'b');
  std::uint64_t octets = 0;
  std::size_t largest = 0;
  bool clean = true;
  bool ended = false;
  auto drain = [&] {
    for (Event ev = e.next_event(); !std::holds_alternative<NeedData>(ev); ev = e.next_event()) {
      if (const auto* b = std::get_if<BodyChunk>(&ev)) {
        octets += b->data.size();
        largest = std::max(largest, b->data.size());
        if (clean && octets <= total) {
          clean = b->data.find_first_not_of('b') == std::string_view::npos;
        }
      } else if (std::holds_alternative<End>(ev)) {
        ended = true;
      } else if (!std::holds_alternative<Status>(ev)) {
        ADD_FAILURE() << render(ev);
        return;
      }
    }
  };
  auto give = [&](std::string_view bytes) {
    while (!bytes.empty()) {
      bytes.remove_prefix(e.feed(bytes));
      drain();
    }
  };
  give("+OK\r\nb");
  for (std::size_t sent = 1; sent < total; sent += piece.size())
    give(std::string_view(piece).substr(0, std::min(piece.size(), total - sent)));
  give("\r\n.\r\n");
  EXPECT_TRUE(ended);
  EXPECT_EQ(octets, total + 2);
  EXPECT_LE(largest, buffer);
  EXPECT_EQ(e.limits().receive_buffer, buffer);
  EXPECT_EQ(e.buffered(), 0U);
}

}  // namespace
}  // namespace pop3kit::test
