// Whole sessions through the engine, each at every input split.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace pop3kit::test {
namespace {

using namespace pop3kit::proto;
using Events = std::vector<std::string>;

// RFC 1939 §10, with USER/PASS (§7) in place of APOP: STAT, RETR, DELE.
TEST(EngineSession, Rfc1939UserPassStatRetrDele) {
  const std::string msg1 = crlf({"From: a@example.org", "", "first message", ".. stuffed"});
  Transcript t;
  t.server = crlf({"+OK POP3 server ready", "+OK mrose is a real hoser",
                   "+OK mrose's maildrop has 2 messages (320 octets)"});
  t.server_after_login = crlf({"+OK 2 320", "+OK 120 octets"}) + msg1 +
                         crlf({".", "+OK message 1 deleted", "+OK dewey POP3 server signing off"});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("mrose"));
    ASSERT_FALSE(e.pass("secret pass"));
  };
  t.after_login = [](Engine& e) {
    ASSERT_FALSE(e.stat());
    ASSERT_FALSE(e.retr(1));
    ASSERT_FALSE(e.dele(1));
    ASSERT_FALSE(e.quit());
  };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent, "USER mrose\r\nPASS secret pass\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n");
  const Events expected = {
      "greeting +OK [POP3 server ready] ts=",
      "USER +OK [mrose is a real hoser]",
      "PASS +OK [mrose's maildrop has 2 messages (320 octets)]",
      "STAT +OK [2 320]",
      "stat 2 320",
      "RETR +OK [120 octets]",
      "body:From: a@example.org\r\n\r\nfirst message\r\n. stuffed\r\n",
      "end RETR",
      "DELE +OK [message 1 deleted]",
      "QUIT +OK [dewey POP3 server signing off]",
  };
  EXPECT_EQ(o.events, expected);
}

// RFC 1939 §10 verbatim: APOP, STAT, LIST, RETR and DELE of both messages.
TEST(EngineSession, Rfc1939ApopList) {
  Transcript t;
  t.server = crlf({"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
                   "+OK mrose's maildrop has 2 messages (320 octets)"});
  t.server_after_login =
      crlf({"+OK 2 320", "+OK 2 messages (320 octets)", "1 120", "2 200", ".", "+OK 120 octets",
            "message one", ".", "+OK message 1 deleted", "+OK 200 octets", "message two", ".",
            "+OK message 2 deleted", "+OK dewey POP3 server signing off (maildrop empty)"});
  t.commands = [](Engine& e) { ASSERT_FALSE(e.apop("mrose", "c4c9334bac560ecc979e58001b3e22fb")); };
  t.after_login = [](Engine& e) {
    ASSERT_FALSE(e.stat());
    ASSERT_FALSE(e.list());
    ASSERT_FALSE(e.retr(1));
    ASSERT_FALSE(e.dele(1));
    ASSERT_FALSE(e.retr(2));
    ASSERT_FALSE(e.dele(2));
    ASSERT_FALSE(e.quit());
  };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent,
            "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\nRETR 1\r\n"
            "DELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n");
  const Events expected = {
      "greeting +OK [POP3 server ready <1896.697170952@dbc.mtview.ca.us>] "
      "ts=<1896.697170952@dbc.mtview.ca.us>",
      "APOP +OK [mrose's maildrop has 2 messages (320 octets)]",
      "STAT +OK [2 320]",
      "stat 2 320",
      "LIST +OK [2 messages (320 octets)]",
      "list 1 120",
      "list 2 200",
      "end LIST",
      "RETR +OK [120 octets]",
      "body:message one\r\n",
      "end RETR",
      "DELE +OK [message 1 deleted]",
      "RETR +OK [200 octets]",
      "body:message two\r\n",
      "end RETR",
      "DELE +OK [message 2 deleted]",
      "QUIT +OK [dewey POP3 server signing off (maildrop empty)]",
  };
  EXPECT_EQ(o.events, expected);
}

Transcript retr_session(std::string body_and_end) {
  Transcript t;
  t.server = crlf({"+OK hi", "+OK", "+OK"});
  t.server_after_login = "+OK\r\n" + std::move(body_and_end);
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) { ASSERT_FALSE(e.retr(1)); };
  return t;
}

std::string body_of(const Outcome& o) {
  for (const auto& e : o.events) {
    if (e.starts_with("body:")) return e.substr(5);
  }
  return {};
}

bool ended(const Outcome& o) {
  return !o.events.empty() && o.events.back() == "end RETR";
}

TEST(EngineBody, DotStuffingRemoved) {
  const Outcome o = run_all_splits(retr_session("..x\r\n..\r\n...\r\nx.\r\n .\r\n.\r\n"));
  EXPECT_EQ(body_of(o), ".x\r\n.\r\n..\r\nx.\r\n .\r\n");
  EXPECT_TRUE(ended(o));
}

TEST(EngineBody, EmptyMessage) {
  const Outcome o = run_all_splits(retr_session(".\r\n"));
  EXPECT_EQ(o.events.back(), "end RETR");
  EXPECT_EQ(o.events[o.events.size() - 2], "RETR +OK []");
}

TEST(EngineBody, MessageCrlfKeptAndBlankLines) {
  const Outcome o = run_all_splits(retr_session("a\r\n\r\n\r\nb\r\n.\r\n"));
  EXPECT_EQ(body_of(o), "a\r\n\r\n\r\nb\r\n");
}

// ".\r\n" after a bare LF is message content, not the end: otherwise a message
// could end the response early and inject responses of its own.
TEST(EngineBody, BareLfDoesNotStartALine) {
  const Outcome o = run_all_splits(retr_session("a\n.\r\n+OK fake\r\nb\r\n.\r\n"));
  EXPECT_EQ(body_of(o), "a\n.\r\n+OK fake\r\nb\r\n");
  EXPECT_TRUE(ended(o));
}

TEST(EngineBody, DotCrWithoutLfIsStuffedContent) {
  const Outcome o = run_all_splits(retr_session(".\rx\r\n.\r\n"));
  EXPECT_EQ(body_of(o), "\rx\r\n");
}

TEST(EngineBody, MessageWithoutFinalCrlfIsNotTerminated) {
  // "abc.\r\n" has no line start before the dot: not an end marker.
  Transcript t = retr_session("abc.\r\n");
  t.eof = true;
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(body_of(o), "abc.\r\n");
  EXPECT_TRUE(o.events.back().starts_with("failed 403: connection closed in the middle"))
      << o.events.back();
}

TEST(EngineBody, LongSingleLineStreamsInBoundedChunks) {
  const std::string line(300'000, 'x');
  Transcript t = retr_session(line + "\r\n.\r\n");
  t.limits.receive_buffer = 4096;
  // Every chunk size would be slow on 300 KB: a few sizes, both input paths.
  for (std::size_t chunk : {0UL, 1000UL, 4096UL, 7777UL}) {
    for (bool zc : {false, true}) {
      const Outcome o = run(t, chunk, zc);
      EXPECT_EQ(body_of(o), line + "\r\n");
      EXPECT_TRUE(ended(o));
    }
  }
  // The chunks themselves stay within the buffer.
  Engine e(t.limits);
  std::size_t largest = 0;
  for (std::string_view rest :
       {std::string_view(t.server), std::string_view(t.server_after_login)}) {
    while (!rest.empty()) {
      rest.remove_prefix(e.feed(rest));
      for (;;) {
        Event ev = e.next_event();
        if (std::holds_alternative<NeedData>(ev)) break;
        ASSERT_FALSE(std::holds_alternative<Failed>(ev)) << render(ev);
        if (std::holds_alternative<Greeting>(ev)) t.commands(e);
        if (const auto* st = std::get_if<Status>(&ev); st && st->command == Command::pass) {
          t.after_login(e);
        }
        if (auto* b = std::get_if<BodyChunk>(&ev)) largest = std::max(largest, b->data.size());
      }
    }
  }
  EXPECT_LE(largest, 4096U);
  EXPECT_GT(largest, 0U);
}

TEST(EngineBody, TopIsMultiLine) {
  Transcript t;
  t.server = crlf({"+OK", "+OK", "+OK"});
  t.server_after_login = crlf({"+OK top of message follows", "Subject: x", "", "."});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) { ASSERT_FALSE(e.top(3, 0)); };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent, "USER u\r\nPASS p\r\nTOP 3 0\r\n");
  EXPECT_EQ(body_of(o), "Subject: x\r\n\r\n");
  EXPECT_EQ(o.events.back(), "end TOP");
}

TEST(EngineSession, SeveralResponsesInOneRead) {
  Transcript t;
  t.server = crlf({"+OK", "+OK", "+OK"});
  t.server_after_login = crlf({"+OK 1 10", "+OK", "+OK 1 abc", "+OK", "+OK"});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) {
    ASSERT_FALSE(e.list(1));
    ASSERT_FALSE(e.noop());
    ASSERT_FALSE(e.uidl(1));
    ASSERT_FALSE(e.rset());
    ASSERT_FALSE(e.quit());
  };
  const Outcome whole = run(t, 0);
  const Events expected = {
      "greeting +OK [] ts=", "USER +OK []",      "PASS +OK []", "LIST +OK [1 10]", "list 1 10",
      "NOOP +OK []",         "UIDL +OK [1 abc]", "uidl 1 abc",  "RSET +OK []",     "QUIT +OK []"};
  EXPECT_EQ(whole.events, expected);
  EXPECT_EQ(run_all_splits(t).events, expected);
}

TEST(EngineSession, UidlAndCapaListings) {
  Transcript t;
  t.server = crlf(
      {"+OK", "+OK", "TOP", "UIDL", "SASL PLAIN LOGIN", "IMPLEMENTATION x y", ".", "+OK", "+OK"});
  t.server_after_login =
      crlf({"+OK", "1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7", "..3", "."});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.capa());
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) { ASSERT_FALSE(e.uidl()); };
  const Outcome o = run_all_splits(t);
  // "..3" unstuffs to ".3", which is not a message number.
  const Events expected = {"greeting +OK [] ts=",
                           "CAPA +OK []",
                           "capa TOP|",
                           "capa UIDL|",
                           "capa SASL|PLAIN LOGIN",
                           "capa IMPLEMENTATION|x y",
                           "end CAPA",
                           "USER +OK []",
                           "PASS +OK []",
                           "UIDL +OK []",
                           "uidl 1 whqtswO00WBw418f9t5JxYwZ",
                           "uidl 2 QhdPYR:00WBw1Ph7x7",
                           "failed 203: UIDL response: message number '.3' is not valid"};
  EXPECT_EQ(o.events, expected);
}

TEST(EngineSession, SizesAbove32Bits) {
  Transcript t;
  t.server = crlf({"+OK", "+OK", "+OK"});
  t.server_after_login = crlf({"+OK 5000000000 18446744073709551615", "+OK",
                               "4294967297 4294967296", ".", "+OK 7 9999999999"});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("p"));
  };
  t.after_login = [](Engine& e) {
    ASSERT_FALSE(e.stat());
    ASSERT_FALSE(e.list());
    ASSERT_FALSE(e.list(7));
  };
  const Outcome o = run_all_splits(t);
  const Events expected = {"greeting +OK [] ts=",
                           "USER +OK []",
                           "PASS +OK []",
                           "STAT +OK [5000000000 18446744073709551615]",
                           "stat 5000000000 18446744073709551615",
                           "LIST +OK []",
                           "list 4294967297 4294967296",
                           "end LIST",
                           "LIST +OK [7 9999999999]",
                           "list 7 9999999999"};
  EXPECT_EQ(o.events, expected);
}

TEST(EngineSession, RejectedPassKeepsAuthorization) {
  Transcript t;
  t.server = crlf({"+OK", "+OK", "-ERR [AUTH] invalid password", "+OK bye"});
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.user("u"));
    ASSERT_FALSE(e.pass("wrong"));
  };
  Engine probe;
  const Outcome o = run_all_splits(t);
  const Events expected = {"greeting +OK [] ts=", "USER +OK []",
                           "PASS -ERR {AUTH} [invalid password]"};
  EXPECT_EQ(std::vector<std::string>(o.events.begin(), o.events.begin() + 3), expected);
  // The trailing "+OK bye" answered nothing: unexpected data.
  EXPECT_TRUE(o.events.back().starts_with("failed 206")) << o.events.back();
}

// Nothing may go out behind a command that completes the login until it is
// answered: a server may hand the connection to another process then and
// lose what was buffered (Courier). USER and PASS may go together.
TEST(EngineSession, NothingIsQueuedBehindTheLogin) {
  Engine e;
  e.feed("+OK ready <1.2@h>\r\n");
  ASSERT_TRUE(std::holds_alternative<Greeting>(e.next_event()));
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.pass("p"));
  for (auto queue : {+[](Engine& x) { return x.stat(); }, +[](Engine& x) { return x.capa(); },
                     +[](Engine& x) { return x.list(); }, +[](Engine& x) { return x.noop(); },
                     +[](Engine& x) { return x.quit(); }}) {
    EXPECT_EQ(queue(e), make_error_code(errc::wrong_state));
  }
  EXPECT_EQ(e.pending_output(), "USER u\r\nPASS p\r\n");
  e.feed("+OK\r\n-ERR [AUTH] no\r\n");
  EXPECT_TRUE(std::holds_alternative<Status>(e.next_event()));
  const Event pass = e.next_event();
  ASSERT_TRUE(std::holds_alternative<Status>(pass));
  EXPECT_FALSE(std::get<Status>(pass).ok);
  EXPECT_EQ(std::get<Status>(pass).code, ResponseCode::auth);
  EXPECT_EQ(e.state(), State::authorization);
  // After the failed login: APOP, then nothing behind it either.
  ASSERT_FALSE(e.apop("u", "c4c9334bac560ecc979e58001b3e22fb"));
  EXPECT_EQ(e.stat(), make_error_code(errc::wrong_state));
  e.feed("+OK\r\n");
  EXPECT_EQ(render(e.next_event()), "APOP +OK []");
  EXPECT_EQ(e.state(), State::transaction);
  EXPECT_FALSE(e.stat());
  EXPECT_FALSE(e.list());  // once logged in, pipelining is back
}

TEST(EngineSession, StatesThroughQuit) {
  Engine e;
  EXPECT_EQ(e.state(), State::greeting);
  EXPECT_EQ(e.noop(), make_error_code(errc::wrong_state));
  EXPECT_EQ(e.user("u"), make_error_code(errc::wrong_state));  // before the greeting
  e.feed("+OK\r\n");
  (void)e.next_event();
  EXPECT_EQ(e.state(), State::authorization);
  EXPECT_EQ(e.stat(), make_error_code(errc::wrong_state));
  EXPECT_EQ(e.pass("p"), make_error_code(errc::wrong_state));  // PASS needs USER first
  EXPECT_EQ(e.noop(), make_error_code(errc::wrong_state));
  EXPECT_TRUE(e.pending_output().empty());  // nothing refused was queued
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.pass("p"));
  e.feed("+OK\r\n+OK\r\n");
  (void)e.next_event();
  (void)e.next_event();
  EXPECT_EQ(e.state(), State::transaction);
  EXPECT_EQ(e.user("u"), make_error_code(errc::wrong_state));
  ASSERT_FALSE(e.quit());
  EXPECT_EQ(e.state(), State::update);
  EXPECT_EQ(e.noop(), make_error_code(errc::wrong_state));
  e.feed("+OK bye\r\n");
  EXPECT_EQ(render(e.next_event()), "QUIT +OK [bye]");
  EXPECT_EQ(e.state(), State::closed);
  e.receive_eof();
  EXPECT_TRUE(std::holds_alternative<NeedData>(e.next_event()));
  EXPECT_FALSE(e.failed());
}

TEST(EngineSession, QuitErrStillEndsSession) {
  Engine e;
  e.feed("+OK\r\n");
  (void)e.next_event();
  ASSERT_FALSE(e.user("u"));
  ASSERT_FALSE(e.pass("p"));
  e.feed("+OK\r\n+OK\r\n");
  for (int i = 0; i < 2; ++i)
    (void)e.next_event();
  ASSERT_FALSE(e.dele(1));
  ASSERT_FALSE(e.quit());
  e.feed("+OK\r\n-ERR some deleted messages not removed\r\n");
  (void)e.next_event();
  EXPECT_EQ(render(e.next_event()), "QUIT -ERR [some deleted messages not removed]");
  EXPECT_EQ(e.state(), State::closed);
}

TEST(EngineSession, ResponseCodes) {
  Transcript t;
  t.server =
      crlf({"+OK", "-ERR [IN-USE] locked", "-ERR [LOGIN-DELAY] wait", "-ERR [SYS/TEMP] later",
            "-ERR [SYS/PERM] never", "-ERR [AUTH] bad", "-ERR [UTF8] utf8",
            "-ERR [SYS/TEMP/DISK] sub-level ignored", "-ERR [IN-USE/X]", "-ERR [XYZ] unknown",
            "-ERR [unclosed text", "-ERR", "-ERR [sys/temp] lower case"});
  t.commands = [](Engine& e) {
    for (int i = 0; i < 12; ++i)
      ASSERT_FALSE(e.user("u" + std::to_string(i)));
  };
  const Outcome o = run_all_splits(t);
  const Events expected = {"greeting +OK [] ts=",
                           "USER -ERR {IN-USE} [locked]",
                           "USER -ERR {LOGIN-DELAY} [wait]",
                           "USER -ERR {SYS/TEMP} [later]",
                           "USER -ERR {SYS/PERM} [never]",
                           "USER -ERR {AUTH} [bad]",
                           "USER -ERR {UTF8} [utf8]",
                           "USER -ERR {SYS/TEMP} [sub-level ignored]",
                           "USER -ERR {IN-USE} []",
                           "USER -ERR {other} [unknown]",
                           "USER -ERR [[unclosed text]",
                           "USER -ERR []",
                           "USER -ERR {SYS/TEMP} [lower case]"};
  EXPECT_EQ(o.events, expected);
}

TEST(EngineSession, EofWhileWaiting) {
  Transcript t;
  t.server = "+OK\r\n+OK partial";
  t.commands = [](Engine& e) { ASSERT_FALSE(e.user("u")); };
  t.eof = true;
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.events.back(),
            "failed 403: connection closed while waiting for the response to USER");
}

TEST(EngineSession, EofBeforeGreeting) {
  Transcript t;
  t.eof = true;
  EXPECT_EQ(run(t, 0).events, Events{"failed 403: connection closed before the greeting"});
}

TEST(EngineSession, TraceRedactsSecrets) {
  Engine e;
  std::vector<std::string> lines;
  e.set_trace([&](TraceDirection d, std::string_view l) {
    lines.push_back((d == TraceDirection::sent ? "C: " : "S: ") + std::string(l));
  });
  e.feed("+OK <1.2@host>\r\n");
  (void)e.next_event();
  ASSERT_FALSE(e.user("bob"));
  ASSERT_FALSE(e.pass("hunter2 with spaces"));
  const Events expected = {"S: +OK <1.2@host>", "C: USER bob", "C: PASS <redacted>"};
  EXPECT_EQ(lines, expected);
  EXPECT_EQ(e.pending_output(), "USER bob\r\nPASS hunter2 with spaces\r\n");

  Engine a;
  lines.clear();
  a.set_trace([&](TraceDirection, std::string_view l) { lines.emplace_back(l); });
  a.feed("+OK <1.2@host>\r\n");
  (void)a.next_event();
  ASSERT_FALSE(a.apop("bob", "0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(lines.back(), "APOP bob <redacted>");
}

}  // namespace
}  // namespace pop3kit::test
