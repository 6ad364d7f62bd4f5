// Malformed input, limits, greetings and caller errors, each at every split.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace pop3kit::test {
namespace {

using namespace pop3kit::proto;

// Logs in, then sends `command`; the server answers with `answer` (CRLF
// included). Returns the events after the login.
std::vector<std::string> answer(std::function<void(Engine&)> command, std::string answer_bytes,
                                Limits limits = {}) {
  Transcript t;
  t.server = "+OK\r\n+OK\r\n+OK\r\n";
  t.server_after_login = answer_bytes;
  t.limits = limits;
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = command;
  Outcome o = run_all_splits(t);
  o.events.erase(o.events.begin(), o.events.begin() + 3);
  return o.events;
}

std::string last(const std::vector<std::string>& v) {
  return v.empty() ? "" : v.back();
}

TEST(EngineMalformed, StatCountNotANumber) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.stat()); }, "+OK seven 1800\r\n")),
            "failed 203: STAT response: message count 'seven' is not a number");
}

TEST(EngineMalformed, StatSizeMissingOrBad) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.stat()); }, "+OK 7\r\n")),
            "failed 203: STAT response: maildrop size '' is not a number");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.stat()); }, "+OK 7 -1\r\n")),
            "failed 203: STAT response: maildrop size '-1' is not a number");
  EXPECT_EQ(
      last(answer([](Engine& e) { ASSERT_FALSE(e.stat()); }, "+OK 7 18446744073709551616\r\n")),
      "failed 203: STAT response: maildrop size '18446744073709551616' is not a number");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.stat()); }, "+OK\r\n")),
            "failed 203: STAT response: message count '' is not a number");
}

TEST(EngineMalformed, ListSizeNotANumber) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.list()); },
                        "+OK\r\n1 120\r\n7 ten-twenty-four\r\n.\r\n")),
            "failed 203: LIST response: size 'ten-twenty-four' of message 7 is not a number");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.list(7)); }, "+OK 7 ten\r\n")),
            "failed 203: LIST response: size 'ten' of message 7 is not a number");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.list()); }, "+OK\r\n0 120\r\n.\r\n")),
            "failed 203: LIST response: message number '0' is not valid");
}

TEST(EngineMalformed, ListAnsweredForAnotherMessage) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.list(3)); }, "+OK 2 200\r\n")),
            "failed 203: LIST 3 answered for message 2");
}

TEST(EngineMalformed, UidlWithoutId) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl()); }, "+OK\r\n1 abc\r\n2\r\n.\r\n")),
            "failed 204: UIDL response: message 2 has no unique-id");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl(2)); }, "+OK 2\r\n")),
            "failed 204: UIDL response: message 2 has no unique-id");
}

TEST(EngineMalformed, UidOutsidePrintableRange) {
  const auto ev = answer([](Engine& e) { ASSERT_FALSE(e.uidl()); }, "+OK\r\n1 ab\x7f\r\n.\r\n");
  EXPECT_TRUE(last(ev).starts_with("failed 204: UIDL response: unique-id of message 1"))
      << last(ev);
  EXPECT_NE(last(ev).find("'ab\\x7f'"), std::string::npos) << last(ev);
  EXPECT_TRUE(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl()); }, "+OK\r\n1 a b\r\n.\r\n"))
                  .starts_with("failed 204"));
  EXPECT_TRUE(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl()); }, "+OK\r\n1 \xc3\xa9\r\n.\r\n"))
                  .starts_with("failed 204"));
  const std::string uid70(70, 'u');
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl(1)); }, "+OK 1 " + uid70 + "\r\n")),
            "uidl 1 " + uid70);
  EXPECT_TRUE(last(answer([](Engine& e) { ASSERT_FALSE(e.uidl(1)); }, "+OK 1 " + uid70 + "u\r\n"))
                  .starts_with("failed 204"));
}

TEST(EngineMalformed, NeitherOkNorErr) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "OK\r\n")),
            "failed 200: response to NOOP is neither +OK nor -ERR: 'OK'");
  EXPECT_TRUE(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "+OKAY\r\n"))
                  .starts_with("failed 200"));
  EXPECT_TRUE(
      last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "+ok\r\n")).starts_with("failed 200"));
  EXPECT_TRUE(
      last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "\r\n")).starts_with("failed 200"));
}

TEST(EngineMalformed, ControlCharactersInMessagesAreEscaped) {
  const auto ev = answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "\x1b[31mevil\r\n");
  EXPECT_EQ(last(ev), "failed 200: response to NOOP is neither +OK nor -ERR: '\\x1b[31mevil'");
}

TEST(EngineMalformed, BareLineFeedInStatus) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "+OK\n")),
            "failed 202: response line ends in LF without CR: '+OK'");
}

TEST(EngineMalformed, UnexpectedData) {
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, "+OK\r\n+OK injected\r\n")),
            "failed 206: server sent data while no response was expected");
}

TEST(EngineLimits, StatusLineAtAndOverTheLimit) {
  const std::string ok510 = "+OK " + std::string(506, 'a');  // 510 + CRLF = 512
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, ok510 + "\r\n")),
            "NOOP +OK [" + std::string(506, 'a') + "]");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, ok510 + "a\r\n")),
            "failed 201: response line (NOOP) longer than 512 octets");
  // No line end at all: the error comes as soon as 512 octets are in.
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); }, std::string(2000, 'x'))),
            "failed 201: response line (NOOP) longer than 512 octets");
}

TEST(EngineLimits, ConfigurableLineLimit) {
  Limits l;
  l.max_line = 64;
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.noop()); },
                        "+OK " + std::string(60, 'a') + "\r\n", l)),
            "failed 201: response line (NOOP) longer than 64 octets");
}

TEST(EngineLimits, CapabilityLinesAndCount) {
  Limits l;
  l.max_capabilities = 3;
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.capa()); },
                        "+OK\r\nA\r\nB\r\nC\r\nD\r\n.\r\n", l)),
            "failed 205: CAPA response has more than 3 lines");
  EXPECT_EQ(
      last(answer([](Engine& e) { ASSERT_FALSE(e.capa()); }, "+OK\r\nA\r\nB\r\nC\r\n.\r\n", l)),
      "end CAPA");
  EXPECT_EQ(last(answer([](Engine& e) { ASSERT_FALSE(e.capa()); },
                        "+OK\r\n" + std::string(600, 'C') + "\r\n.\r\n")),
            "failed 201: response line (CAPA) longer than 512 octets");
}

Outcome greet(std::string greeting) {
  Transcript t;
  t.server = std::move(greeting);
  return run_all_splits(t);
}

TEST(EngineGreeting, TimestampExtraction) {
  EXPECT_EQ(greet("+OK ready <1896.697170952@dbc.mtview.ca.us>\r\n").events.back(),
            "greeting +OK [ready <1896.697170952@dbc.mtview.ca.us>] "
            "ts=<1896.697170952@dbc.mtview.ca.us>");
  EXPECT_EQ(greet("+OK Dovecot ready. <1a2.3.4b@host.example>\r\n").events.back(),
            "greeting +OK [Dovecot ready. <1a2.3.4b@host.example>] ts=<1a2.3.4b@host.example>");
}

TEST(EngineGreeting, InvalidTimestampsAreIgnored) {
  for (const char* g :
       {"+OK <no-at-sign>\r\n", "+OK <a@b> <c@d>\r\n", "+OK <a b@c>\r\n", "+OK <a\x01@b>\r\n",
        "+OK <a@b\r\n", "+OK a@b>\r\n", "+OK <>\r\n", "+OK <a@\xc3\xa9>\r\n", "+OK <a@b>>\r\n"}) {
    const auto o = greet(g);
    EXPECT_TRUE(o.events.back().ends_with("ts=")) << g << " -> " << o.events.back();
  }
  const std::string long_ts = "<" + std::string(252, 'a') + "@b>";  // 256 octets
  EXPECT_TRUE(greet("+OK " + long_ts + "\r\n").events.back().ends_with("ts="));
  const std::string max_ts = "<" + std::string(251, 'a') + "@b>";  // 255 octets
  EXPECT_TRUE(greet("+OK " + max_ts + "\r\n").events.back().ends_with("ts=" + max_ts));
}

TEST(EngineGreeting, NoTimestampAndNoText) {
  EXPECT_EQ(greet("+OK\r\n").events.back(), "greeting +OK [] ts=");
}

TEST(EngineGreeting, RefusedAndGarbage) {
  EXPECT_EQ(greet("-ERR [SYS/TEMP] too busy\r\n").events.back(),
            "greeting -ERR {SYS/TEMP} [too busy] ts=");
  EXPECT_EQ(greet("SSH-2.0-OpenSSH_9.2\r\n").events.back(),
            "failed 207: greeting is neither +OK nor -ERR: 'SSH-2.0-OpenSSH_9.2'");
  EXPECT_EQ(greet(std::string(600, 'g')).events.back(),
            "failed 201: response line (greeting) longer than 512 octets");
}

TEST(EngineGreeting, RefusedGreetingClosesSession) {
  Engine e;
  e.feed("-ERR go away\r\n");
  (void)e.next_event();
  EXPECT_EQ(e.state(), State::closed);
  EXPECT_EQ(e.user("u"), make_error_code(errc::wrong_state));
}

Engine authorized() {
  Engine e;
  e.feed("+OK\r\n");
  (void)e.next_event();
  return e;
}

// Logged in with USER/PASS; what was sent is consumed.
Engine in_transaction() {
  Engine e = authorized();
  EXPECT_FALSE(e.user("u"));
  EXPECT_FALSE(e.pass("p"));
  e.consume_output(e.pending_output().size());
  e.feed("+OK\r\n+OK\r\n");
  (void)e.next_event();
  (void)e.next_event();
  EXPECT_EQ(e.state(), State::transaction);
  return e;
}

TEST(EngineCommands, LineBreakingOctetsRefused) {
  Engine e = authorized();
  EXPECT_EQ(e.user("a\r\nDELE 1"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.user("a\nb"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.user("a\rb"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.user(std::string_view("a\0b", 3)), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.user(""), make_error_code(errc::invalid_argument));
  ASSERT_FALSE(e.user("u"));
  EXPECT_EQ(e.pass("x\r\n"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.pass(std::string_view("\0", 1)), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.pass(""), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.pending_output(), "USER u\r\n");
}

TEST(EngineCommands, ApopArguments) {
  Engine e = authorized();
  EXPECT_EQ(e.apop("a b", "c4c9334bac560ecc979e58001b3e22fb"),
            make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.apop("a", "C4C9334BAC560ECC979E58001B3E22FB"),
            make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.apop("a", "c4c9"), make_error_code(errc::invalid_argument));
  EXPECT_FALSE(e.apop("a", "c4c9334bac560ecc979e58001b3e22fb"));
}

TEST(EngineCommands, CommandLengthLimit) {
  Engine e = authorized();
  // "USER " + name + CRLF = 255 octets is the most allowed.
  EXPECT_FALSE(e.user(std::string(248, 'n')));
  Engine f = authorized();
  EXPECT_EQ(f.user(std::string(249, 'n')), make_error_code(errc::command_too_long));
  EXPECT_TRUE(f.pending_output().empty());
}

TEST(EngineCommands, MessageNumberZeroRefused) {
  Engine e = in_transaction();
  EXPECT_EQ(e.retr(0), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.dele(0), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.list(0), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.uidl(0), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.top(0, 1), make_error_code(errc::invalid_argument));
  EXPECT_FALSE(e.top(1, 0));
  EXPECT_FALSE(e.retr(18446744073709551615ULL));
  EXPECT_EQ(e.pending_output(), "TOP 1 0\r\nRETR 18446744073709551615\r\n");
}

TEST(EngineCommands, Utf8OnlyInAuthorization) {
  Engine e = authorized();
  EXPECT_FALSE(e.utf8());
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.pass("p"));
  EXPECT_EQ(e.utf8(), make_error_code(errc::wrong_state));
  EXPECT_EQ(e.pending_output(), "UTF8\r\nUSER u\r\nPASS p\r\n");
}

TEST(EngineCommands, OutputConsumedInPieces) {
  Engine e = authorized();
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.capa());
  e.consume_output(3);
  EXPECT_EQ(e.pending_output(), "R u\r\nCAPA\r\n");
  e.consume_output(100);
  EXPECT_TRUE(e.pending_output().empty());
  EXPECT_EQ(e.outstanding(), 2U);
}

}  // namespace
}  // namespace pop3kit::test
