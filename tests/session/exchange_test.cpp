// Exchange: one command and its answer, for every shape of answer the
// engine's table knows; the session usable after a -ERR or a refused sink,
// closed after an answer out of step or a listing that breaks its checks.
// AwaitGreeting: the greeting read by an operation.
#include <gtest/gtest.h>

#include "pop3kit/session_command.hpp"
#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using proto::Command;
using Part = session::Exchange::Part;

// One Exchange of a run.
struct Step {
  session::Request request;
  Part part = Part::whole;
  bool failing_sink = false;  ///< The sink refuses the first chunk.
  bool no_sink = false;
};

// USER/PASS lock-step (unless `login` is false), then the steps in turn.
struct ExchangeSubject : Subject {
  ExchangeSubject(std::vector<Step> s, session::Facts f, bool l)
      : steps(std::move(s)), facts(f), login(l) {}
  std::vector<Step> steps;
  session::Facts facts;
  bool login;
  std::optional<session::Login> login_op;
  std::vector<std::unique_ptr<session::Exchange>> ops;
  std::string body;  // what the sinks accepted
  session::Sink sink = [this](std::string_view chunk) {
    body += chunk;
    return std::error_code();
  };
  session::Sink refusing = [](std::string_view) {
    return std::make_error_code(std::errc::no_space_on_device);
  };

  session::Operation& make(std::string_view) override {
    if (login) {
      login_op.emplace(session::Credentials{"u", "p"}, LoginOptions{}, session::Facts{});
      return *login_op;
    }
    return *next();
  }
  session::Operation* then() override { return next(); }
  session::Exchange* next() {
    if (ops.size() == steps.size()) return nullptr;
    const Step& st = steps[ops.size()];
    const session::Sink* s = st.no_sink ? nullptr : st.failing_sink ? &refusing : &sink;
    ops.push_back(std::make_unique<session::Exchange>(st.request, facts, s, st.part));
    return ops.back().get();
  }
  std::string found() override {
    std::string out;
    for (const auto& op : ops) {
      if (!op->outcome()) continue;
      if (!out.empty()) out += "; ";
      out += show(*op);
    }
    if (!body.empty()) out += "; body " + body;
    return out;
  }
  static std::string show(session::Exchange& op) {
    const Command c = op.request().command;
    switch (proto::command_info(c).content) {
      case proto::Content::stat:
        return "stat " + std::to_string(op.mailbox().count) + " " +
               std::to_string(op.mailbox().size);
      case proto::Content::list:
      case proto::Content::uidl:
        if (op.request().number) return "entry " + render({op.entry()});
        return "entries " + render(op.entries());
      case proto::Content::capabilities:
        return "caps " + render(op.capabilities());
      case proto::Content::body:
        if (op.octets() == 0) return "text " + op.text();
        return "octets " + std::to_string(op.octets());
      case proto::Content::none:
        break;
    }
    return "text " + op.text();
  }
};

SubjectFactory steps(std::vector<Step> s, session::Facts f = {}, bool login = true) {
  return [=]() { return std::unique_ptr<Subject>(std::make_unique<ExchangeSubject>(s, f, login)); };
}

// A server whose CAPA lists neither TOP nor UIDL.
session::Facts user_only() {
  static const Capabilities caps = caps_of({{"USER", ""}});
  session::Facts f;
  f.capabilities = &caps;
  return f;
}

Script before_login(std::vector<Turn> turns) {
  Script sc;
  sc.turns = std::move(turns);
  return sc;
}

// ---- Commands answered by a status line ---------------------------------

TEST(SessionExchange, StatusOnlyCommands) {
  const auto o =
      run_session_all_splits(logged_in({{"DELE 1\r\n", "+OK marked\r\n"},
                                        {"NOOP\r\n", "+OK\r\n"},
                                        {"RSET\r\n", "+OK maildrop has 2 messages\r\n"}}),
                             steps({{{Command::dele, 1}}, {{Command::noop}}, {{Command::rset}}}));
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\nDELE 1\r\nNOOP\r\nRSET\r\n");
  EXPECT_EQ(o.outcome, "ok; ok; ok; ok");
  EXPECT_EQ(o.found, "text marked; text ; text maildrop has 2 messages");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
}

TEST(SessionExchange, Utf8BeforeLogin) {
  const auto o = run_session_all_splits(before_login({{"UTF8\r\n", "+OK UTF8 enabled\r\n"}}),
                                        steps({{{Command::utf8}}}, {}, false));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "text UTF8 enabled");
}

// QUIT lock-step: its answer alone (Quit also waits for the close).
TEST(SessionExchange, QuitAnswerAlone) {
  const auto o =
      run_session_all_splits(logged_in({{"QUIT\r\n", "+OK bye\r\n"}}), steps({{{Command::quit}}}));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
}

// A -ERR is the server's error, named after the command; the session goes on.
TEST(SessionExchange, RefusedThenUsable) {
  const auto o = run_session_all_splits(
      logged_in({{"DELE 9\r\n", "-ERR no such message\r\n"}, {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::dele, 9}}, {{Command::noop}}}));
  EXPECT_EQ(o.outcome, "ok; error 300: DELE 9: server says \"no such message\"; ok");
  EXPECT_FALSE(o.closes);
  const auto t = run_session_all_splits(
      logged_in({{"RSET\r\n", "-ERR [SYS/TEMP] busy\r\n"}, {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::rset}}, {{Command::noop}}}));
  EXPECT_EQ(t.outcome, "ok; error 302 [SYS/TEMP]: RSET: server says \"[SYS/TEMP] busy\"; ok");
}

// A command the engine refuses is not sent, and the session goes on.
TEST(SessionExchange, NotAllowedIsNotSent) {
  const auto o =
      run_session_all_splits(before_login({{"CAPA\r\n", "-ERR not yet\r\n"}}),
                             steps({{{Command::dele, 1}}, {{Command::capa}}}, {}, false));
  EXPECT_EQ(o.sent, "CAPA\r\n");
  EXPECT_EQ(o.outcome,
            "error 102: cannot send DELE: not allowed in the AUTHORIZATION state; error 300: "
            "CAPA: server says \"not yet\"");
  EXPECT_FALSE(o.closes);
  const auto u = run_session_all_splits(before_login({}), steps({{{Command::user}}}, {}, false));
  EXPECT_EQ(u.sent, "");
  EXPECT_EQ(u.outcome,
            "error 100: cannot send USER: invalid argument (empty, zero, or containing CR, LF or "
            "NUL)");
  EXPECT_FALSE(u.closes);
}

// A malformed status line is the engine's protocol error: the session ends.
TEST(SessionExchange, MalformedAnswerCloses) {
  const auto o = run_session_all_splits(logged_in({{"NOOP\r\n", "HELLO\r\n"}}),
                                        steps({{{Command::noop}}, {{Command::noop}}}));
  EXPECT_EQ(o.outcome.substr(0, 14), "ok; error 200:");
  EXPECT_TRUE(o.closes);
}

// An answer that belongs to an earlier command is out of step.
TEST(SessionExchange, AnswerOutOfStepCloses) {
  const auto o = run_session_all_splits(
      logged_in({{"RETR 1\r\n", "+OK\r\nbody\r\n.\r\n"}, {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::retr, 1}, Part::status}, {{Command::noop}}}));
  EXPECT_EQ(o.outcome, "ok; ok; error 206: expected the status line of NOOP");
  EXPECT_TRUE(o.closes);
}

TEST(SessionExchange, ConnectionLost) {
  Script sc = logged_in({{"NOOP\r\n", "+O"}});
  sc.close = true;
  const auto o = run_session_all_splits(sc, steps({{{Command::noop}}}));
  EXPECT_EQ(o.outcome, "ok; error 403: connection closed while waiting for the response to NOOP");
  EXPECT_TRUE(o.closes);
}

// ---- STAT, LIST n, UIDL n -----------------------------------------------

TEST(SessionExchange, Stat) {
  const auto o = run_session_all_splits(
      logged_in({{"STAT\r\n", "-ERR [IN-USE] locked\r\n"}, {"STAT\r\n", "+OK 2 320\r\n"}}),
      steps({{{Command::stat}}, {{Command::stat}}}));
  EXPECT_EQ(o.outcome, "ok; error 302 [IN-USE]: STAT: server says \"[IN-USE] locked\"; ok");
  EXPECT_EQ(o.found, "stat 2 320");
  EXPECT_FALSE(o.closes);
}

TEST(SessionExchange, MalformedStatCloses) {
  const auto o =
      run_session_all_splits(logged_in({{"STAT\r\n", "+OK two\r\n"}}), steps({{{Command::stat}}}));
  EXPECT_EQ(o.outcome.substr(0, 14), "ok; error 203:");
  EXPECT_TRUE(o.closes);
}

TEST(SessionExchange, ListOne) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST 2\r\n", "+OK 2 200\r\n"}, {"LIST 7\r\n", "-ERR no such message\r\n"}}),
      steps({{{Command::list, 2}}, {{Command::list, 7}}}));
  EXPECT_EQ(o.outcome, "ok; ok; error 300: LIST 7: server says \"no such message\"");
  EXPECT_EQ(o.found, "entry 2:200");
  EXPECT_FALSE(o.closes);
}

// A refused UIDL names what the capabilities leave out.
TEST(SessionExchange, UidlOne) {
  const auto o = run_session_all_splits(
      logged_in({{"UIDL 1\r\n", "+OK 1 abc\r\n"}, {"UIDL 2\r\n", "-ERR unknown command\r\n"}}),
      steps({{{Command::uidl, 1}}, {{Command::uidl, 2}}}, user_only()));
  EXPECT_EQ(o.outcome,
            "ok; ok; error 300: UIDL 2: server says \"unknown command\" (the server does not "
            "offer UIDL)");
  EXPECT_EQ(o.found, "entry 1:0:abc");
}

// ---- Listings -----------------------------------------------------------

TEST(SessionExchange, Listings) {
  const auto o =
      run_session_all_splits(logged_in({{"LIST\r\n", "+OK 2 messages\r\n1 100\r\n2 200\r\n.\r\n"},
                                        {"UIDL\r\n", "+OK\r\n1 a\r\n2 b\r\n.\r\n"}}),
                             steps({{{Command::list}}, {{Command::uidl}}}));
  EXPECT_EQ(o.outcome, "ok; ok; ok");
  EXPECT_EQ(o.found, "entries 1:100,2:200; entries 1:0:a,2:0:b");
}

TEST(SessionExchange, EmptyListingAndRefusal) {
  const auto o = run_session_all_splits(
      logged_in({{"LIST\r\n", "+OK\r\n.\r\n"}, {"UIDL\r\n", "-ERR no UIDL here\r\n"}}),
      steps({{{Command::list}}, {{Command::uidl}}}));
  EXPECT_EQ(o.outcome, "ok; ok; error 300: UIDL: server says \"no UIDL here\"");
  EXPECT_EQ(o.found, "entries ");
  EXPECT_FALSE(o.closes);
}

TEST(SessionExchange, ListingRepeatsANumber) {
  const auto o = run_session_all_splits(logged_in({{"UIDL\r\n", "+OK\r\n1 a\r\n1 a\r\n"}}),
                                        steps({{{Command::uidl}}}));
  EXPECT_EQ(o.outcome, "ok; error 209: UIDL response: message 1 is listed twice");
  EXPECT_TRUE(o.closes);
  // Out of order, the repeat is found at the end.
  const auto late =
      run_session_all_splits(logged_in({{"LIST\r\n", "+OK\r\n2 10\r\n1 10\r\n2 10\r\n.\r\n"}}),
                             steps({{{Command::list}}}));
  EXPECT_EQ(late.outcome, "ok; error 209: LIST response: message 2 is listed twice");
  EXPECT_TRUE(late.closes);
}

TEST(SessionExchange, ListingBounds) {
  session::Facts f;
  f.highest = 2;
  const auto o = run_session_all_splits(logged_in({{"LIST\r\n", "+OK\r\n1 10\r\n3 10\r\n"}}),
                                        steps({{{Command::list}}}, f));
  EXPECT_EQ(o.outcome,
            "ok; error 209: LIST response: message 3 does not exist (the highest number is 2 by "
            "STAT)");
  EXPECT_TRUE(o.closes);
  session::Facts g;
  g.max_listing = 2;
  const auto t = run_session_all_splits(
      logged_in({{"LIST\r\n", "+OK\r\n1 10\r\n2 10\r\n3 10\r\n"}}), steps({{{Command::list}}}, g));
  EXPECT_EQ(t.outcome,
            "ok; error 208: LIST response: more than 2 entries (ClientOptions::max_listing)");
  EXPECT_TRUE(t.closes);
  const auto z = run_session_all_splits(logged_in({{"UIDL\r\n", "+OK\r\n0 a\r\n"}}),
                                        steps({{{Command::uidl}}}));
  EXPECT_EQ(z.outcome, "ok; error 203: UIDL response: message number '0' is not valid");
  EXPECT_TRUE(z.closes);
}

// ---- CAPA ---------------------------------------------------------------

TEST(SessionExchange, Capa) {
  const auto o = run_session_all_splits(
      before_login({{"CAPA\r\n", "+OK\r\nUSER\r\nSASL PLAIN SCRAM-SHA-256\r\nPIPELINING\r\n.\r\n"},
                    {"CAPA\r\n", "-ERR what?\r\n"},
                    {"UTF8\r\n", "+OK\r\n"}}),
      steps({{{Command::capa}}, {{Command::capa}}, {{Command::utf8}}}, {}, false));
  EXPECT_EQ(o.outcome, "ok; error 300: CAPA: server says \"what?\"; ok");
  EXPECT_EQ(o.found, "caps USER,SASL PLAIN SCRAM-SHA-256,PIPELINING; text ");
  EXPECT_FALSE(o.closes);
}

// ---- RETR and TOP -------------------------------------------------------

TEST(SessionExchange, RetrieveStreams) {
  const auto o = run_session_all_splits(
      logged_in({{"RETR 1\r\n", "+OK 22 octets\r\nSubject: x\r\n\r\n..dot\r\n.\r\n"},
                 {"TOP 2 0\r\n", "+OK\r\nSubject: y\r\n.\r\n"}}),
      steps({{{Command::retr, 1}}, {{Command::top, 2, 0}}}));
  EXPECT_EQ(o.outcome, "ok; ok; ok");
  EXPECT_EQ(o.found, "octets 20; octets 12; body Subject: x\r\n\r\n.dot\r\nSubject: y\r\n");
  EXPECT_FALSE(o.closes);
}

TEST(SessionExchange, RetrieveRefused) {
  const auto o = run_session_all_splits(
      logged_in({{"RETR 5\r\n", "-ERR no such message\r\n"},
                 {"TOP 1 3\r\n", "-ERR unknown command\r\n"},
                 {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::retr, 5}}, {{Command::top, 1, 3}}, {{Command::noop}}}, user_only()));
  EXPECT_EQ(o.outcome,
            "ok; error 300: RETR 5: server says \"no such message\"; error 300: TOP 1 3: server "
            "says \"unknown command\" (the server does not offer TOP); ok");
  EXPECT_FALSE(o.closes);
}

// A sink error: the rest of the body is read and dropped, the session goes on.
TEST(SessionExchange, SinkErrorDrains) {
  const auto o = run_session_all_splits(
      logged_in({{"RETR 1\r\n", "+OK\r\nline one\r\nline two\r\n.\r\n"}, {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::retr, 1}, Part::whole, true}, {{Command::noop}}}));
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\nRETR 1\r\nNOOP\r\n");
  EXPECT_EQ(o.outcome,
            "ok; error 105: RETR 1: storing the message failed: No space left on device; ok");
  EXPECT_FALSE(o.closes);
}

// Without a sink the body is counted and dropped.
TEST(SessionExchange, NoSink) {
  const auto o =
      run_session_all_splits(logged_in({{"TOP 1 1\r\n", "+OK\r\nA: b\r\n\r\nc\r\n.\r\n"}}),
                             steps({{{Command::top, 1, 1}, Part::whole, false, true}}));
  EXPECT_EQ(o.outcome, "ok; ok");
  EXPECT_EQ(o.found, "octets 11");
}

// The status line alone, then the rest drained by Part::rest, then the
// next command: what a driver that hands the body out itself does.
TEST(SessionExchange, StatusThenRest) {
  const auto o = run_session_all_splits(
      logged_in({{"RETR 3\r\n", "+OK 120 octets\r\nSubject: z\r\n\r\nbody\r\n.\r\n"},
                 {"NOOP\r\n", "+OK\r\n"}}),
      steps({{{Command::retr, 3}, Part::status},
             {{Command::retr, 3}, Part::rest, false, true},
             {{Command::noop}}}));
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\nRETR 3\r\nNOOP\r\n");
  EXPECT_EQ(o.outcome, "ok; ok; ok; ok");
  EXPECT_EQ(o.found, "text 120 octets; octets 20; text ");
  EXPECT_FALSE(o.closes);
}

TEST(SessionExchange, StatusRefused) {
  const auto o =
      run_session_all_splits(logged_in({{"RETR 3\r\n", "-ERR gone\r\n"}, {"NOOP\r\n", "+OK\r\n"}}),
                             steps({{{Command::retr, 3}, Part::status}, {{Command::noop}}}));
  EXPECT_EQ(o.outcome, "ok; error 300: RETR 3: server says \"gone\"; ok");
  EXPECT_FALSE(o.closes);
}

TEST(SessionExchange, BodyCutShort) {
  Script sc = logged_in({{"RETR 1\r\n", "+OK\r\nhalf a mess"}});
  sc.close = true;
  const auto o = run_session_all_splits(sc, steps({{{Command::retr, 1}}}));
  EXPECT_EQ(o.outcome.substr(0, 14), "ok; error 403:");
  EXPECT_TRUE(o.closes);
}

// ---- The greeting -------------------------------------------------------

struct GreetingSubject : Subject {
  std::optional<session::AwaitGreeting> greeting;
  session::Operation& make(std::string_view) override { return greeting.emplace(); }
  std::string found() override {
    if (!greeting->outcome()) return "";
    return greeting->text() + " / " + greeting->apop_timestamp();
  }
};

SubjectFactory greeting_factory() {
  return [] { return std::unique_ptr<Subject>(std::make_unique<GreetingSubject>()); };
}

Script greeted(std::string greeting, bool close = false) {
  Script sc;
  sc.greeting = "";
  sc.turns = {{"", std::move(greeting)}};
  sc.close = close;
  return sc;
}

TEST(SessionGreeting, Read) {
  const auto o =
      run_session_all_splits(greeted("+OK POP3 ready <1.2@host>\r\n"), greeting_factory());
  EXPECT_EQ(o.sent, "");
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "POP3 ready <1.2@host> / <1.2@host>");
  EXPECT_FALSE(o.closes);
}

TEST(SessionGreeting, Refused) {
  const auto o =
      run_session_all_splits(greeted("-ERR [SYS/TEMP] too busy\r\n", true), greeting_factory());
  EXPECT_EQ(o.outcome, "error 304 [SYS/TEMP]: the server refused the session: \"too busy\"");
  EXPECT_TRUE(o.closes);
}

TEST(SessionGreeting, NoneBeforeTheClose) {
  const auto o = run_session_all_splits(greeted("", true), greeting_factory());
  EXPECT_EQ(o.outcome.substr(0, 10), "error 403:");
  EXPECT_TRUE(o.closes);
  const auto m = run_session_all_splits(greeted("HELLO\r\n", true), greeting_factory());
  EXPECT_EQ(m.outcome.substr(0, 10), "error 207:");
  EXPECT_TRUE(m.closes);
}

}  // namespace
}  // namespace pop3kit::test
