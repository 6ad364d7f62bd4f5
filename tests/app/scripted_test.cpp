// The pop3kit binary against a scripted server: the answers a real Dovecot
// will not give on demand (UIDL refused, QUIT -ERR, [IN-USE], garbage,
// silence, control characters) and what the command does with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "scripted_server.hpp"

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
  const RunResult r = run({"list", url(s), "--allow-plaintext"});
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
  const RunResult r = run({"retr", url(s), "1", "--allow-plaintext"});
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
  const RunResult r = run({"dele", url(s), "1", "2", "--allow-plaintext"});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
  EXPECT_NE(r.err.find("QUIT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not removed"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Scripted, ConnectionLostAtQuitIsTemporary) {
  ScriptedServer s(logged_in({{"DELE 1", "+OK\r\n"}, {"QUIT", "", true}}));
  const RunResult r = run({"dele", url(s), "1", "--allow-plaintext"});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
  EXPECT_EQ(r.out, "");
}

TEST(Scripted, RefusedDeleClosesWithoutQuit) {
  ScriptedServer s(logged_in({
      {"DELE 1", "+OK\r\n"},
      {"DELE 2", "-ERR no such message\r\n"},
  }));
  const RunResult r = run({"dele", url(s), "1", "2", "3", "--allow-plaintext"});
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
  const RunResult r = run({"dele", url(s), "2", "1", "2", "--allow-plaintext"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted 2 message(s)\n");
  EXPECT_EQ(s.error(), "");
}

TEST(Scripted, TemporaryLoginRefusalsAre75) {
  for (const char* answer : {"-ERR [IN-USE] mailbox locked\r\n", "-ERR [LOGIN-DELAY] wait\r\n",
                             "-ERR [SYS/TEMP] try later\r\n"}) {
    ScriptedServer s({kGreeting, kCapa, kUser, {"PASS secret", answer}});
    const RunResult r = run({"stat", url(s), "--allow-plaintext"});
    EXPECT_EQ(r.exit_code, 75) << answer << r.err;
    expect_one_error_line(r);
  }
}

TEST(Scripted, RefusedUserIs77) {
  ScriptedServer s({kGreeting, kCapa, {"USER alice", "-ERR [AUTH] no such user\r\n"}});
  const RunResult r = run({"stat", url(s), "--allow-plaintext"});
  EXPECT_EQ(r.exit_code, 77) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, GreetingRefusedIs69) {
  ScriptedServer s(std::vector<Step>{{"", "-ERR too many connections\r\n", true}});
  const RunResult r = run({"capa", "pop://127.0.0.1:" + std::to_string(s.port())});
  EXPECT_EQ(r.exit_code, 69) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, ProtocolViolationIs76) {
  ScriptedServer s(logged_in({{"STAT", "+OK banana split\r\n"}}));
  const RunResult r = run({"stat", url(s), "--allow-plaintext"});
  EXPECT_EQ(r.exit_code, 76) << r.err;
  expect_one_error_line(r);
  ScriptedServer g(std::vector<Step>{{"", "HELLO there\r\n"}});
  const RunResult rg = run({"capa", "pop://127.0.0.1:" + std::to_string(g.port())});
  EXPECT_EQ(rg.exit_code, 76) << rg.err;
}

TEST(Scripted, SilentServerTimesOut) {
  ScriptedServer s(logged_in({{"STAT", ""}}));
  const RunResult r = run({"stat", url(s), "--allow-plaintext", "--timeout", "0.3"});
  EXPECT_EQ(r.exit_code, 75) << r.err;
  expect_one_error_line(r);
}

TEST(Scripted, ApopWithoutTimestampDoesNotFallBack) {
  ScriptedServer s(std::vector<Step>{kGreeting, kCapa});
  const RunResult r = run({"stat", url(s, "alice;auth=+APOP")});
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
  const RunResult r = run({"-v", "capa", "pop://127.0.0.1:" + std::to_string(s.port())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has_control(r.out)) << r.out;
  EXPECT_FALSE(has_control(r.err)) << r.err;
  EXPECT_NE(r.out.find("TOP\n"), std::string::npos) << r.out;
  // The escapes are shown as text ("\\x1b", case up to sanitize()).
  EXPECT_NE(r.out.find("X-EVIL \\x1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("]0;title\\x07 here\n"), std::string::npos) << r.out;

  ScriptedServer e(logged_in({{"RETR 1", "-ERR \x1b[31mno\x1b[0m such message\r\n"}}));
  const RunResult re = run({"retr", url(e), "1", "--allow-plaintext"});
  EXPECT_EQ(re.exit_code, 69) << re.err;
  expect_one_error_line(re);
  EXPECT_FALSE(has_control(re.err)) << re.err;
}

}  // namespace
}  // namespace pop3kit::test
