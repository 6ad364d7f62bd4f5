// STLS and AUTH in the engine: injection after STLS, SASL challenges.
#include <gtest/gtest.h>

#include "transcript.hpp"

namespace pop3kit::test {
namespace {

using namespace pop3kit::proto;
using Events = std::vector<std::string>;

Engine authorized() {
  Engine e;
  e.feed("+OK\r\n");
  (void)e.next_event();
  return e;
}

TEST(EngineStls, PlainOkThenNothing) {
  Transcript t;
  t.server = "+OK\r\n+OK Begin TLS negotiation\r\n";
  t.commands = [](Engine& e) { ASSERT_FALSE(e.stls()); };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent, "STLS\r\n");
  EXPECT_EQ(o.events.back(), "STLS +OK [Begin TLS negotiation]");
}

// curl CVE-2021-22947: a server (or a man in the middle) puts responses
// right after the STLS +OK, hoping they are read as if protected by TLS.
TEST(EngineStls, BytesAfterOkAreInjection) {
  const std::string server = "+OK\r\n+OK Begin TLS\r\n+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n";
  for (std::size_t cut = 0; cut <= server.size(); ++cut) {
    Engine e;
    bool greeted = false;
    std::string last;
    for (std::string_view piece :
         {std::string_view(server).substr(0, cut), std::string_view(server).substr(cut)}) {
      e.feed(piece);
      for (Event ev = e.next_event(); !std::holds_alternative<NeedData>(ev); ev = e.next_event()) {
        last = render(ev);
        if (!greeted && std::holds_alternative<Greeting>(ev)) {
          greeted = true;
          ASSERT_FALSE(e.stls());
        }
        if (std::holds_alternative<Failed>(ev)) break;
      }
    }
    // Whichever way the bytes fell, the engine refuses them: in the same read
    // as the +OK, or as data nobody asked for.
    EXPECT_TRUE(last.starts_with("failed 206")) << "cut " << cut << ": " << last;
    EXPECT_TRUE(e.failed());
  }
  Engine e = authorized();
  ASSERT_FALSE(e.stls());
  e.feed("+OK Begin TLS\r\n+OK\r\n");
  EXPECT_EQ(render(e.next_event()),
            "failed 206: data followed the STLS +OK before TLS started (response injection)");
}

TEST(EngineStls, Rules) {
  Engine e = authorized();
  ASSERT_FALSE(e.stls());
  EXPECT_EQ(e.capa(), make_error_code(errc::wrong_state));  // nothing after STLS
  e.feed("-ERR not now\r\n");
  EXPECT_EQ(render(e.next_event()), "STLS -ERR [not now]");
  ASSERT_FALSE(e.capa());
  EXPECT_EQ(e.stls(), make_error_code(errc::wrong_state));  // not while others are outstanding

  Engine tls = authorized();
  tls.set_tls_active();
  EXPECT_EQ(tls.stls(), make_error_code(errc::wrong_state));  // once TLS is on, never again

  Engine u = authorized();
  ASSERT_FALSE(u.utf8());
  u.feed("+OK\r\n");
  (void)u.next_event();
  EXPECT_EQ(u.stls(), make_error_code(errc::wrong_state));  // never after UTF8 (RFC 6856)

  Engine t = authorized();
  ASSERT_FALSE(t.user("u"));
  ASSERT_FALSE(t.pass("p"));
  t.feed("+OK\r\n+OK\r\n");
  (void)t.next_event();
  (void)t.next_event();
  EXPECT_EQ(t.stls(), make_error_code(errc::wrong_state));  // AUTHORIZATION only
}

TEST(EngineAuth, InitialResponseThenOk) {
  Transcript t;
  t.server = "+OK\r\n+OK logged in\r\n+OK 0 0\r\n";
  t.commands = [](Engine& e) {
    ASSERT_FALSE(e.auth("PLAIN", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
    EXPECT_EQ(e.stat(), make_error_code(errc::wrong_state));  // nothing after AUTH
  };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
  const Events expected = {"greeting +OK [] ts=", "AUTH +OK [logged in]",
                           "failed 206: server sent data while no response was expected"};
  EXPECT_EQ(o.events, expected);
}

TEST(EngineAuth, ChallengesAnsweredInTurn) {
  Engine e = authorized();
  std::vector<std::string> trace;
  e.set_trace([&](TraceDirection d, std::string_view l) {
    trace.push_back((d == TraceDirection::sent ? "C: " : "S: ") + std::string(l));
  });
  ASSERT_FALSE(e.auth("LOGIN"));
  EXPECT_EQ(e.sasl_response("eA=="), make_error_code(errc::wrong_state));  // no challenge yet
  e.feed("+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(render(e.next_event()), "challenge [VXNlcm5hbWU6]");
  ASSERT_FALSE(e.sasl_response("dGlt"));
  e.feed("+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(render(e.next_event()), "challenge [UGFzc3dvcmQ6]");
  ASSERT_FALSE(e.sasl_response("c2VjcmV0"));
  e.feed("+OK\r\n");
  EXPECT_EQ(render(e.next_event()), "AUTH +OK []");
  EXPECT_EQ(e.state(), State::transaction);
  EXPECT_EQ(e.pending_output(), "AUTH LOGIN\r\ndGlt\r\nc2VjcmV0\r\n");
  const Events expected = {
      "C: AUTH LOGIN",     "S: + VXNlcm5hbWU6",           "C: <redacted SASL response>",
      "S: + UGFzc3dvcmQ6", "C: <redacted SASL response>", "S: +OK"};
  EXPECT_EQ(trace, expected);
}

TEST(EngineAuth, EmptyChallengesAndEmptyInitialResponse) {
  Transcript t;
  t.server = "+OK\r\n+ \r\n+\r\n-ERR [AUTH] no\r\n";
  t.commands = [](Engine& e) { ASSERT_FALSE(e.auth("EXTERNAL", "")); };
  const Outcome o = run_all_splits(t);
  EXPECT_EQ(o.sent, "AUTH EXTERNAL =\r\n");
  EXPECT_EQ(o.events[1], "challenge []");
  // Without an answer a second challenge is a protocol error.
  EXPECT_EQ(o.events[2], "failed 203: AUTH: a second challenge came before the first was answered");
}

TEST(EngineAuth, CancelAndRefusal) {
  Engine e = authorized();
  ASSERT_FALSE(e.auth("SCRAM-SHA-256", "bixiPXVzZXI="));
  e.feed("+ !!!not base64\r\n");
  EXPECT_EQ(render(e.next_event()), "challenge [!!!not base64]");
  ASSERT_FALSE(e.sasl_cancel());
  e.feed("-ERR [AUTH] cancelled\r\n");
  EXPECT_EQ(render(e.next_event()), "AUTH -ERR {AUTH} [cancelled]");
  EXPECT_EQ(e.state(), State::authorization);
  EXPECT_FALSE(e.user("u"));  // other logins still possible
  EXPECT_EQ(e.pending_output(), "AUTH SCRAM-SHA-256 bixiPXVzZXI=\r\n*\r\nUSER u\r\n");
}

TEST(EngineAuth, ArgumentChecks) {
  Engine e = authorized();
  EXPECT_EQ(e.auth("PLAIN X"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.auth(""), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.auth("PLAIN", "a\r\nSTAT"), make_error_code(errc::invalid_argument));
  EXPECT_EQ(e.auth("XOAUTH2", std::string(300, 'A')), make_error_code(errc::command_too_long));
  EXPECT_TRUE(e.pending_output().empty());
}

}  // namespace
}  // namespace pop3kit::test
