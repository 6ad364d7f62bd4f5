// Where the password comes from: POP3KIT_PASSWORD or --password-command.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "exit_codes.hpp"
#include "password.hpp"

namespace pop3kit::cli {
namespace {

// Runs `fn`, expects a Failure with exit 78, returns its message.
template <class Fn>
std::string config_failure(Fn&& fn) {
  try {
    fn();
  } catch (const Failure& f) {
    EXPECT_EQ(f.code(), exit_code::config) << f.what();
    return f.what();
  }
  ADD_FAILURE() << "no Failure thrown";
  return {};
}

class PasswordTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(kPasswordEnv); }
  void TearDown() override { ::unsetenv(kPasswordEnv); }
};

TEST_F(PasswordTest, CommandFirstLineWithoutLineEnd) {
  EXPECT_EQ(run_password_command("printf 'secret\\n'"), "secret");
  EXPECT_EQ(run_password_command("printf 'secret'"), "secret");
  EXPECT_EQ(run_password_command("printf 'crlf\\r\\nsecond line\\n'"), "crlf");
  EXPECT_EQ(run_password_command("printf 'first\\nsecond\\n'"), "first");
}

TEST_F(PasswordTest, CommandKeepsSpacesAndSpecials) {
  EXPECT_EQ(run_password_command("printf '%s\\n' ' pass with  spaces '"), " pass with  spaces ");
  EXPECT_EQ(run_password_command("printf '%s\\n' 'a;b|c$d'"), "a;b|c$d");
}

TEST_F(PasswordTest, CommandRunsThroughShell) {
  EXPECT_EQ(run_password_command("X=from-shell; echo \"$X\" | tr a-z A-Z"), "FROM-SHELL");
}

TEST_F(PasswordTest, CommandLargeOutputIsDrained) {
  // More than a pipe buffer after the first line: the child must not block.
  EXPECT_EQ(run_password_command("echo pw; head -c 300000 /dev/zero | tr '\\0' x"), "pw");
}

TEST_F(PasswordTest, CommandFailing) {
  const std::string m = config_failure([] { run_password_command("echo secret; exit 3"); });
  EXPECT_NE(m.find("failed"), std::string::npos) << m;
  EXPECT_NE(m.find("3"), std::string::npos) << m;
  // The output of a failed command is never shown.
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  config_failure([] { run_password_command("false"); });
  config_failure([] { run_password_command("/nonexistent/command"); });
}

TEST_F(PasswordTest, CommandKilledBySignal) {
  const std::string m = config_failure([] { run_password_command("kill -TERM $$"); });
  EXPECT_NE(m.find("signal"), std::string::npos) << m;
}

TEST_F(PasswordTest, CommandPrintingNothing) {
  const std::string m = config_failure([] { run_password_command("true"); });
  EXPECT_NE(m.find("no password"), std::string::npos) << m;
  config_failure([] { run_password_command("printf '\\n'"); });
  config_failure([] { run_password_command("printf '\\r\\nlater\\n'"); });
}

TEST_F(PasswordTest, CommandEmpty) {
  config_failure([] { run_password_command(""); });
}

TEST_F(PasswordTest, CommandWithNulIsRefused) {
  config_failure([] { run_password_command("printf 'a\\000b\\n'"); });
}

TEST_F(PasswordTest, CommandTooLong) {
  config_failure([] { run_password_command("head -c 5000 /dev/zero | tr '\\0' x"); });
}

TEST_F(PasswordTest, CommandHasDefaultSigpipe) {
  // pop3kit ignores SIGPIPE, and an ignored signal survives exec: the
  // command must get the default back, or pipelines in it ("gpg ... | head
  // -n1") behave differently. SigIgn in /proc shows the shell's ignored set.
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  const std::string mask = run_password_command("grep SigIgn /proc/$$/status | cut -f2");
  std::signal(SIGPIPE, old);
  ASSERT_FALSE(mask.empty());
  const unsigned long long ignored = std::stoull(mask, nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << mask;
}

// No child of this process is left unreaped (no zombie of ours).
bool no_children_left() {
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

TEST_F(PasswordTest, BackgroundProcessHoldingThePipeDoesNotDelay) {
  // The command exits at once; the process it leaves behind keeps standard
  // output open for a minute. Its pid goes to a file so the test can end it.
  const std::string pid_file = (std::filesystem::temp_directory_path() /
                                ("pop3kit-password-" + std::to_string(::getpid()) + ".pid"))
                                   .string();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run_password_command("echo secret; sleep 60 & echo $! >'" + pid_file + "'"), "secret");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(no_children_left());
  std::ifstream in(pid_file);
  pid_t background = 0;
  if (in >> background && background > 0) ::kill(background, SIGKILL);
  std::filesystem::remove(pid_file);
}

TEST_F(PasswordTest, CommandThatDoesNotFinishIsStopped) {
  EXPECT_EQ(kSecretCommandLimit, std::chrono::seconds(60));
  // Silent for ever, and a password printed by a command that then goes on
  // running: both end at the limit, and no zombie is left.
  for (const char* command : {"sleep 60", "echo secret; sleep 60"}) {
    const auto start = std::chrono::steady_clock::now();
    const std::string m =
        config_failure([&] { run_password_command(command, std::chrono::milliseconds(1500)); });
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_NE(m.find("the password command did not finish within 2 s and was stopped"),
              std::string::npos)
        << m;
    EXPECT_EQ(m.find("secret"), std::string::npos) << m;
    EXPECT_GE(took, std::chrono::milliseconds(1400)) << command;
    EXPECT_LT(took, std::chrono::seconds(10)) << command;
    EXPECT_TRUE(no_children_left()) << command;
  }
}

TEST_F(PasswordTest, TokenCommandHasTheLimitToo) {
  const std::string m =
      config_failure([] { obtain_token(std::string("sleep 60"), std::chrono::milliseconds(500)); });
  EXPECT_NE(m.find("the token command did not finish within 1 s"), std::string::npos) << m;
  EXPECT_TRUE(no_children_left());
}

TEST_F(PasswordTest, FromEnvironment) {
  ::setenv(kPasswordEnv, "env secret", 1);
  EXPECT_EQ(obtain_password(std::nullopt), "env secret");
}

TEST_F(PasswordTest, CommandWinsOverEnvironment) {
  ::setenv(kPasswordEnv, "env secret", 1);
  EXPECT_EQ(obtain_password(std::string("echo cmd-secret")), "cmd-secret");
}

TEST_F(PasswordTest, NeitherSet) {
  const std::string m = config_failure([] { obtain_password(std::nullopt); });
  EXPECT_NE(m.find(kPasswordEnv), std::string::npos) << m;
  EXPECT_NE(m.find("--password-command"), std::string::npos) << m;
  ::setenv(kPasswordEnv, "", 1);
  config_failure([] { obtain_password(std::nullopt); });
}

TEST_F(PasswordTest, EnvironmentWithLineBreakIsRefused) {
  ::setenv(kPasswordEnv, "a\nPASS b", 1);
  config_failure([] { obtain_password(std::nullopt); });
}

}  // namespace
}  // namespace pop3kit::cli
