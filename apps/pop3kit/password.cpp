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
constexpr std::size_t kMaxPassword = 4096;

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

}  // namespace

std::string run_password_command(const std::string& command) {
  if (command.empty()) throw config_error("--password-command is empty");

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw config_error(
        fmt::format("cannot run the password command: pipe: {}", std::strerror(errno)));
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
    throw config_error(fmt::format("cannot run the password command: {}", std::strerror(rc)));
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
      } else if (first_line.size() < kMaxPassword) {
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
      throw config_error(fmt::format("password command: waitpid: {}", std::strerror(errno)));
    }
  }
  if (WIFSIGNALED(status)) {
    throw config_error(
        fmt::format("the password command was killed by signal {}", WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw config_error(fmt::format("the password command failed (exit status {})",
                                   WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  }
  if (!first_line.empty() && first_line.back() == '\r') first_line.pop_back();
  if (too_long) {
    throw config_error(fmt::format("the password command printed a first line longer than {} bytes",
                                   kMaxPassword));
  }
  if (first_line.empty()) {
    throw config_error("the password command printed no password (its first line is empty)");
  }
  // A NUL or CR could not be sent in a POP3 command; say so here instead of
  // as a confusing error from the protocol layer.
  if (first_line.find('\0') != std::string::npos || first_line.find('\r') != std::string::npos) {
    throw config_error("the password printed by the password command contains a NUL or CR");
  }
  return first_line;
}

std::string obtain_password(const std::optional<std::string>& command) {
  if (command) return run_password_command(*command);
  const char* env = std::getenv(kPasswordEnv);
  if (env == nullptr || *env == '\0') {
    throw config_error(
        fmt::format("no password: set {} or use --password-command CMD", kPasswordEnv));
  }
  std::string password(env);
  if (password.find('\r') != std::string::npos || password.find('\n') != std::string::npos) {
    throw config_error(fmt::format("{} contains a line break", kPasswordEnv));
  }
  return password;
}

}  // namespace pop3kit::cli
