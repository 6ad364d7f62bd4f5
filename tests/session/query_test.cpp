// Query on its own, on a session already logged in: the listing's checks
// (numbers, repeats, bounds, LIST and UIDL agreeing) and STAT.
#include <gtest/gtest.h>

#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using Kind = session::Query::Kind;
using Batches = std::vector<std::string>;

// USER/PASS lock-step, then the query with `facts`.
struct QuerySubject : Subject {
  QuerySubject(Kind k, session::Facts f, bool p) : kind(k), facts(f), pipelined(p) {}
  Kind kind;
  session::Facts facts;
  bool pipelined;
  std::optional<session::Login> login;
  std::optional<session::Query> query;

  session::Operation& make(std::string_view) override {
    login.emplace(session::Credentials{"u", "p"}, LoginOptions{}, session::Facts{});
    return *login;
  }
  session::Operation* then() override {
    if (query) return nullptr;
    query.emplace(kind);
    query->prepare(facts, pipelined);
    return &*query;
  }
  std::string found() override {
    if (!query || !query->outcome()) return "";
    if (kind == Kind::stat) {
      return "stat " + std::to_string(query->mailbox().count) + " " +
             std::to_string(query->mailbox().size);
    }
    return render(query->entries());
  }
};

SubjectFactory query_factory(Kind kind, bool pipelined, std::optional<std::uint64_t> highest = {},
                             std::size_t max_listing = 100'000) {
  return [=]() {
    session::Facts f;
    f.highest = highest;
    f.max_listing = max_listing;
    return std::unique_ptr<Subject>(std::make_unique<QuerySubject>(kind, f, pipelined));
  };
}

TEST(SessionQuery, ListingPipelined) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n2 20\r\n1 10\r\n.\r\n+OK\r\n1 a\r\n2 b\r\n.\r\n"}}),
      query_factory(Kind::listing, true));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\n", "PASS p\r\n", "LIST\r\nUIDL\r\n"}));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found, "2:20:b,1:10:a");
}

TEST(SessionQuery, ListingLockStep) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\n", "+OK\r\n1 10\r\n.\r\n"}, {"UIDL\r\n", "+OK\r\n1 a\r\n.\r\n"}}),
      query_factory(Kind::listing, false));
  EXPECT_EQ(o.batches, (Batches{"USER u\r\n", "PASS p\r\n", "LIST\r\n", "UIDL\r\n"}));
  EXPECT_EQ(o.found, "1:10:a");
}

// UIDL is optional (RFC 1939 §7): refused, the listing has no uids.
TEST(SessionQuery, UidlRefused) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n.\r\n-ERR no UIDL\r\n"}}),
      query_factory(Kind::listing, true));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found, "1:10");
}

TEST(SessionQuery, ListingRepeatsANumber) {
  const auto o =
      run_session_all_splits(logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n1 10\r\n"}}),
                             query_factory(Kind::listing, true));
  EXPECT_EQ(o.outcome, "ok; error 209: LIST response: message 1 is listed twice");
  EXPECT_TRUE(o.closes);
}

// Out of order, the repeat is found at the end of the listing.
TEST(SessionQuery, ListingRepeatOutOfOrder) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n2 10\r\n1 10\r\n2 10\r\n.\r\n"}}),
      query_factory(Kind::listing, true));
  EXPECT_EQ(o.outcome, "ok; error 209: LIST response: message 2 is listed twice");
  EXPECT_TRUE(o.closes);
}

TEST(SessionQuery, ListingBeyondStat) {
  const auto o =
      run_session_all_splits(logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n3 10\r\n"}}),
                             query_factory(Kind::listing, true, 2));
  EXPECT_EQ(o.outcome,
            "ok; error 209: LIST response: message 3 does not exist (the highest number is 2 by "
            "STAT)");
}

TEST(SessionQuery, ListingTooLong) {
  const auto o =
      run_session_all_splits(logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n2 10\r\n3 10\r\n"}}),
                             query_factory(Kind::listing, true, std::nullopt, 2));
  EXPECT_EQ(o.outcome,
            "ok; error 208: LIST response: more than 2 entries (ClientOptions::max_listing)");
}

TEST(SessionQuery, ListAndUidlDisagree) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n2 20\r\n.\r\n+OK\r\n1 a\r\n.\r\n"}}),
      query_factory(Kind::listing, true));
  EXPECT_EQ(o.outcome,
            "ok; error 209: LIST and UIDL disagree: message 2 is in LIST but not in UIDL");
  EXPECT_TRUE(o.closes);
  const auto u = run_session_all_splits(
      logged_in({{"LIST\r\nUIDL\r\n", "+OK\r\n1 10\r\n.\r\n+OK\r\n1 a\r\n3 c\r\n.\r\n"}}),
      query_factory(Kind::listing, true));
  EXPECT_EQ(u.outcome,
            "ok; error 209: LIST and UIDL disagree: message 3 is in UIDL but not in LIST");
}

TEST(SessionQuery, Stat) {
  const auto o = run_session_all_splits(logged_in({{"STAT\r\n", "+OK 3 300\r\n"}}),
                                        query_factory(Kind::stat, false));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found, "stat 3 300");
  const auto r = run_session_all_splits(logged_in({{"STAT\r\n", "-ERR [SYS/PERM] gone\r\n"}}),
                                        query_factory(Kind::stat, false));
  EXPECT_EQ(r.outcome, "ok; error 303 [SYS/PERM]: STAT: server says \"[SYS/PERM] gone\"");
  EXPECT_FALSE(r.closes);
}

}  // namespace
}  // namespace pop3kit::test
