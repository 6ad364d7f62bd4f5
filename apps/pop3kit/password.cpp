// pop3kit command — reading the password from the environment or a command.
#include "password.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "exit_codes.hpp"

extern char** environ;

namespace pop3kit::cli {
namespace {

// The first line is kept up to this size; a longer "password" is surely the
// wrong command (a whole file), and holding it would only waste memory.
// OAuth access tokens are longer (JWTs of several KB are common).
constexpr std::size_t kMaxPassword = 4096;
constexpr std::size_t kMaxToken = 65536;

// What a secret command produces: the words in messages and its size limit.
struct SecretKind {
  const char* noun;    // "password"
  const char* option;  // "--password-command"
  const char* env;     // "POP3KIT_PASSWORD"
  std::size_t max;
};
constexpr SecretKind kPassword{"password", "--password-command", kPasswordEnv, kMaxPassword};
constexpr SecretKind kToken{"token", "--token-command", kTokenEnv, kMaxToken};

Failure config_error(const std::string& message) {
  return Failure(exit_code::config, message);
}

// Closes a descriptor on every path out of run_password_command().
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Spawn attributes, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::string run_secret_command(const std::string& command, const SecretKind& kind) {
  if (command.empty()) throw config_error(fmt::format("{} is empty", kind.option));

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw config_error(
        fmt::format("cannot run the {} command: pipe: {}", kind.noun, std::strerror(errno)));
  }
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);

  SpawnSetup setup;
  // The child's standard output is the pipe; dup2 clears O_CLOEXEC on fd 1.
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDOUT_FILENO);
  // pop3kit ignores SIGPIPE (to see EPIPE on its own output); an ignored
  // signal survives exec, which would change how the shell pipelines in the
  // command behave ("pass show x | head -n1"). Give the child the default.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGDEF);

  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  // posix_spawn's argv is char* const[] for historical reasons; it does not
  // write to the strings.
  const int rc = posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr,
                             const_cast<char* const*>(argv), environ);
  write_end.reset();  // Only the child writes: EOF arrives when it exits.
  if (rc != 0) {
    throw config_error(fmt::format("cannot run the {} command: {}", kind.noun, std::strerror(rc)));
  }

  // Read everything (so the child never blocks on a full pipe) but keep only
  // the first line.
  std::string first_line;
  bool line_done = false;
  bool too_long = false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // Treated like EOF; the exit status below still decides.
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n && !line_done; ++i) {
      if (buf[i] == '\n') {
        line_done = true;
      } else if (first_line.size() < kind.max) {
        first_line.push_back(buf[i]);
      } else {
        too_long = true;
      }
    }
  }
  read_end.reset();

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw config_error(fmt::format("{} command: waitpid: {}", kind.noun, std::strerror(errno)));
    }
  }
  if (WIFSIGNALED(status)) {
    throw config_error(
        fmt::format("the {} command was killed by signal {}", kind.noun, WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw config_error(fmt::format("the {} command failed (exit status {})", kind.noun,
                                   WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  if (!first_line.empty() && first_line.back() == '\r') first_line.pop_back();
  if (too_long) {
    throw config_error(fmt::format("the {} command printed a first line longer than {} bytes",
                                   kind.noun, kind.max));
  }
  if (first_line.empty()) {
    throw config_error(
        fmt::format("the {0} command printed no {0} (its first line is empty)", kind.noun));
  }
  // A NUL or CR could not be sent in a POP3 command; say so here instead of
  // as a confusing error from the protocol layer.
  if (first_line.find('\0') != std::string::npos || first_line.find('\r') != std::string::npos) {
    throw config_error(
        fmt::format("the {0} printed by the {0} command contains a NUL or CR", kind.noun));
  }
  return first_line;
}

std::string obtain_secret(const std::optional<std::string>& command, const SecretKind& kind) {
  if (command) return run_secret_command(*command, kind);
  const char* env = std::getenv(kind.env);
  if (env == nullptr || *env == '\0') {
    throw config_error(
        fmt::format("no {}: set {} or use {} CMD", kind.noun, kind.env, kind.option));
  }
  std::string secret(env);
  if (secret.find('\r') != std::string::npos || secret.find('\n') != std::string::npos) {
    throw config_error(fmt::format("{} contains a line break", kind.env));
  }
  return secret;
}

}  // namespace

std::string run_password_command(const std::string& command) {
  return run_secret_command(command, kPassword);
}

std::string obtain_password(const std::optional<std::string>& command) {
  return obtain_secret(command, kPassword);
}

std::string obtain_token(const std::optional<std::string>& command) {
  return obtain_secret(command, kToken);
}

}  // namespace pop3kit::cli
