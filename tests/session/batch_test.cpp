// Batch: pipelined RETR, TOP and DELE under the windows, answers matched in
// order, a -ERR or a sink error for one message, DELE results, and what
// ends the session. Every transcript runs at every input split; the server
// answers only what the client has sent (see session_transcript.hpp), so
// each write in `batches` holds exactly the commands the windows let out.
#include <gtest/gtest.h>

#include <map>

#include "pop3kit/session_batch.hpp"
#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using Batches = std::vector<std::string>;
using proto::Command;

// Records what a Batch hands out; fails the messages in `refuse` at the
// step named there ("begin", "data" or "end").
struct Recorder : MessageHandler {
  std::map<std::uint64_t, std::string> refuse;
  std::map<std::uint64_t, std::string> bodies;
  std::vector<std::string> log;

  std::error_code fails(std::uint64_t n, const char* step) const {
    auto it = refuse.find(n);
    if (it == refuse.end() || it->second != step) return {};
    return std::make_error_code(std::errc::no_space_on_device);
  }
  std::error_code begin(std::uint64_t n) override {
    log.push_back("begin " + std::to_string(n));
    return fails(n, "begin");
  }
  std::error_code data(std::uint64_t n, std::string_view chunk) override {
    if (auto ec = fails(n, "data")) return ec;
    bodies[n] += chunk;
    return {};
  }
  std::error_code end(std::uint64_t n, std::uint64_t octets) override {
    log.push_back("end " + std::to_string(n) + " " + std::to_string(octets) + " " + bodies[n]);
    return fails(n, "end");
  }
  void failed(std::uint64_t n, const Error& e) override {
    log.push_back("failed " + std::to_string(n) + ": " + describe(e));
  }
};

struct BatchSetup {
  Command command = Command::retr;
  std::vector<std::uint64_t> numbers;
  std::vector<std::uint64_t> sizes;
  std::uint64_t lines = 0;
  Capabilities caps = caps_of({{"PIPELINING", ""}, {"TOP", ""}});
  bool pipelining_allowed = true;
  std::size_t window = 2048;
  std::uint64_t octets = 16 * 1024 * 1024;
  std::map<std::uint64_t, std::string> refuse;
  bool logged_in = true;  ///< USER/PASS first (lock-step), else the batch at once.
};

session::Facts facts_of(const BatchSetup& s) {
  session::Facts f;
  f.capabilities = &s.caps;
  f.pipelining_allowed = s.pipelining_allowed;
  f.pipeline_window = s.window;
  f.pipeline_octets = s.octets;
  return f;
}

std::unique_ptr<session::Batch> make_batch(const BatchSetup& s, Recorder& rec) {
  const session::Facts f = facts_of(s);
  switch (s.command) {
    case Command::retr:
      return std::make_unique<session::Batch>(f, s.numbers, rec, s.sizes);
    case Command::top:
      return std::make_unique<session::Batch>(f, s.numbers, s.lines, rec);
    default:
      return std::make_unique<session::Batch>(f, s.numbers);
  }
}

struct BatchSubject : Subject {
  explicit BatchSubject(BatchSetup s) : setup(std::move(s)) { rec.refuse = setup.refuse; }
  BatchSetup setup;
  Recorder rec;
  std::optional<session::Login> login;
  std::unique_ptr<session::Batch> batch;

  session::Operation& make(std::string_view) override {
    if (!setup.logged_in) {
      batch = make_batch(setup, rec);
      return *batch;
    }
    login.emplace(session::Credentials{"u", "p"}, LoginOptions{}, session::Facts{});
    return *login;
  }
  session::Operation* then() override {
    if (batch) return nullptr;
    batch = make_batch(setup, rec);
    return batch.get();
  }
  std::string found() override {
    std::string s;
    for (const auto& line : rec.log)
      s += line + "\n";
    if (batch && setup.command == Command::dele) {
      for (const auto& r : batch->results())
        s += (r ? std::string("ok") : describe(r.error())) + "\n";
      s += "deleted " + std::to_string(batch->deleted()) + "\n";
    }
    return s;
  }
};

SubjectFactory batch_factory(const BatchSetup& setup) {
  return [setup]() { return std::unique_ptr<Subject>(std::make_unique<BatchSubject>(setup)); };
}

Batches login_and(std::vector<std::string> writes) {
  Batches b = {"USER u\r\n", "PASS p\r\n"};
  b.insert(b.end(), writes.begin(), writes.end());
  return b;
}

std::string message(std::uint64_t n) {
  return "+OK\r\nm" + std::to_string(n) + "\r\n.\r\n";
}

// Four RETRs whose answers come one per turn: each write holds the
// commands let out by the answer read before it.
Script one_answer_per_turn(const std::vector<std::string>& writes) {
  std::vector<Turn> turns;
  for (std::size_t i = 0; i < writes.size(); ++i)
    turns.push_back({writes[i], message(i + 1)});
  // The answers not yet given come after the last write.
  for (std::size_t i = writes.size(); i < 4; ++i)
    turns.back().server += message(i + 1);
  return logged_in(std::move(turns));
}

const std::string kFourDelivered =
    "begin 1\nend 1 4 m1\r\n\nbegin 2\nend 2 4 m2\r\n\nbegin 3\nend 3 4 m3\r\n\n"
    "begin 4\nend 4 4 m4\r\n\n";

TEST(SessionBatch, RetrPipelinedWithErrInTheMiddle) {
  BatchSetup s;
  s.numbers = {1, 2, 3};
  const auto o =
      run_session_all_splits(logged_in({{"RETR 1\r\nRETR 2\r\nRETR 3\r\n",
                                         "+OK\r\none\r\n.\r\n-ERR [SYS/PERM] message 2 is gone\r\n"
                                         "+OK 9 octets\r\n..three\r\n.\r\n"}}),
                             batch_factory(s));
  EXPECT_EQ(o.batches, login_and({"RETR 1\r\nRETR 2\r\nRETR 3\r\n"}));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found,
            "begin 1\nend 1 5 one\r\n\n"
            "failed 2: error 303 [SYS/PERM]: RETR 2: server says \"[SYS/PERM] message 2 is "
            "gone\"\n"
            "begin 3\nend 3 8 .three\r\n\n");
}

// Without PIPELINING (or with it turned off) one command at a time, with
// the same results.
TEST(SessionBatch, WithoutPipeliningOneAtATime) {
  for (const bool listed : {false, true}) {
    BatchSetup s;
    s.numbers = {1, 2, 3, 4};
    if (listed) {
      s.pipelining_allowed = false;
    } else {
      s.caps = caps_of({{"TOP", ""}});
    }
    const Batches writes = {"RETR 1\r\n", "RETR 2\r\n", "RETR 3\r\n", "RETR 4\r\n"};
    const auto o = run_session_all_splits(one_answer_per_turn(writes), batch_factory(s));
    EXPECT_EQ(o.batches, login_and(writes));
    EXPECT_EQ(o.outcome, "ok; ok");
    EXPECT_EQ(o.found, kFourDelivered);
  }
}

// pipeline_window bounds the commands' octets in flight: "RETR n\r\n" is 8
// octets, so a window of 16 lets two out, and one more per answer.
TEST(SessionBatch, CommandWindow) {
  BatchSetup s;
  s.numbers = {1, 2, 3, 4};
  s.window = 16;
  const Batches writes = {"RETR 1\r\nRETR 2\r\n", "RETR 3\r\n", "RETR 4\r\n"};
  const auto o = run_session_all_splits(one_answer_per_turn(writes), batch_factory(s));
  EXPECT_EQ(o.batches, login_and(writes));
  EXPECT_EQ(o.found, kFourDelivered);
  // One octet more: the third goes too (queued while under the window).
  s.window = 17;
  const Batches three = {"RETR 1\r\nRETR 2\r\nRETR 3\r\n", "RETR 4\r\n"};
  const auto p = run_session_all_splits(one_answer_per_turn(three), batch_factory(s));
  EXPECT_EQ(p.batches, login_and(three));
  EXPECT_EQ(p.found, kFourDelivered);
}

// A large window is topped up once an eighth of it is free, several
// commands in one write, not one after every answer. Commands of 9 octets
// ("RETR 10\r\n") in a window of 264, whose slack is 33: 30 go first (270
// octets); five answers free 45, and five more go together, and so on.
TEST(SessionBatch, FullWindowIsToppedUpInGroups) {
  BatchSetup s;
  for (std::uint64_t n = 10; n <= 69; ++n)
    s.numbers.push_back(n);
  s.window = 264;
  auto retrs = [](std::uint64_t first, std::uint64_t last) {
    std::string w;
    for (std::uint64_t n = first; n <= last; ++n)
      w += "RETR " + std::to_string(n) + "\r\n";
    return w;
  };
  auto answers = [](std::uint64_t first, std::uint64_t last) {
    std::string a;
    for (std::uint64_t n = first; n <= last; ++n)
      a += message(n);
    return a;
  };
  const Batches writes = {retrs(10, 39), retrs(40, 44), retrs(45, 49), retrs(50, 54),
                          retrs(55, 59), retrs(60, 64), retrs(65, 69)};
  const auto o = run_session_all_splits(logged_in({{writes[0], answers(10, 14)},
                                                   {writes[1], answers(15, 19)},
                                                   {writes[2], answers(20, 24)},
                                                   {writes[3], answers(25, 29)},
                                                   {writes[4], answers(30, 34)},
                                                   {writes[5], answers(35, 39)},
                                                   {writes[6], answers(40, 69)}}),
                                        batch_factory(s));
  EXPECT_EQ(o.batches, login_and(writes));
  EXPECT_EQ(o.outcome, "ok; ok");
  std::string all;
  for (std::uint64_t n = 10; n <= 69; ++n) {
    const std::string body = "m" + std::to_string(n) + "\r\n";
    all += "begin " + std::to_string(n) + "\nend " + std::to_string(n) + " " +
           std::to_string(body.size()) + " " + body + "\n";
  }
  EXPECT_EQ(o.found, all);
}

// pipeline_octets bounds the answers' expected octets: a size by LIST plus
// 64 each (74 for 10 octets: three under 200), 64 KiB for an unknown size
// (the first goes alone: one command always goes).
TEST(SessionBatch, AnswerWindowWithAndWithoutSizes) {
  BatchSetup s;
  s.numbers = {1, 2, 3, 4};
  s.octets = 200;
  s.sizes = {10, 10, 10, 10};
  const Batches sized = {"RETR 1\r\nRETR 2\r\nRETR 3\r\n", "RETR 4\r\n"};
  const auto o = run_session_all_splits(one_answer_per_turn(sized), batch_factory(s));
  EXPECT_EQ(o.batches, login_and(sized));
  EXPECT_EQ(o.found, kFourDelivered);

  s.sizes = {};
  const Batches unknown = {"RETR 1\r\n", "RETR 2\r\n", "RETR 3\r\n", "RETR 4\r\n"};
  const auto u = run_session_all_splits(one_answer_per_turn(unknown), batch_factory(s));
  EXPECT_EQ(u.batches, login_and(unknown));
  EXPECT_EQ(u.found, kFourDelivered);

  // Fewer sizes than numbers: the rest count as unknown. 74, then 65536:
  // the answer to RETR 1 lets nothing more out, the answer to RETR 2 does.
  s.sizes = {10};
  const auto f =
      run_session_all_splits(logged_in({{"RETR 1\r\nRETR 2\r\n", message(1) + message(2)},
                                        {"RETR 3\r\n", message(3)},
                                        {"RETR 4\r\n", message(4)}}),
                             batch_factory(s));
  EXPECT_EQ(f.batches, login_and({"RETR 1\r\nRETR 2\r\n", "RETR 3\r\n", "RETR 4\r\n"}));
  EXPECT_EQ(f.found, kFourDelivered);

  // A size near 2^64 saturates instead of wrapping to a small sum.
  s.sizes = {~std::uint64_t{0}, 10, 10, 10};
  s.octets = ~std::uint64_t{0};
  const Batches huge = {"RETR 1\r\n", "RETR 2\r\nRETR 3\r\nRETR 4\r\n"};
  const auto h = run_session_all_splits(one_answer_per_turn(huge), batch_factory(s));
  EXPECT_EQ(h.batches, login_and(huge));
}

// TOP counts 4 KiB an answer, DELE 16 octets.
TEST(SessionBatch, TopAndDeleAnswerWindows) {
  BatchSetup s;
  s.command = Command::top;
  s.numbers = {1, 2, 3, 4};
  s.lines = 0;
  s.octets = 10'000;
  const auto o =
      run_session_all_splits(logged_in({{"TOP 1 0\r\nTOP 2 0\r\nTOP 3 0\r\n", message(1)},
                                        {"TOP 4 0\r\n", message(2) + message(3) + message(4)}}),
                             batch_factory(s));
  EXPECT_EQ(o.batches, login_and({"TOP 1 0\r\nTOP 2 0\r\nTOP 3 0\r\n", "TOP 4 0\r\n"}));
  EXPECT_EQ(o.found, kFourDelivered);

  s.command = Command::dele;
  s.octets = 40;
  const auto d = run_session_all_splits(logged_in({{"DELE 1\r\nDELE 2\r\nDELE 3\r\n", "+OK\r\n"},
                                                   {"DELE 4\r\n", "+OK\r\n+OK\r\n+OK\r\n"}}),
                                        batch_factory(s));
  EXPECT_EQ(d.batches, login_and({"DELE 1\r\nDELE 2\r\nDELE 3\r\n", "DELE 4\r\n"}));
  EXPECT_EQ(d.found, "ok\nok\nok\nok\ndeleted 4\n");
}

// A refused TOP says when the server's CAPA does not list TOP.
TEST(SessionBatch, TopRefusedByAServerWithoutTop) {
  BatchSetup s;
  s.command = Command::top;
  s.numbers = {1};
  s.lines = 5;
  s.caps = caps_of({{"PIPELINING", ""}});
  const auto o = run_session_all_splits(logged_in({{"TOP 1 5\r\n", "-ERR unknown command\r\n"}}),
                                        batch_factory(s));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found,
            "failed 1: error 300: TOP 1: server says \"unknown command\" (the server does not "
            "offer TOP)\n");
}

// A sink error stops that message only: the rest of it is read and dropped,
// failed() tells why, and the next messages are delivered.
TEST(SessionBatch, SinkErrorDrainsThatMessageOnly) {
  for (const char* step : {"begin", "data", "end"}) {
    BatchSetup s;
    s.numbers = {1, 2, 3};
    s.refuse = {{2, step}};
    const auto o = run_session_all_splits(
        logged_in({{"RETR 1\r\nRETR 2\r\nRETR 3\r\n",
                    "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n..two\r\n.\r\n+OK\r\nthree\r\n.\r\n"}}),
        batch_factory(s));
    EXPECT_EQ(o.outcome, "ok; ok") << step;
    EXPECT_FALSE(o.closes);
    const std::string ended = std::string(step) == "end" ? "end 2 11 two\r\n.two\r\n\n" : "";
    EXPECT_EQ(o.found, "begin 1\nend 1 5 one\r\n\nbegin 2\n" + ended +
                           "failed 2: error 105: RETR 2: storing the message failed: No space "
                           "left on device\nbegin 3\nend 3 7 three\r\n\n")
        << step;
  }
}

TEST(SessionBatch, DeleResults) {
  BatchSetup s;
  s.command = Command::dele;
  s.numbers = {1, 2, 3};
  const auto o = run_session_all_splits(
      logged_in({{"DELE 1\r\nDELE 2\r\nDELE 3\r\n", "+OK\r\n-ERR [IN-USE] locked\r\n+OK\r\n"}}),
      batch_factory(s));
  EXPECT_EQ(o.batches, login_and({"DELE 1\r\nDELE 2\r\nDELE 3\r\n"}));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found,
            "ok\nerror 302 [IN-USE]: DELE 2: server says \"[IN-USE] locked\"\nok\ndeleted 2\n");
}

// A protocol error mid-batch ends the session: what was delivered stays
// delivered, DELEs answered +OK stay counted.
TEST(SessionBatch, ProtocolErrorMidBatchCloses) {
  BatchSetup s;
  s.numbers = {1, 2, 3};
  const auto o = run_session_all_splits(
      logged_in({{"RETR 1\r\nRETR 2\r\nRETR 3\r\n", "+OK\r\none\r\n.\r\nhello\r\n"}}),
      batch_factory(s));
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.outcome.rfind("ok; error 200: ", 0), 0U) << o.outcome;
  EXPECT_EQ(o.found, "begin 1\nend 1 5 one\r\n\n");

  s.command = Command::dele;
  const auto d = run_session_all_splits(
      logged_in({{"DELE 1\r\nDELE 2\r\nDELE 3\r\n", "+OK\r\nhello\r\n"}}), batch_factory(s));
  EXPECT_TRUE(d.closes);
  EXPECT_EQ(d.found, "ok\ndeleted 1\n");
}

TEST(SessionBatch, ConnectionClosedMidBatch) {
  BatchSetup s;
  s.numbers = {1, 2};
  const auto o = run_session_all_splits(
      logged_in({{"RETR 1\r\nRETR 2\r\n", "+OK\r\none\r\n.\r\n+OK\r\ntw"}}, true),
      batch_factory(s));
  EXPECT_TRUE(o.closes);
  EXPECT_FALSE(o.stalled);
  EXPECT_EQ(o.outcome.rfind("ok; error ", 0), 0U) << o.outcome;
  EXPECT_EQ(o.found, "begin 1\nend 1 5 one\r\n\nbegin 2\n");
}

// Caller errors: found before anything is sent, the session goes on.
TEST(SessionBatch, CallerErrorsSendNothing) {
  BatchSetup s;
  s.numbers = {1, 0, 3};
  const auto o = run_session_all_splits(logged_in({}), batch_factory(s));
  EXPECT_EQ(o.batches, login_and({}));
  EXPECT_EQ(o.outcome, "ok; error 100: cannot send RETR: message number 0");
  EXPECT_FALSE(o.closes);

  s.numbers = {1};
  s.logged_in = false;
  const auto w = run_session_all_splits(Script{}, batch_factory(s));
  EXPECT_EQ(w.sent, "");
  EXPECT_EQ(w.outcome, "error 102: cannot send RETR: not allowed in the AUTHORIZATION state");

  s.numbers = {};
  s.logged_in = true;
  const auto e = run_session_all_splits(logged_in({}), batch_factory(s));
  EXPECT_EQ(e.batches, login_and({}));
  EXPECT_EQ(e.outcome, "ok; ok");
}

// A transport with little room: each Want::write_ready takes at most
// `room` octets, and the server answers a command once it has all of it.
// The batch reads the answers while the rest of its commands wait, and
// ends as with all the room in the world.
std::string run_batch_tight(const BatchSetup& setup, std::size_t room, std::size_t chunk) {
  proto::Engine engine;
  engine.feed("+OK ready\r\n+OK\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Greeting>(engine.next_event()));
  EXPECT_EQ(engine.user("u"), std::error_code{});
  engine.consume_output(engine.pending_output().size());
  EXPECT_TRUE(std::holds_alternative<proto::Status>(engine.next_event()));
  EXPECT_EQ(engine.pass("p"), std::error_code{});
  engine.consume_output(engine.pending_output().size());
  engine.feed("+OK\r\n");
  EXPECT_TRUE(std::holds_alternative<proto::Status>(engine.next_event()));

  Recorder rec;
  auto batch = make_batch(setup, rec);
  std::string heard;   // commands the server has not answered yet
  std::string answer;  // what the server has said and the client not read
  for (int guard = 0; guard < 100'000; ++guard) {
    const session::Want want = batch->resume(engine);
    if (want == session::Want::done) break;
    if (want == session::Want::write || want == session::Want::write_ready) {
      const std::string_view pending = engine.pending_output();
      const std::size_t n =
          want == session::Want::write ? pending.size() : std::min(room, pending.size());
      heard.append(pending.substr(0, n));
      engine.consume_output(n);
      for (std::size_t eol; (eol = heard.find("\r\n")) != std::string::npos;) {
        answer += message(std::stoull(heard.substr(5, eol - 5)));
        heard.erase(0, eol + 2);
      }
      continue;
    }
    if (answer.empty()) {
      ADD_FAILURE() << "stalled with room " << room;
      batch->transport_failed(Error(errc::timed_out, "timed out"));
      continue;
    }
    const std::size_t n = engine.feed(std::string_view(answer).substr(0, chunk));
    answer.erase(0, n);
  }
  EXPECT_TRUE(batch->done());
  std::string s = batch->outcome() ? "ok\n" : describe(batch->outcome().error()) + "\n";
  for (const auto& line : rec.log)
    s += line + "\n";
  return s;
}

TEST(SessionBatch, ReadsWhileCommandsWait) {
  BatchSetup s;
  s.numbers = {1, 2, 3, 4};
  for (std::size_t room = 8; room <= 40; ++room) {
    for (std::size_t chunk = 1; chunk <= 12; ++chunk) {
      EXPECT_EQ(run_batch_tight(s, room, chunk), "ok\n" + kFourDelivered)
          << "room " << room << ", chunk " << chunk;
    }
  }
}

}  // namespace
}  // namespace pop3kit::test
