// Bulk operations against Dovecot, which lists PIPELINING: retrieve_many,
// top_many, dele_many and list_with_uidl give the same answers pipelined and
// lock-step, byte for byte, with a refused message in the middle.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common.hpp"

namespace pop3kit::interop {
namespace {

using test::dovecot_retr_body;

// Records what a bulk retrieval delivered, and checks the call sequence.
class Recorder : public MessageHandler {
 public:
  std::error_code begin(std::uint64_t number) override {
    EXPECT_FALSE(open_) << "begin(" << number << ") inside message " << current_;
    open_ = true;
    current_ = number;
    order.push_back(number);
    bodies[number].clear();
    return {};
  }
  std::error_code data(std::uint64_t number, std::string_view chunk) override {
    EXPECT_TRUE(open_);
    EXPECT_EQ(number, current_);
    bodies[number].append(chunk);
    if (refuse_data_of == number) return std::make_error_code(std::errc::io_error);
    return {};
  }
  std::error_code end(std::uint64_t number, std::uint64_t octets) override {
    EXPECT_TRUE(open_);
    EXPECT_EQ(number, current_);
    EXPECT_EQ(octets, bodies[number].size());
    open_ = false;
    ended.push_back(number);
    return {};
  }
  void failed(std::uint64_t number, const Error& error) override {
    open_ = false;
    failures[number] = error;
    if (std::find(order.begin(), order.end(), number) == order.end()) order.push_back(number);
  }

  std::vector<std::uint64_t> order;  // numbers in the order they started or failed
  std::vector<std::uint64_t> ended;
  std::map<std::uint64_t, std::string> bodies;
  std::map<std::uint64_t, Error> failures;
  std::uint64_t refuse_data_of = 0;

 private:
  bool open_ = false;
  std::uint64_t current_ = 0;
};

std::vector<std::string> sample_messages() {
  std::vector<std::string> m;
  m.push_back("Subject: 1\r\n\r\n.\r\n..\r\n.x\r\n");
  m.push_back("Subject: 2 lf\n\nbody\n.\n");
  m.push_back("");
  m.push_back("Subject: 4 long\r\n\r\n" + std::string(100 * 1024, 'L') + "\r\n");
  m.push_back("Subject: 5 no final line end\r\n\r\nend");
  for (int i = 6; i <= 40; ++i) {
    m.push_back("Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(i * 37, 'b') + "\r\n");
  }
  return m;
}

struct Traced {
  std::vector<std::pair<proto::TraceDirection, std::string>> lines;
  // Longest run of commands sent before an answer was read.
  std::size_t longest_send_run() const {
    std::size_t best = 0, run = 0;
    for (const auto& [dir, text] : lines) {
      run = dir == proto::TraceDirection::sent ? run + 1 : 0;
      best = std::max(best, run);
    }
    return best;
  }
};

class BulkTest : public DovecotTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    DovecotTest::SetUp();
    if (HasFatalFailure()) return;
    messages_ = sample_messages();
    for (const auto& m : messages_)
      server().add_message(kUser, m);
  }

  // Logged-in client; pipelined (after CAPA) when the parameter is true.
  std::unique_ptr<Client> session() {
    ClientOptions o;
    o.security = Security::plain;
    o.pipelining =
        GetParam() ? ClientOptions::Pipelining::automatic : ClientOptions::Pipelining::off;
    o.trace = [this](proto::TraceDirection d, std::string_view line) {
      trace_.lines.emplace_back(d, std::string(line));
    };
    auto c = connect(o);
    if (!c) return nullptr;
    auto l = c->login(kUser, kPassword);
    EXPECT_TRUE(l.ok()) << describe(l.error());
    if (!l.ok()) return nullptr;
    auto caps = c->capa();
    EXPECT_TRUE(caps.ok()) << describe(caps.error());
    EXPECT_TRUE(caps.ok() && caps->has("PIPELINING"));
    trace_.lines.clear();
    return c;
  }

  void expect_pipelined_as_configured() {
    if (GetParam()) {
      EXPECT_GT(trace_.longest_send_run(), 1u) << "PIPELINING listed: commands should overlap";
    } else {
      EXPECT_EQ(trace_.longest_send_run(), 1u) << "pipelining off: one command at a time";
    }
  }

  std::vector<std::string> messages_;
  Traced trace_;
};

TEST_P(BulkTest, ListWithUidlMatchesListAndUidl) {
  auto c = session();
  ASSERT_TRUE(c);
  auto both = c->list_with_uidl();
  ASSERT_TRUE(both.ok()) << describe(both.error());
  auto l = c->list();
  auto u = c->uidl();
  ASSERT_TRUE(l.ok() && u.ok());
  ASSERT_EQ(both->size(), messages_.size());
  for (std::size_t i = 0; i < both->size(); ++i) {
    EXPECT_EQ((*both)[i].number, i + 1);
    EXPECT_EQ((*both)[i].size, (*l)[i].size);
    EXPECT_EQ((*both)[i].uid, (*u)[i].uid);
    EXPECT_EQ((*both)[i].size, test::dovecot_list_size(messages_[i]));
  }
}

TEST_P(BulkTest, RetrieveManyIsByteExactWithARefusedNumber) {
  auto c = session();
  ASSERT_TRUE(c);
  std::vector<std::uint64_t> numbers;
  for (std::uint64_t n = 1; n <= messages_.size(); ++n) {
    numbers.push_back(n);
    if (n == 3) numbers.push_back(999);  // no such message: -ERR for that one only
  }
  Recorder rec;
  auto r = c->retrieve_many(numbers, rec);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  expect_pipelined_as_configured();
  EXPECT_EQ(rec.order, numbers) << "messages are delivered in the order asked for";
  ASSERT_EQ(rec.failures.count(999), 1u);
  EXPECT_EQ(rec.failures[999].code, make_error_code(errc::server_error))
      << describe(rec.failures[999]);
  EXPECT_EQ(rec.failures.size(), 1u);
  EXPECT_EQ(rec.ended.size(), messages_.size());
  for (std::uint64_t n = 1; n <= messages_.size(); ++n) {
    const std::string want = dovecot_retr_body(messages_[n - 1]);
    EXPECT_TRUE(rec.bodies[n] == want)
        << "message " << n << ": " << first_difference(rec.bodies[n], want);
  }
  // The session goes on.
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, messages_.size());
}

TEST_P(BulkTest, HandlerErrorStopsOneMessageOnly) {
  auto c = session();
  ASSERT_TRUE(c);
  const std::vector<std::uint64_t> numbers{3, 4, 5};
  Recorder rec;
  rec.refuse_data_of = 4;  // the 100 KB one: refused at its first chunk
  auto r = c->retrieve_many(numbers, rec);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  ASSERT_EQ(rec.failures.count(4), 1u);
  EXPECT_EQ(rec.failures[4].code, make_error_code(errc::sink_failed)) << describe(rec.failures[4]);
  EXPECT_EQ(rec.ended, (std::vector<std::uint64_t>{3, 5}));
  EXPECT_EQ(rec.bodies[5], dovecot_retr_body(messages_[4]));
  EXPECT_TRUE(c->noop().ok());
}

TEST_P(BulkTest, TopManyZeroLines) {
  auto c = session();
  ASSERT_TRUE(c);
  const std::vector<std::uint64_t> numbers{1, 2, 4, 40};
  Recorder rec;
  auto r = c->top_many(numbers, 0, rec);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(rec.bodies[1], "Subject: 1\r\n\r\n");
  EXPECT_EQ(rec.bodies[2], "Subject: 2 lf\r\n\r\n");
  EXPECT_EQ(rec.bodies[4], "Subject: 4 long\r\n\r\n");
  EXPECT_EQ(rec.bodies[40], "Subject: 40\r\n\r\n");
}

TEST_P(BulkTest, DeleManyThenQuitRemovesExactlyThose) {
  auto c = session();
  ASSERT_TRUE(c);
  const std::vector<std::uint64_t> numbers{2, 4, 4, 999, 6};
  auto r = c->dele_many(numbers);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  expect_pipelined_as_configured();
  ASSERT_EQ(r->size(), numbers.size());
  EXPECT_TRUE((*r)[0].ok());
  EXPECT_TRUE((*r)[1].ok());
  EXPECT_FALSE((*r)[2].ok()) << "4 is already deleted";
  EXPECT_FALSE((*r)[3].ok()) << "999 does not exist";
  EXPECT_TRUE((*r)[4].ok());
  EXPECT_EQ(server().message_files(kUser).size(), messages_.size());
  auto q = c->quit();
  ASSERT_TRUE(q.ok()) << describe(q.error());
  EXPECT_EQ(server().message_files(kUser).size(), messages_.size() - 3);

  auto again = login();
  ASSERT_TRUE(again);
  auto st = again->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, messages_.size() - 3);
  // Message 2 is now the former 3 (the empty one).
  Collect got;
  ASSERT_TRUE(again->retrieve(2, got.sink()).ok());
  EXPECT_EQ(got.data, "\r\n");
}

TEST_P(BulkTest, SmallWindowManyMessages) {
  // 120 more messages and a window that holds only a few commands.
  for (int i = 0; i < 120; ++i) {
    server().add_message(kUser, "Subject: extra " + std::to_string(i) + "\r\n\r\n" +
                                    std::string(static_cast<std::size_t>(i) * 50, 'e') + "\r\n");
  }
  ClientOptions o;
  o.security = Security::plain;
  o.pipelining = GetParam() ? ClientOptions::Pipelining::automatic : ClientOptions::Pipelining::off;
  o.pipeline_window = 64;
  auto c = connect(o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->login(kUser, kPassword).ok());
  ASSERT_TRUE(c->capa().ok());
  auto all = c->list_with_uidl();
  ASSERT_TRUE(all.ok()) << describe(all.error());
  ASSERT_EQ(all->size(), messages_.size() + 120);
  std::vector<std::uint64_t> numbers;
  for (const auto& e : *all)
    numbers.push_back(e.number);
  Recorder rec;
  auto r = c->retrieve_many(numbers, rec);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(rec.ended.size(), numbers.size());
  EXPECT_TRUE(rec.failures.empty());
  for (std::size_t i = 0; i < 120; ++i) {
    const std::string want =
        "Subject: extra " + std::to_string(i) + "\r\n\r\n" + std::string(i * 50, 'e') + "\r\n";
    EXPECT_EQ(rec.bodies[messages_.size() + i + 1], want);
  }
}

INSTANTIATE_TEST_SUITE_P(Interop, BulkTest, ::testing::Values(true, false),
                         [](const auto& p) { return p.param ? "Pipelined" : "LockStep"; });

}  // namespace
}  // namespace pop3kit::interop
