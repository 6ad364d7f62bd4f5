// The pop3kit binary against a scripted server: the answers a real Dovecot
// will not give on demand (UIDL refused, QUIT -ERR, [IN-USE], garbage,
// silence, control characters) and what the command does with them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pop3kit/sasl.hpp"
#include "run_pop3kit.hpp"
#include "scripted_server.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

const Step kGreeting{"", "+OK POP3 ready\r\n"};
// pop3kit asks CAPA before logging in; these servers have none (so no
// pipelining and no second CAPA after login).
const Step kCapa{"CAPA", "-ERR not supported\r\n"};
const Step kUser{"USER alice", "+OK\r\n"};
const Step kPass{"PASS secret", "+OK logged in\r\n"};

// Greeting and USER/PASS, then `rest`.
std::vector<Step> logged_in(std::vector<Step> rest) {
  std::vector<Step> s{kGreeting, kCapa, kUser, kPass};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

std::string url(const ScriptedServer& s, const std::string& user = "alice") {
  return "pop://" + user + "@127.0.0.1:" + std::to_string(s.port());
}

RunResult run(const std::vector<std::string>& args) {
  RunOptions o;
  o.env["POP3KIT_PASSWORD"] = "secret";
  return run_pop3kit(args, o);
}

void expect_one_error_line(const RunResult& r) {
  EXPECT_EQ(r.err.rfind("pop3kit: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

bool sent(const std::vector<std::string>& lines, const std::string& prefix) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n') || u == 0x7F;
  });
}

TEST(Scripted, ListWithoutUidl) {
  ScriptedServer s(logged_in({
      {"LIST", "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"},
      {"UIDL", "-ERR command not supported\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run({"list", url(s), "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 120\n2 200\n");
  EXPECT_EQ(s.error(), "");
}

TEST(Scripted, RetrIsBinarySafe) {
  const std::string body = std::string("Subject: x\r\n\r\nNUL:\0:end\r\n", 26) +
                           "bare\rCR \xFF\xFE\r\n.starts with a dot\r\n..\r\n";
  // On the wire every line starting with "." gets one more.
  const std::string wire = std::string("Subject: x\r\n\r\nNUL:\0:end\r\n", 26) +
                           "bare\rCR \xFF\xFE\r\n..starts with a dot\r\n...\r\n.\r\n";
  ScriptedServer s(logged_in({{"RETR 1", "+OK\r\n" + wire}, {"QUIT", "+OK\r\n"}}));
  const RunResult r = run({"retr", url(s), "1", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, body);
  EXPECT_EQ(s.error(), "");
}

TEST(Scripted, QuitErrorMeansDeletionsNotConfirmed) {
  ScriptedServer s(logged_in({
      {"DELE 1", "+OK\r\n"},
      {"DELE 2", "+OK\r\n"},
      {"QUIT", "-ERR some deleted messages not removed\r\n"},
  }));
  const RunResult r = run({"dele", url(s), "1", "2", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("QUIT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not removed"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// An extra +OK after DELE's answer must not be read as QUIT's: QUIT is not
// even sent, and nothing is reported deleted.
TEST(Scripted, ExtraOkAfterDeleIsAProtocolError) {
  ScriptedServer s(logged_in({
      {"DELE 1", "+OK\r\n+OK\r\n"},
      {"QUIT", "-ERR some deleted messages not removed\r\n"},
  }));
  const RunResult r = run({"dele", url(s), "1", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 76) << r.err;
  expect_one_error_line(r);
  EXPECT_EQ(r.err.find("deleted 1"), std::string::npos) << r.err;
  EXPECT_FALSE(sent(s.received(), "QUIT"));
}

// A listing that names message 1 twice would have it retrieved twice.
TEST(Scripted, RepeatedMessageNumberInListIsAProtocolError) {
  ScriptedServer s(logged_in({
      {"LIST", "+OK 2 messages\r\n1 120\r\n1 120\r\n.\r\n"},
      {"UIDL", "+OK\r\n1 a\r\n1 a\r\n.\r\n"},
      {"QUIT", "+OK bye\r\n"},
  }));
  const RunResult r = run({"list", url(s), "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 76) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("listed twice"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Scripted, ConnectionLostAtQuitIsTemporary) {
  ScriptedServer s(logged_in({{"DELE 1", "+OK\r\n"}, {"QUIT", "", true}}));
  const RunResult r = run({"dele", url(s), "1", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
  EXPECT_EQ(r.out, "");
}

TEST(Scripted, RefusedDeleClosesWithoutQuit) {
  ScriptedServer s(logged_in({
      {"DELE 1", "+OK\r\n"},
      {"DELE 2", "-ERR no such message\r\n"},
  }));
  const RunResult r =
      run({"dele", url(s), "1", "2", "3", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("no such message"), std::string::npos) << r.err;
  const auto lines = s.received();
  EXPECT_FALSE(sent(lines, "QUIT"));
  EXPECT_FALSE(sent(lines, "DELE 3"));
  EXPECT_EQ(s.error(), "");
}

TEST(Scripted, DeleDuplicatesAreSentOnce) {
  ScriptedServer s(logged_in({{"DELE 2", "+OK\r\n"}, {"DELE 1", "+OK\r\n"}, {"QUIT", "+OK\r\n"}}));
  const RunResult r =
      run({"dele", url(s), "2", "1", "2", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // a report, not data: on stderr
  EXPECT_EQ(r.err, "deleted 2 message(s)\n");
  EXPECT_EQ(s.error(), "");
}

TEST(Scripted, TemporaryLoginRefusalsAre75) {
  for (const char* answer : {"-ERR [IN-USE] mailbox locked\r\n", "-ERR [LOGIN-DELAY] wait\r\n",
                             "-ERR [SYS/TEMP] try later\r\n"}) {
    ScriptedServer s({kGreeting, kCapa, kUser, {"PASS secret", answer}});
    const RunResult r = run({"stat", url(s), "--plaintext", "--allow-plaintext-password"});
    EXPECT_EQ(r.exit_code, 75) << answer << r.err;
    expect_one_error_line(r);
  }
}

TEST(Scripted, RefusedUserIs77) {
  ScriptedServer s({kGreeting, kCapa, {"USER alice", "-ERR [AUTH] no such user\r\n"}});
  const RunResult r = run({"stat", url(s), "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, GreetingRefusedIs69) {
  ScriptedServer s(std::vector<Step>{{"", "-ERR too many connections\r\n", true}});
  const RunResult r = run({"capa", "pop://127.0.0.1:" + std::to_string(s.port()), "--plaintext"});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, ProtocolViolationIs76) {
  ScriptedServer s(logged_in({{"STAT", "+OK banana split\r\n"}}));
  const RunResult r = run({"stat", url(s), "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(r.exit_code, 76) << r.err;
  expect_one_error_line(r);
  ScriptedServer g(std::vector<Step>{{"", "HELLO there\r\n"}});
  const RunResult rg = run({"capa", "pop://127.0.0.1:" + std::to_string(g.port()), "--plaintext"});
  EXPECT_EQ(rg.exit_code, 76) << rg.err;
}

TEST(Scripted, SilentServerTimesOut) {
  ScriptedServer s(logged_in({{"STAT", ""}}));
  const RunResult r =
      run({"stat", url(s), "--plaintext", "--allow-plaintext-password", "--timeout", "0.3"});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, ApopWithoutTimestampDoesNotFallBack) {
  ScriptedServer s(std::vector<Step>{kGreeting, kCapa});
  const RunResult r = run({"stat", url(s, "alice;auth=+APOP"), "--plaintext"});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("APOP"), std::string::npos) << r.err;
  const auto lines = s.received();
  EXPECT_FALSE(sent(lines, "USER"));
  EXPECT_FALSE(sent(lines, "PASS"));
}

TEST(Scripted, ServerTextIsSanitised) {
  ScriptedServer s({{"", "+OK \x1b[2J hello\r\n"},
                    {"CAPA", "+OK\r\nTOP\r\nX-EVIL \x1b]0;title\x07 here\r\n.\r\n"},
                    {"QUIT", "+OK\r\n"}});
  const RunResult r =
      run({"-v", "capa", "pop://127.0.0.1:" + std::to_string(s.port()), "--plaintext"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has_control(r.out)) << r.out;
  EXPECT_FALSE(has_control(r.err)) << r.err;
  EXPECT_NE(r.out.find("TOP\n"), std::string::npos) << r.out;
  // The escapes are shown as text ("\\x1b", case up to sanitize()).
  EXPECT_NE(r.out.find("X-EVIL \\x1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("]0;title\\x07 here\n"), std::string::npos) << r.out;

  ScriptedServer e(logged_in({{"RETR 1", "-ERR \x1b[31mno\x1b[0m such message\r\n"}}));
  const RunResult re = run({"retr", url(e), "1", "--plaintext", "--allow-plaintext-password"});
  EXPECT_EQ(re.exit_code, 69) << re.err;
  expect_one_error_line(re);
  EXPECT_FALSE(has_control(re.err)) << re.err;
}

// --- Security policy and login methods through the command ---------------

// No password, token or SASL response crossed the connection.
void expect_nothing_secret(const std::vector<std::string>& lines) {
  for (const std::string& l : lines) {
    EXPECT_FALSE(l.starts_with("USER") || l.starts_with("PASS") || l.starts_with("AUTH") ||
                 l.starts_with("APOP"))
        << l;
  }
}

TEST(ScriptedSecurity, DefaultRefusesServerWithoutStls) {
  ScriptedServer s({kGreeting, {"CAPA", "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"}});
  const RunResult r = run({"stat", url(s)});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("does not offer STLS"), std::string::npos) << r.err;
  expect_nothing_secret(s.received());
}

TEST(ScriptedSecurity, StlsRefusedIsAHardFailureWithoutRetry) {
  ScriptedServer s({kGreeting,
                    {"CAPA", "+OK\r\nSTLS\r\nUSER\r\n.\r\n"},
                    {"STLS", "-ERR [SYS/TEMP] no TLS today\r\n"}});
  const RunResult r = run({"stat", url(s)});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_EQ(s.received(), (std::vector<std::string>{"CAPA", "STLS"}));
}

TEST(ScriptedSecurity, PlaintextAloneNeverSendsAReusablePassword) {
  // The server offers only methods that send the password itself.
  ScriptedServer s({kGreeting, {"CAPA", "+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"}});
  const RunResult r = run({"stat", url(s), "--plaintext"});
  EXPECT_EQ(r.exit_code, 78) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("--allow-plaintext-password"), std::string::npos) << r.err;
  expect_nothing_secret(s.received());
}

TEST(ScriptedSecurity, TokenCommandChoosesOauthbearerAndTraceRedactsIt) {
  const std::string token = "ya29.a0-test-token-value";
  ScriptedServer s({kGreeting,
                    {"CAPA", "+OK\r\nUSER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n"},
                    {"AUTH OAUTHBEARER ", "+OK welcome\r\n"},
                    {"CAPA", "+OK\r\nUSER\r\n.\r\n"},
                    {"STAT", "+OK 0 0\r\n"},
                    {"QUIT", "+OK\r\n"}});
  const RunResult r =
      run_pop3kit({"-v", "stat", url(s), "--plaintext", "--allow-plaintext-password",
                   "--token-command", "printf '%s\\n' " + token},
                  {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 0\n");
  const auto lines = s.received();
  ASSERT_GE(lines.size(), 2u);
  const std::string& auth = lines[1];
  ASSERT_TRUE(auth.starts_with("AUTH OAUTHBEARER ")) << auth;
  const std::string b64 = auth.substr(std::string("AUTH OAUTHBEARER ").size());
  const auto decoded = pop3kit::auth::base64_decode(b64);
  ASSERT_TRUE(decoded);
  EXPECT_NE(decoded->find("auth=Bearer " + token), std::string::npos);
  // The trace shows the command, never the token or its base64 form.
  EXPECT_NE(r.err.find("C: AUTH OAUTHBEARER"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(b64), std::string::npos) << r.err;
}

TEST(ScriptedSecurity, Xoauth2ErrorChallengeGetsEmptyAnswerAndNamesTheMethod) {
  const std::string token = "env-token-value-123";
  // {"status":"401"} as the error challenge; the client answers with an
  // empty line and the server then refuses.
  ScriptedServer s({kGreeting,
                    {"CAPA", "+OK\r\nSASL XOAUTH2\r\n.\r\n"},
                    {"AUTH XOAUTH2 ", "+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"},
                    {"", "-ERR [AUTH] invalid token\r\n"}});
  RunOptions o;
  o.env["POP3KIT_TOKEN"] = token;
  const RunResult r = run_pop3kit(
      {"-v", "stat", url(s, "alice;auth=XOAUTH2"), "--plaintext", "--allow-plaintext-password"}, o);
  EXPECT_EQ(r.exit_code, 77) << r.err;
  EXPECT_NE(r.err.find("pop3kit: login with XOAUTH2 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the server refused the credentials"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
  const auto lines = s.received();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[2], "");  // the empty answer to the error challenge
}

TEST(ScriptedSecurity, LoginFailuresAreClassified) {
  struct Case {
    const char* reply;
    int exit_code;
    const char* words;
  };
  for (const Case& c : {Case{"-ERR [AUTH] bad password\r\n", 77, "refused the credentials"},
                        Case{"-ERR [SYS/TEMP] backend down\r\n", 75, "temporary"},
                        Case{"-ERR [IN-USE] mailbox locked\r\n", 75, "temporary"},
                        Case{"-ERR [LOGIN-DELAY] wait\r\n", 75, "temporary"}}) {
    ScriptedServer s({kGreeting, kCapa, kUser, {"PASS secret", c.reply}});
    const RunResult r =
        run({"stat", url(s, "alice;auth=USER"), "--plaintext", "--allow-plaintext-password"});
    EXPECT_EQ(r.exit_code, c.exit_code) << c.reply << r.err;
    expect_one_error_line(r);
    EXPECT_NE(r.err.find("login with USER/PASS failed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.words), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("secret"), std::string::npos) << r.err;
  }
}

// --- OAuth failures: the server's JSON error challenge (RFC 7628 §3.2.2) --

// Runs `stat` with a token against a server that answers AUTH with
// `challenge` (raw; sent base64) and then -ERR.
RunResult oauth_failure(const std::string& mechanism, const std::string& challenge,
                        std::vector<std::string>* lines = nullptr) {
  ScriptedServer s(
      {kGreeting,
       {"CAPA", "+OK\r\nSASL " + mechanism + "\r\n.\r\n"},
       {"AUTH " + mechanism + " ", "+ " + pop3kit::auth::base64_encode(challenge) + "\r\n"},
       {"", "-ERR [AUTH] invalid token\r\n"}});
  RunOptions o;
  o.env["POP3KIT_TOKEN"] = "token-value-456";
  const RunResult r = run_pop3kit(
      {"stat", url(s, "alice;auth=" + mechanism), "--plaintext", "--allow-plaintext-password"}, o);
  if (lines != nullptr) *lines = s.received();
  return r;
}

TEST(ScriptedOauth, ErrorChallengeStatusAndScopeAreShown) {
  std::vector<std::string> lines;
  const RunResult r = oauth_failure(
      "XOAUTH2", R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})",
      &lines);
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("login with XOAUTH2 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the server's OAuth error: status 401 (the token is invalid or has "
                       "expired: get a new one), scope https://mail.google.com/"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("token-value-456"), std::string::npos) << r.err;
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[2], "");  // XOAUTH2 answers the error with an empty line
}

TEST(ScriptedOauth, OauthbearerErrorIsSanitised) {
  // JSON escapes decode to control characters: they must not reach the terminal.
  std::vector<std::string> lines;
  const RunResult r = oauth_failure(
      "OAUTHBEARER", R"({"status":"insufficient_scope","scope":"mail \u001b[2J\u0007read","x":1})",
      &lines);
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
  EXPECT_FALSE(has_control(r.err)) << r.err;
  EXPECT_NE(r.err.find("status insufficient_scope (the token lacks the scope the server needs), "
                       "scope mail \\x1b[2J\\x07read"),
            std::string::npos)
      << r.err;
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[2], "AQ==");  // OAUTHBEARER answers with a single 0x01
}

TEST(ScriptedOauth, ChallengeThatIsNotJsonIsShownSanitised) {
  const RunResult r = oauth_failure("XOAUTH2", "go away \x1b[31m");
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
  EXPECT_FALSE(has_control(r.err)) << r.err;
  EXPECT_NE(r.err.find("the server's OAuth error (not JSON): go away \\x1b[31m"), std::string::npos)
      << r.err;
}

TEST(ScriptedOauth, TokenForAServerWithoutOauthIsAConfigurationError) {
  ScriptedServer s({kGreeting, {"CAPA", "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"}});
  RunOptions o;
  o.env["POP3KIT_TOKEN"] = "token-value-456";
  const RunResult r = run_pop3kit({"stat", url(s), "--plaintext", "--allow-plaintext-password"}, o);
  EXPECT_EQ(r.exit_code, 78) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("offers neither OAUTHBEARER nor XOAUTH2 (name a mechanism with ;auth=)"),
            std::string::npos)
      << r.err;
  expect_nothing_secret(s.received());
}

// --deadline: a server that trickles a byte every 200 ms is never silent for
// --timeout, and still cannot hold the command past the deadline (75).
namespace trickle {

using S = ScriptServer;
using namespace std::chrono_literals;

// A minute of trickle.
std::string minute_of(const std::string& head) {
  return head + std::string(300 - head.size(), 'x') + "\r\n";
}

std::vector<S::Step> logged_in(std::vector<S::Step> rest) {
  std::vector<S::Step> s = {S::send("+OK ready\r\n"),    S::expect("CAPA"),
                            S::send("-ERR no CAPA\r\n"), S::expect("USER alice"),
                            S::send("+OK\r\n"),          S::expect("PASS secret"),
                            S::send("+OK\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

std::string url(const ScriptServer& s) {
  return "pop://alice@127.0.0.1:" + std::to_string(s.port());
}

// Runs pop3kit and says how long it took.
RunResult timed_run(const std::vector<std::string>& args, std::chrono::nanoseconds& took,
                    RunOptions o = {}) {
  o.env["POP3KIT_PASSWORD"] = "secret";
  const auto start = std::chrono::steady_clock::now();
  RunResult r = run_pop3kit(args, o);
  took = std::chrono::steady_clock::now() - start;
  return r;
}

TEST(ScriptedDeadline, TrickledRetrEndsAtTheDeadline) {
  ScriptServer s(logged_in({S::expect("RETR 1"), S::send("+OK\r\nSubject: slow\r\n\r\n"),
                            S::trickle(minute_of("body"), 200ms)}));
  std::chrono::nanoseconds took{};
  const RunResult r = timed_run({"retr", url(s), "1", "--plaintext", "--allow-plaintext-password",
                                 "--timeout", "30", "--deadline", "2"},
                                took);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("RETR did not finish within its deadline of 2"), std::string::npos) << r.err;
  EXPECT_LT(took, 10s);
}

TEST(ScriptedDeadline, TrickledLoginEndsAtTheDeadline) {
  ScriptServer s({S::send("+OK ready\r\n"), S::expect("CAPA"), S::send("-ERR no CAPA\r\n"),
                  S::expect("USER alice"), S::trickle(minute_of("+OK "), 200ms)});
  std::chrono::nanoseconds took{};
  const RunResult r = timed_run(
      {"stat", url(s), "--plaintext", "--allow-plaintext-password", "--deadline", "1.5"}, took);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("login and what follows it did not finish within its deadline of 1.5 s"),
            std::string::npos)
      << r.err;
  EXPECT_LT(took, 10s);
}

TEST(ScriptedDeadline, TrickledGreetingEndsAtTheDeadline) {
  ScriptServer s({S::trickle(minute_of("+OK "), 200ms)});
  std::chrono::nanoseconds took{};
  const RunResult r = timed_run(
      {"capa", "pop://127.0.0.1:" + std::to_string(s.port()), "--plaintext", "--deadline", "1"},
      took);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("connecting to 127.0.0.1:" + std::to_string(s.port()) +
                       " did not finish within its deadline of 1 s"),
            std::string::npos)
      << r.err;
  EXPECT_LT(took, 10s);
}

std::vector<S::Step> fetch_script() {
  return logged_in({S::expect("LIST"), S::send("+OK\r\n1 400\r\n.\r\n"), S::expect("UIDL"),
                    S::send("+OK\r\n1 uid-1\r\n.\r\n"), S::expect("RETR 1"),
                    S::send("+OK\r\nSubject: slow\r\n\r\n"), S::trickle(minute_of("body"), 200ms)});
}

class FetchDeadline : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pop3kit-deadline-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FetchDeadline, OptionEndsATricklingFetch) {
  ScriptServer s(fetch_script());
  std::chrono::nanoseconds took{};
  const RunResult r = timed_run({"fetch", url(s), "--to", "maildir:" + (dir_ / "Mail").string(),
                                 "--state", (dir_ / "state.db").string(), "--plaintext",
                                 "--allow-plaintext-password", "--deadline", "2"},
                                took);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("RETR did not finish within its deadline of 2"), std::string::npos) << r.err;
  EXPECT_LT(took, 10s);
}

TEST_F(FetchDeadline, ConfigKeyEndsATricklingFetch) {
  ScriptServer s(fetch_script());
  const std::filesystem::path config = dir_ / "config.toml";
  std::ofstream(config) << "[account.slow]\nurl = \"" << url(s)
                        << "\"\nto = \"maildir:" << (dir_ / "Mail").string()
                        << "\"\nplaintext = true\nallow_plaintext_password = true\ndeadline = 2\n";
  std::chrono::nanoseconds took{};
  const RunResult r =
      timed_run({"fetch", "-c", config.string(), "--state", (dir_ / "state.db").string()}, took);
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("RETR did not finish within its deadline of 2"), std::string::npos) << r.err;
  EXPECT_LT(took, 10s);
}

}  // namespace trickle

// Every numeric option is checked before anything is done: a usage error
// (64), one line, and no connection (the URL's port has no server).
TEST(ScriptedNumbers, BadNumbersAreUsageErrors) {
  const std::string u = "pop://alice@127.0.0.1:1";
  const std::vector<std::vector<std::string>> cases = {
      {"stat", u, "--timeout", "nan"},
      {"stat", u, "--timeout", "inf"},
      {"stat", u, "--timeout", "-1"},
      {"stat", u, "--timeout", "0"},
      {"stat", u, "--timeout", "1e3"},
      {"stat", u, "--timeout", "0x1p3"},
      {"stat", u, "--timeout", "5s"},
      {"stat", u, "--timeout", "99999999999999999999"},
      {"stat", u, "--connect-timeout", "nan"},
      {"stat", u, "--connect-timeout", "-inf"},
      {"stat", u, "--connect-timeout", "1000001"},
      {"stat", u, "--deadline", "nan"},
      {"stat", u, "--deadline", "0"},
      {"stat", u, "--deadline", "0.0001"},
      {"list", u, "--deadline", "1e9"},
      {"retr", u, "0"},
      {"retr", u, "1x"},
      {"retr", u, "-1"},
      {"top", u, "1", "nan"},
      {"top", u, "1", "-1"},
      {"top", u, "0x1", "5"},
      {"dele", u, "18446744073709551616"},
      {"fetch", u, "--to", "maildir:/nonexistent/pop3kit", "--max-size", "0"},
      {"fetch", u, "--to", "maildir:/nonexistent/pop3kit", "--max-size", "1e6"},
      {"fetch", u, "--to", "maildir:/nonexistent/pop3kit", "--max-size", "nan"},
      {"fetch", u, "--to", "maildir:/nonexistent/pop3kit", "--max-size", "20MB"},
      {"stat", "pop://alice@127.0.0.1:0"},
      {"stat", "pop://alice@127.0.0.1:65536"},
      {"stat", "pop://alice@127.0.0.1:0x6e"},
  };
  for (const auto& args : cases) {
    std::string shown;
    for (const auto& a : args)
      shown += a + " ";
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 64) << shown << "\n" << r.err;
    expect_one_error_line(r);
  }
}

}  // namespace
}  // namespace pop3kit::test
