// Quit: the answer, then the close; anything the server says before the
// close means its answers were out of step with the commands.
#include <gtest/gtest.h>

#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

struct QuitSubject : Subject {
  std::optional<session::Quit> quit;
  session::Operation& make(std::string_view) override { return quit.emplace(); }
};

SubjectFactory quit_factory() {
  return [] { return std::unique_ptr<Subject>(std::make_unique<QuitSubject>()); };
}

const char* const kOutOfStep =
    "error 206: QUIT: the server sent more after its answer, so its answers were out of step "
    "with the commands; the answer to QUIT cannot be trusted (the deleted messages may not have "
    "been removed)";

TEST(SessionQuit, AnsweredThenClosed) {
  Script sc;
  sc.turns = {{"QUIT\r\n", "+OK bye\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, quit_factory());
  EXPECT_EQ(o.sent, "QUIT\r\n");
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_TRUE(o.closes);
  EXPECT_FALSE(o.stalled);
}

// A server slow to close costs the driver's short wait, nothing more.
TEST(SessionQuit, AnsweredNotClosed) {
  Script sc;
  sc.turns = {{"QUIT\r\n", "+OK bye\r\n"}};
  const auto o = run_session_all_splits(sc, quit_factory());
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_TRUE(o.closes);
  EXPECT_FALSE(o.stalled);
}

TEST(SessionQuit, Refused) {
  Script sc;
  sc.turns = {{"QUIT\r\n", "-ERR some deleted messages not removed\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, quit_factory());
  EXPECT_EQ(o.outcome,
            "error 300: QUIT (the server may not have removed the deleted messages): server says "
            "\"some deleted messages not removed\"");
  EXPECT_TRUE(o.closes);
}

// More after the answer, in whatever reads it comes.
TEST(SessionQuit, MoreAfterTheAnswerIsOutOfStep) {
  Script sc;
  sc.turns = {{"QUIT\r\n", "+OK\r\n+OK bye\r\n"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, quit_factory());
  EXPECT_EQ(o.outcome, kOutOfStep);
  EXPECT_TRUE(o.closes);
}

TEST(SessionQuit, ConnectionLostBeforeTheAnswer) {
  Script sc;
  sc.turns = {{"QUIT\r\n", "+O"}};
  sc.close = true;
  const auto o = run_session_all_splits(sc, quit_factory());
  EXPECT_EQ(o.outcome, "error 403: connection closed while waiting for the response to QUIT");
  EXPECT_TRUE(o.closes);
}

}  // namespace
}  // namespace pop3kit::test
