// The progress of many accounts at once (progress_board.hpp), read back from
// what a terminal would show (terminal_screen.hpp).
#include "progress_board.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "terminal_screen.hpp"

namespace pop3kit::cli {
namespace {

using test::TerminalScreen;

// Every redraw at once (no interval), on a terminal of 100 × 30.
ProgressBoard::Options shown(unsigned columns = 100, unsigned rows = 30) {
  ProgressBoard::Options o;
  o.enabled = true;
  o.columns = columns;
  o.rows = rows;
  o.interval = std::chrono::milliseconds(0);
  return o;
}

bool has_line(const std::vector<std::string>& lines, const std::string& start,
              const std::string& part = "") {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.rfind(start, 0) == 0 && l.find(part) != std::string::npos;
  });
}

store::MessageRef ref(std::uint64_t n) {
  return store::MessageRef{n, "uid" + std::to_string(n), 100};
}

TEST(ProgressBoard, ALinePerAccountUnderWayAndTheTotalsLast) {
  TerminalScreen screen;
  std::string raw;
  ProgressBoard board({"alice", "bob", "carol-long-name"}, shown(), [&](std::string_view t) {
    raw += t;
    screen.feed(t);
  });
  auto alice = board.row("alice");
  auto bob = board.row("bob");
  alice->start(2, 200);
  alice->received(100);
  alice->message_done(ref(1), true);

  auto lines = screen.lines();
  ASSERT_EQ(lines.size(), 3U) << raw;
  // Labels padded to the widest name of the run: the bars line up.
  EXPECT_TRUE(lines[0].rfind("alice           [", 0) == 0) << lines[0];
  EXPECT_NE(lines[0].find("1/2 messages"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("100 B / 200 B"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("ETA"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "bob             connecting");
  EXPECT_TRUE(lines[2].rfind("0/3 accounts done  100 B", 0) == 0) << lines[2];
  // The cursor rests below the block.
  EXPECT_EQ(screen.row(), 3U);

  alice->finish(true);
  bob->start(1, 50);
  auto carol = board.row("carol-long-name");
  bob->finish(false);
  lines = screen.lines();
  ASSERT_EQ(lines.size(), 2U) << raw;
  EXPECT_EQ(lines[0], "carol-long-name connecting");
  EXPECT_TRUE(lines[1].rfind("2/3 accounts done, 1 failed  100 B", 0) == 0) << lines[1];

  carol.reset();  // a row that ends without finish() counts as failed
  EXPECT_TRUE(has_line(screen.lines(), "3/3 accounts done, 2 failed")) << raw;
  board.clear();
  EXPECT_TRUE(screen.lines().empty()) << raw;
  EXPECT_EQ(screen.unknown(), 0U);
}

TEST(ProgressBoard, WarningsStayAboveTheBlock) {
  TerminalScreen screen;
  ProgressBoard board({"alice", "bob"}, shown(), [&](std::string_view t) { screen.feed(t); });
  auto alice = board.row("alice");
  auto bob = board.row("bob");
  bob->warning("the server has no UIDL: every message is fetched");
  alice->start(1, 10);
  auto lines = screen.lines();
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_EQ(lines[0], "pop3kit: bob: warning: the server has no UIDL: every message is fetched");
  EXPECT_TRUE(lines[1].rfind("alice [", 0) == 0) << lines[1];
  EXPECT_EQ(lines[2], "bob   connecting");
  alice->finish(true);
  bob->finish(true);
  board.clear();
  lines = screen.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0], "pop3kit: bob: warning: the server has no UIDL: every message is fetched");
}

TEST(ProgressBoard, KeepsToTheTerminalsWidthAndHeight) {
  TerminalScreen screen;
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i)
    names.push_back("account-with-a-rather-long-name-" + std::to_string(i));
  // 40 columns, 8 rows: 5 accounts, "... and 7 more", the totals.
  ProgressBoard board(names, shown(40, 8), [&](std::string_view t) { screen.feed(t); });
  std::vector<std::unique_ptr<ProgressBoard::Row>> rows;
  for (const auto& n : names) {
    rows.push_back(board.row(n));
    rows.back()->start(1000, 1U << 30);
  }
  const auto lines = screen.lines();
  ASSERT_EQ(lines.size(), 7U);
  EXPECT_EQ(lines[5], "... and 7 more under way");
  EXPECT_TRUE(lines[6].rfind("0/12 accounts done", 0) == 0) << lines[6];
  // No line reached the last column, so none wrapped.
  EXPECT_LE(screen.widest(), 39U);
  rows.clear();
  board.clear();
  EXPECT_TRUE(screen.lines().empty());
}

TEST(ProgressBoard, NothingButWarningsWhenNotShown) {
  std::string raw;
  ProgressBoard::Options off;  // not a terminal
  {
    ProgressBoard board({"alice"}, off, [&](std::string_view t) { raw += t; });
    auto alice = board.row("alice");
    alice->start(1, 10);
    alice->received(10);
    alice->message_done(ref(1), true);
    alice->warning("careful");
    alice->finish(true);
  }
  EXPECT_EQ(raw, "pop3kit: alice: warning: careful\n");

  raw.clear();
  off.quiet = true;
  {
    ProgressBoard board({"alice"}, off, [&](std::string_view t) { raw += t; });
    board.row("alice")->warning("careful");
  }
  EXPECT_EQ(raw, "");
}

TEST(ProgressBoard, RowsFromManyThreads) {
  TerminalScreen screen;
  std::mutex fed;
  std::vector<std::string> names = {"a", "b", "c", "d"};
  ProgressBoard board(names, shown(), [&](std::string_view t) {
    const std::lock_guard lock(fed);
    screen.feed(t);
  });
  std::vector<std::thread> threads;
  for (const auto& n : names) {
    threads.emplace_back([&board, n] {
      auto row = board.row(n);
      row->start(500, 500 * 100);
      for (std::uint64_t i = 1; i <= 500; ++i) {
        row->received(i * 100);
        row->message_done(ref(i), true);
      }
      row->finish(true);
    });
  }
  for (auto& t : threads)
    t.join();
  const auto lines = screen.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_TRUE(lines[0].rfind("4/4 accounts done  195.3 KiB", 0) == 0) << lines[0];
  board.clear();
  EXPECT_TRUE(screen.lines().empty());
  EXPECT_EQ(screen.unknown(), 0U);
}

}  // namespace
}  // namespace pop3kit::cli
