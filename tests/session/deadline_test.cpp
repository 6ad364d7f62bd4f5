// session::Deadline (the operation deadline both clients keep) and the check
// that the server said nothing unasked before a write. The time is passed
// in, so every case is exact: no clock, no sleeping.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "pop3kit/engine.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/session_deadline.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using session::Deadline;
using std::chrono::milliseconds;

// Any reading of the driver's clock: the deadline only subtracts them.
constexpr Deadline::TimePoint t0 = Deadline::TimePoint{} + 1000h;

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(SessionDeadline, WithoutADeadlineEveryWaitIsWhole) {
  Deadline d(0ms, 30s);
  auto w = d.wait(5s, t0, "NOOP\r\n");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 5s);
  EXPECT_TRUE(d.is_open());
  EXPECT_FALSE(d.end().has_value());
  w = d.wait(5s, t0 + 1000h, "");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 5s);
  // A timeout is the wait's own: no deadline cut it short.
  const Error e = d.wait_failed(Error(errc::timed_out, "no answer from x within 5 s"));
  EXPECT_EQ(e.code, errc::timed_out);
  EXPECT_EQ(e.message, "no answer from x within 5 s");
}

TEST(SessionDeadline, TheDeadlineCapsTheWaitThenExpires) {
  Deadline d(2s, 0ms);
  d.open("NOOP", t0);
  ASSERT_TRUE(d.end().has_value());
  EXPECT_EQ(*d.end(), t0 + 2s);
  auto w = d.wait(10s, t0 + 500ms);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 1500ms);
  // Less than `most` left: what is left; more: `most`.
  w = d.wait(100ms, t0 + 500ms);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 100ms);
  for (const auto at : {t0 + 2s, t0 + 3s}) {
    w = d.wait(10s, at);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().code, errc::deadline_exceeded);
    EXPECT_EQ(w.error().message, "NOOP did not finish within its deadline of 2 s");
  }
  EXPECT_EQ(d.error().message, "NOOP did not finish within its deadline of 2 s");
}

// What is left is rounded up: a wait of zero would not wait at all.
TEST(SessionDeadline, WhatIsLeftIsRoundedUpToTheMillisecond) {
  Deadline d(2s, 0ms);
  d.open("STAT", t0);
  const auto w = d.wait(10s, t0 + 1999ms + std::chrono::microseconds(400));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 1ms);
}

TEST(SessionDeadline, EachMiBReceivedAddsTime) {
  Deadline d(2s, 30s);
  d.open("RETR", t0);
  d.add_received(kMiB / 2);
  d.add_received(kMiB / 2);
  EXPECT_EQ(d.received(), kMiB);
  ASSERT_TRUE(d.end().has_value());
  EXPECT_EQ(*d.end(), t0 + 32s);
  auto w = d.wait(10s, t0 + 31s);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 1s);
  w = d.wait(10s, t0 + 32s);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, errc::deadline_exceeded);
  EXPECT_EQ(w.error().message,
            "RETR did not finish within its deadline of 32 s (2 s, plus 30 s for the 1048576 "
            "octets received)");
}

TEST(SessionDeadline, CreditIsProportionalAndNeverNegative) {
  Deadline half(2s, 30s);
  half.open("RETR", t0);
  half.add_received(kMiB / 4);
  EXPECT_EQ(*half.end(), t0 + 9500ms);
  EXPECT_EQ(half.error().message,
            "RETR did not finish within its deadline of 9.5 s (2 s, plus 7.5 s for the 262144 "
            "octets received)");

  Deadline negative(2s, -30s);
  negative.open("RETR", t0);
  negative.add_received(10 * kMiB);
  EXPECT_EQ(*negative.end(), t0 + 2s);
  EXPECT_EQ(negative.error().message, "RETR did not finish within its deadline of 2 s");
}

// Opening again starts the budget and the count of octets again.
TEST(SessionDeadline, OpeningAgainRestartsTheBudget) {
  Deadline d(2s, 30s);
  d.open("login", t0);
  d.add_received(kMiB);
  d.close();
  EXPECT_FALSE(d.is_open());
  EXPECT_FALSE(d.end().has_value());
  d.open("STAT", t0 + 1h);
  EXPECT_EQ(d.received(), 0u);
  EXPECT_EQ(*d.end(), t0 + 1h + 2s);
}

// A wait outside an operation opens one, named by the command's keyword and
// never by the rest of the line (a password).
TEST(SessionDeadline, AWaitOpensAnOperationNamedByItsKeyword) {
  Deadline d(2s, 0ms);
  ASSERT_TRUE(d.wait(10s, t0, "PASS hunter2\r\n").ok());
  EXPECT_EQ(d.error().message, "PASS did not finish within its deadline of 2 s");
  // Open: a later wait keeps the operation, its name and its start.
  ASSERT_TRUE(d.wait(10s, t0 + 1s, "RETR 1\r\n").ok());
  EXPECT_EQ(*d.end(), t0 + 2s);
  EXPECT_EQ(d.error().message, "PASS did not finish within its deadline of 2 s");

  for (const char* output : {"", "XTND 1\r\n", "RETRIEVE\r\n"}) {
    Deadline other(2s, 0ms);
    ASSERT_TRUE(other.wait(10s, t0, output).ok());
    EXPECT_EQ(other.error().message,
              "reading the server's answer did not finish within its deadline of 2 s")
        << output;
  }
  Deadline top(2s, 0ms);
  ASSERT_TRUE(top.wait(10s, t0, "TOP 1 10\r\n").ok());
  EXPECT_EQ(top.error().message, "TOP did not finish within its deadline of 2 s");
}

TEST(SessionDeadline, ATimeoutAfterACappedWaitIsTheDeadlines) {
  Deadline d(2s, 0ms);
  d.open("NOOP", t0);
  auto w = d.wait(10s, t0 + 500ms);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(*w, 1500ms);
  Error e = d.wait_failed(Error(errc::timed_out, "no answer from x within 1.5 s"));
  EXPECT_EQ(e.code, errc::deadline_exceeded);
  EXPECT_EQ(e.message, "NOOP did not finish within its deadline of 2 s");
  // Other failures of a capped wait are their own.
  e = d.wait_failed(Error(errc::connection_closed, "reading from x failed: reset"));
  EXPECT_EQ(e.code, errc::connection_closed);
  EXPECT_EQ(e.message, "reading from x failed: reset");
}

TEST(SessionDeadline, ATimeoutAfterAWholeWaitStaysATimeout) {
  Deadline d(2s, 0ms);
  d.open("NOOP", t0);
  // Capped once, then a wait shorter than what is left: the last wait counts.
  ASSERT_TRUE(d.wait(10s, t0).ok());
  const auto w = d.wait(300ms, t0 + 1s);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(*w, 300ms);
  const Error e = d.wait_failed(Error(errc::timed_out, "no answer from x within 0.3 s"));
  EXPECT_EQ(e.code, errc::timed_out);
  EXPECT_EQ(e.message, "no answer from x within 0.3 s");
}

// Durations far beyond a century count as one: nothing overflows (UBSan
// checks the arithmetic in the sanitised build).
TEST(SessionDeadline, HugeDurationsDoNotOverflow) {
  Deadline d(milliseconds::max(), milliseconds::max());
  d.open("RETR", t0);
  d.add_received(~std::uint64_t{0});
  ASSERT_TRUE(d.end().has_value());
  EXPECT_GT(*d.end(), t0 + 24h * 365 * 99);
  const auto w = d.wait(5s, t0);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, 5s);
}

// ---- The check that the server said nothing unasked ----------------------

proto::Engine greeted() {
  proto::Engine engine;
  engine.feed("+OK ready\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Greeting>(engine.next_event()));
  return engine;
}

TEST(SessionQuiet, CheckedOnlyWhenCommandsWaitAndNoneIsAnswered) {
  proto::Engine engine = greeted();
  EXPECT_FALSE(session::must_be_quiet(engine));  // nothing to send
  ASSERT_FALSE(engine.user("me"));
  EXPECT_TRUE(session::must_be_quiet(engine));  // USER waits, nothing in flight
  engine.consume_output(2);
  EXPECT_FALSE(session::must_be_quiet(engine));  // USER is on its way: input may come
  engine.consume_output(engine.pending_output().size());
  engine.feed("+OK\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Status>(engine.next_event()));
  EXPECT_FALSE(session::must_be_quiet(engine));
  ASSERT_FALSE(engine.pass("secret"));
  EXPECT_TRUE(session::must_be_quiet(engine));

  // Awaiting the greeting, input is expected.
  proto::Engine fresh;
  EXPECT_FALSE(session::must_be_quiet(fresh));
}

TEST(SessionQuiet, WhatTheEngineHoldsIsItsFailure) {
  proto::Engine quiet = greeted();
  EXPECT_FALSE(session::buffered_unasked(quiet).has_value());

  // Came with the greeting, and after the last answer.
  proto::Engine with_greeting;
  with_greeting.feed("+OK ready\r\n+OK extra\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Greeting>(with_greeting.next_event()));
  proto::Engine after_answer = greeted();
  ASSERT_FALSE(after_answer.user("me"));
  after_answer.consume_output(after_answer.pending_output().size());
  after_answer.feed("+OK\r\n+OK again\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Status>(after_answer.next_event()));
  ASSERT_FALSE(after_answer.pass("secret"));  // queued behind the stray line
  for (proto::Engine* engine : {&with_greeting, &after_answer}) {
    const auto e = session::buffered_unasked(*engine);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, errc::unexpected_data);
    EXPECT_EQ(e->message, "server sent data while no response was expected");
    EXPECT_TRUE(engine->failed());
  }
}

TEST(SessionQuiet, WhatAReadFoundIsClassified) {
  Error e = session::unasked_error("");
  EXPECT_EQ(e.code, errc::connection_closed);
  EXPECT_EQ(e.message, "the server closed the connection while no command was outstanding");

  e = session::unasked_error("-ERR Disconnected for inactivity.\r\n");
  EXPECT_EQ(e.code, errc::connection_closed);
  EXPECT_EQ(e.message, "the server ended the session: '-ERR Disconnected for inactivity.'");

  e = session::unasked_error("+OK\r\n");
  EXPECT_EQ(e.code, errc::unexpected_data);
  EXPECT_EQ(e.message, "server sent data while no response was expected: '+OK\\x0d\\x0a'");

  // "-ER" is not a -ERR line; control octets are quoted, the quote is cut.
  e = session::unasked_error("-ER\x1b[2J");
  EXPECT_EQ(e.code, errc::unexpected_data);
  EXPECT_EQ(e.message, "server sent data while no response was expected: '-ER\\x1b[2J'");
  e = session::unasked_error("-ERR " + std::string(200, 'x') + "\r\n");
  EXPECT_EQ(e.code, errc::connection_closed);
  EXPECT_EQ(e.message, "the server ended the session: '-ERR " + std::string(75, 'x') + "...'");
}

}  // namespace
}  // namespace pop3kit::test
