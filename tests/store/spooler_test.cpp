// The spooler hands a retrieval's calls to its own thread: the target must
// see what a Client would have shown it directly, in order, with the same
// handling of its own errors.
#include "pop3kit/spooler.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pop3kit::store
