// The spooler hands a retrieval's calls to its own thread: the target must
// see what a Client would have shown it directly, in order, with the same
// handling of its own errors.
#include "pop3kit/spooler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::store {
namespace {

// Writes down every call, as one line each; `refuse` makes begin() fail for
// that message number.
class Recorder final : public MessageHandler {
 public:
  std::vector<std::string> calls;
  std::uint64_t refuse = 0;
  std::thread::id thread;

  std::error_code begin(std::uint64_t n) override {
    note("begin " + std::to_string(n));
    if (n == refuse) return make_error_code(errc::sink_failed);
    return {};
  }
  std::error_code data(std::uint64_t n, std::string_view chunk) override {
    // Consecutive chunks are merged: only the bytes and their order matter.
    const std::string prefix = "data " + std::to_string(n) + " ";
    if (!calls.empty() && calls.back().starts_with(prefix)) {
      calls.back().append(chunk);
    } else {
      note(prefix + std::string(chunk));
    }
    return {};
  }
  std::error_code end(std::uint64_t n, std::uint64_t octets) override {
    note("end " + std::to_string(n) + " " + std::to_string(octets));
    return {};
  }
  void failed(std::uint64_t n, const Error& e) override {
    note("failed " + std::to_string(n) + " " + std::to_string(e.code.value()));
  }

 private:
  void note(std::string s) {
    thread = std::this_thread::get_id();
    calls.push_back(std::move(s));
  }
};

// The same calls, made on `h`: message 1 in many small chunks, message 2
// large enough to be cut into several blocks, message 3 refused by the
// server, message 4 cut off by a failure after some data.
void play(MessageHandler& h) {
  (void)h.begin(1);
  for (int i = 0; i < 1000; ++i)
    (void)h.data(1, "line " + std::to_string(i) + "\r\n");
  (void)h.end(1, 1);
  (void)h.begin(2);
  for (int i = 0; i < 40; ++i)
    (void)h.data(2, std::string(32 * 1024, static_cast<char>('a' + i % 26)));
  (void)h.end(2, 2);
  h.failed(3, Error(errc::server_error, "no such message"));
  (void)h.begin(4);
  (void)h.data(4, "half");
  h.failed(4, Error(errc::connection_closed, "gone"));
}

TEST(Spooler, TheTargetSeesTheSameCallsOnTheSpoolersThread) {
  Recorder direct;
  play(direct);
  Recorder spooled;
  {
    Spooler s(spooled);
    play(s);
    s.finish();
  }
  // A message that fails before a block of it was handed over is only
  // reported failed: nothing of it was worth writing.
  std::vector<std::string> expected = direct.calls;
  std::erase(expected, "begin 4");
  std::erase(expected, "data 4 half");
  EXPECT_EQ(spooled.calls, expected);
  EXPECT_NE(spooled.thread, std::this_thread::get_id());
}

TEST(Spooler, ATargetErrorDropsTheMessageAndFailedFollows) {
  Recorder r;
  r.refuse = 2;
  {
    Spooler s(r);
    (void)s.begin(2);
    (void)s.data(2, "dropped");
    (void)s.end(2, 7);
    (void)s.begin(5);
    (void)s.data(5, "kept");
    (void)s.end(5, 4);
  }
  const std::vector<std::string> expected = {
      "begin 2", "failed 2 " + std::to_string(static_cast<int>(errc::sink_failed)),
      "begin 5", "data 5 kept",
      "end 5 4",
  };
  EXPECT_EQ(r.calls, expected);
}

// A slow target behind a full queue: the reading thread waits for room and
// is woken (once half the bound is free, or the queue is empty), the
// buffers the spooler reuses carry nothing of an earlier message, and a
// piece larger than half the bound, or than the whole bound, still goes
// through.
TEST(Spooler, AFullQueueWaitsAndReusedBuffersCarryNothingOver) {
  // Message n: `size(n)` octets, all of them the letter for n, in chunks.
  auto size = [](std::uint64_t n) -> std::size_t {
    if (n % 50 == 7) return Spooler::kMaxQueued * 3 / 2;  // more than the bound
    if (n % 10 == 3) return Spooler::kMaxQueued * 3 / 5;  // more than half of it
    return 20 * 1024 + n;
  };
  auto letter = [](std::uint64_t n) { return static_cast<char>('a' + n % 26); };
  class Checker final : public MessageHandler {
   public:
    explicit Checker(std::function<char(std::uint64_t)> letter) : letter_(std::move(letter)) {}
    std::error_code begin(std::uint64_t) override {
      got_ = 0;
      return {};
    }
    std::error_code data(std::uint64_t n, std::string_view chunk) override {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // slower than the reader
      if (chunk.find_first_not_of(letter_(n)) != std::string_view::npos) ++wrong;
      got_ += chunk.size();
      return {};
    }
    std::error_code end(std::uint64_t, std::uint64_t) override {
      sizes.push_back(got_);
      return {};
    }
    void failed(std::uint64_t, const Error&) override { ++wrong; }
    std::vector<std::size_t> sizes;
    int wrong = 0;

   private:
    std::function<char(std::uint64_t)> letter_;
    std::size_t got_ = 0;
  };
  Checker checker(letter);
  constexpr std::uint64_t kMessages = 300;
  {
    Spooler s(checker);
    for (std::uint64_t n = 1; n <= kMessages; ++n) {
      (void)s.begin(n);
      const std::string line(1000, letter(n));
      for (std::size_t left = size(n); left > 0;) {
        const std::size_t piece = std::min(left, line.size());
        (void)s.data(n, std::string_view(line).substr(0, piece));
        left -= piece;
      }
      (void)s.end(n, size(n));
    }
    s.finish();
  }
  EXPECT_EQ(checker.wrong, 0);
  ASSERT_EQ(checker.sizes.size(), kMessages);
  for (std::uint64_t n = 1; n <= kMessages; ++n)
    EXPECT_EQ(checker.sizes[n - 1], size(n)) << n;
}

}  // namespace
}  // namespace pop3kit::store
