// The command table and the state changes of the engine. Each session runs at
// every input split; the runner checks every change starts where the last one
// ended and that state() never moves without one.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "transcript.hpp"

namespace pop3kit::test {
namespace {

using namespace pop3kit::proto;
using Events = std::vector<std::string>;

// Names every Command. -Wswitch (part of -Wall) warns when an enumerator is
// missing here, so a new command cannot slip past the row count check below.
constexpr bool is_command(Command c) {
  switch (c) {
    case Command::none:
    case Command::user:
    case Command::pass:
    case Command::apop:
    case Command::stat:
    case Command::list:
    case Command::retr:
    case Command::top:
    case Command::dele:
    case Command::noop:
    case Command::rset:
    case Command::quit:
    case Command::uidl:
    case Command::capa:
    case Command::utf8:
    case Command::stls:
    case Command::auth:
      return true;
  }
  return false;
}

std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (unsigned i = 0; is_command(static_cast<Command>(i)); ++i)
    all.push_back(static_cast<Command>(i));
  return all;
}

TEST(CommandTable, OneRowPerCommandInOrder) {
  const auto all = all_commands();
  ASSERT_EQ(all.size(), 17U);  // enumerators are consecutive from 0
  EXPECT_FALSE(is_command(static_cast<Command>(all.size())));
  for (const Command c : all) {
    EXPECT_EQ(command_info(c).command, c) << static_cast<int>(c);
    EXPECT_STREQ(command_info(c).name, to_string(c));
  }
  // Out of range: the row of none, as to_string() always answered "".
  EXPECT_EQ(command_info(static_cast<Command>(200)).command, Command::none);
  EXPECT_STREQ(to_string(static_cast<Command>(200)), "");
}

TEST(CommandTable, NamesFramingAndStates) {
  std::string names;
  std::string multi;
  std::string authorization;
  std::string transaction;
  std::string exclusive;
  std::string logs_in;
  for (const Command c : all_commands()) {
    const CommandInfo& i = command_info(c);
    names.append(i.name).append(" ");
    if (i.multi_line(false)) multi.append(i.name).append(i.multi_line(true) ? " " : "- ");
    if (i.allowed_in(State::authorization)) authorization.append(i.name).append(" ");
    if (i.allowed_in(State::transaction)) transaction.append(i.name).append(" ");
    if (i.exclusive) exclusive.append(i.name).append(" ");
    if (i.logs_in) logs_in.append(i.name).append(" ");
    for (const State s : {State::greeting, State::update, State::closed})
      EXPECT_FALSE(i.allowed_in(s)) << i.name << " in " << to_string(s);
  }
  EXPECT_EQ(names,
            " USER PASS APOP STAT LIST RETR TOP DELE NOOP RSET QUIT UIDL CAPA UTF8 STLS AUTH ");
  // "-": multi-line only without an argument.
  EXPECT_EQ(multi, "LIST- RETR TOP UIDL- CAPA ");
  EXPECT_EQ(authorization, "USER PASS APOP QUIT CAPA UTF8 STLS AUTH ");
  EXPECT_EQ(transaction, "STAT LIST RETR TOP DELE NOOP RSET QUIT UIDL CAPA ");
  EXPECT_EQ(exclusive, "PASS APOP QUIT STLS AUTH ");
  EXPECT_EQ(logs_in, "PASS APOP AUTH ");
  EXPECT_TRUE(command_info(Command::quit).ends_session);
  EXPECT_EQ(command_info(Command::top).arguments, Arguments::message_and_lines);
  EXPECT_EQ(command_info(Command::uidl).content, Content::uidl);
}

// An argument the table calls required cannot be left out; one it does not
// list is never sent.
TEST(CommandTable, RequiredArguments) {
  Engine e;
  e.feed("+OK\r\n");
  (void)e.next_event();
  EXPECT_EQ(e.user(""), make_error_code(errc::invalid_argument));
  ASSERT_FALSE(e.user("u"));
  EXPECT_EQ(e.pass(""), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.pending_output(), "USER u\r\n");
}

Transcript user_pass(std::string after_login, std::function<void(Engine&)> then) {
  Transcript t;
  t.server = crlf({"+OK ready", "+OK", "+OK logged in"});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.server_after_login = std::move(after_login);
  t.after_login = std::move(then);
  return t;
}

TEST(EngineStates, UserPassThroughQuit) {
  const Transcript t = user_pass(crlf({"+OK 1 5", "+OK", "hello", ".", "+OK bye"}), [](Engine& e) {
    ASSERT_FALSE(e.stat());
    ASSERT_FALSE(e.retr(1));
    ASSERT_FALSE(e.quit());
  });
  const Outcome o = run_all_splits(t);
  const Events expected = {
      "GREETING -> AUTHORIZATION (greeting +OK)",
      "AUTHORIZATION -> TRANSACTION (PASS +OK)",
      "TRANSACTION -> UPDATE (QUIT queued)",
      "UPDATE -> CLOSED (QUIT +OK)",
  };
  EXPECT_EQ(o.states, expected);
  EXPECT_EQ(o.events.back(), "QUIT +OK [bye]");
}

TEST(EngineStates, QuitErrAndEndOfInput) {
  const Transcript t = user_pass("-ERR some deleted messages not removed\r\n",
                                 [](Engine& e) { ASSERT_FALSE(e.quit()); });
  EXPECT_EQ(run_all_splits(t).states.back(), "UPDATE -> CLOSED (QUIT -ERR)");

  // The server hangs up with nothing outstanding: closed, no failure.
  Transcript eof = user_pass({}, nullptr);
  eof.eof = true;
  const Outcome o = run_all_splits(eof);
  EXPECT_EQ(o.states.back(), "TRANSACTION -> CLOSED (connection closed)");
  EXPECT_EQ(o.events.back(), "PASS +OK [logged in]");
}

// Each retry is queued only after the failure before it (nothing may follow
// a login command on the wire), so this session is driven by hand.
TEST(EngineStates, FailedLoginsChangeNothing) {
  Engine e;
  std::vector<std::string> states;
  e.set_state_trace([&](const StateChange& c) { states.push_back(render(c)); });
  e.feed("+OK <1.2@host>\r\n");
  (void)e.next_event();
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.pass("p"));
  e.feed("+OK\r\n-ERR [AUTH] no\r\n");
  EXPECT_EQ(render(e.next_event()), "USER +OK []");
  EXPECT_EQ(render(e.next_event()), "PASS -ERR {AUTH} [no]");
  EXPECT_EQ(e.state(), State::authorization);
  ASSERT_FALSE(e.apop("u", "c4c9334bac560ecc979e58001b3e22fb"));
  e.feed("-ERR [AUTH] no\r\n");
  EXPECT_EQ(render(e.next_event()), "APOP -ERR {AUTH} [no]");
  ASSERT_FALSE(e.auth("PLAIN", "AHUAcA=="));
  e.feed("+OK in\r\n");
  EXPECT_EQ(render(e.next_event()), "AUTH +OK [in]");
  const Events expected = {"GREETING -> AUTHORIZATION (greeting +OK)",
                           "AUTHORIZATION -> TRANSACTION (AUTH +OK)"};
  EXPECT_EQ(states, expected);
  EXPECT_EQ(e.state(), State::transaction);
}

TEST(EngineStates, ApopAndQuitInAuthorization) {
  Transcript t;
  t.server = crlf({"+OK <1.2@host>", "+OK"});
  t.commands = [](Engine& e) { ASSERT_FALSE(e.apop("u", "c4c9334bac560ecc979e58001b3e22fb")); };
  t.server_after_login = crlf({"+OK bye"});
  t.after_login = [](Engine& e) { ASSERT_FALSE(e.quit()); };
  Events expected = {"GREETING -> AUTHORIZATION (greeting +OK)",
                     "AUTHORIZATION -> TRANSACTION (APOP +OK)",
                     "TRANSACTION -> UPDATE (QUIT queued)", "UPDATE -> CLOSED (QUIT +OK)"};
  EXPECT_EQ(run_all_splits(t).states, expected);

  // QUIT before any login: no UPDATE (RFC 1939 §6), and nothing after it.
  Transcript q;
  q.server = crlf({"+OK", "+OK bye"});
  q.commands = [](Engine& e) {
    ASSERT_FALSE(e.quit());
    EXPECT_EQ(e.state(), State::authorization);
    EXPECT_EQ(e.capa(), make_error_code(errc::wrong_state));
  };
  expected = {"GREETING -> AUTHORIZATION (greeting +OK)", "AUTHORIZATION -> CLOSED (QUIT +OK)"};
  EXPECT_EQ(run_all_splits(q).states, expected);
}

TEST(EngineStates, GreetingRefused) {
  Transcript t;
  t.server = crlf({"-ERR [SYS/TEMP] busy"});
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.states, Events{"GREETING -> CLOSED (greeting -ERR)"});
}

// STLS answered +OK changes no state: the session stays in AUTHORIZATION
// under TLS, where CAPA and the login follow.
TEST(EngineStates, StlsThenSaslLogin) {
  Engine e;
  std::vector<std::string> states;
  e.set_state_trace([&](const StateChange& c) { states.push_back(render(c)); });
  e.feed("+OK\r\n");
  (void)e.next_event();
  ASSERT_FALSE(e.stls());
  e.feed("+OK Begin TLS\r\n");
  EXPECT_EQ(render(e.next_event()), "STLS +OK [Begin TLS]");
  e.set_tls_active();
  EXPECT_EQ(e.state(), State::authorization);
  ASSERT_FALSE(e.capa());
  ASSERT_FALSE(e.auth("SCRAM-SHA-256", "biwsbj11LHI9YWJj"));
  EXPECT_EQ(e.capa(), make_error_code(errc::wrong_state));  // nothing behind AUTH
  e.feed("+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n+ cj1hYmM=\r\n");
  for (int i = 0; i < 3; ++i)
    (void)e.next_event();
  EXPECT_EQ(render(e.next_event()), "challenge [cj1hYmM=]");
  EXPECT_EQ(e.state(), State::authorization);
  ASSERT_FALSE(e.sasl_response("Yz1iaXdzLHI9YWJj"));
  e.feed("+ dj1zaWc=\r\n");
  EXPECT_EQ(render(e.next_event()), "challenge [dj1zaWc=]");
  ASSERT_FALSE(e.sasl_response(""));
  e.feed("+OK\r\n");
  EXPECT_EQ(render(e.next_event()), "AUTH +OK []");
  ASSERT_FALSE(e.quit());
  const Events expected = {"GREETING -> AUTHORIZATION (greeting +OK)",
                           "AUTHORIZATION -> TRANSACTION (AUTH +OK)",
                           "TRANSACTION -> UPDATE (QUIT queued)"};
  EXPECT_EQ(states, expected);
}

// A protocol failure leaves the state where it was.
TEST(EngineStates, FailureKeepsTheState) {
  const Transcript t = user_pass("+OK 1\r\n", [](Engine& e) { ASSERT_FALSE(e.stat()); });
  const Outcome o = run_all_splits(t);
  EXPECT_TRUE(o.events.back().starts_with("failed ")) << o.events.back();
  EXPECT_EQ(o.states.back(), "AUTHORIZATION -> TRANSACTION (PASS +OK)");
}

}  // namespace
}  // namespace pop3kit::test
