// pop3kit command — reading the password from the environment or a command.
#include "password.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
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

// The first line of what the command prints, up to `max` octets.
struct FirstLine {
  explicit FirstLine(std::size_t max_size) : max(max_size) {}
  void take(const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n && !done; ++i) {
      if (data[i] == '\n') {
        done = true;
      } else if (text.size() < max) {
        text.push_back(data[i]);
      } else {
        too_long = true;
      }
    }
  }
  std::size_t max;
  std::string text;
  bool done = false;
  bool too_long = false;
};

// Reaps `pid` if it has exited: its wait status, or nullopt while it runs.
std::optional<int> reap(pid_t pid, const SecretKind& kind) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r == 0) return std::nullopt;
    if (errno != EINTR) {
      throw config_error(fmt::format("{} command: waitpid: {}", kind.noun, std::strerror(errno)));
    }
  }
}

// Reads the command's output into `line` until the command exits, then what
// is left in the pipe (without waiting: a background process may hold it
// open, and may keep writing); returns its wait status. After `limit` the
// command is killed and reaped, and that is a Failure (78).
int wait_for_command(pid_t pid, int fd, FirstLine& line, std::chrono::milliseconds limit,
                     const SecretKind& kind) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + limit;
  // Exit is polled for (no SIGCHLD handler in a library-like path): every
  // 20 ms at most while the pipe is quiet.
  constexpr std::chrono::milliseconds kSlice{20};
  char buf[4096];
  bool eof = false;
  for (;;) {
    if (const auto status = reap(pid, kind)) {
      (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      // Bounded: a background process writing without end must not keep us.
      for (std::size_t drained = 0; !eof && !line.done && drained < 4 * line.max + sizeof buf;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        line.take(buf, static_cast<std::size_t>(n));
        drained += static_cast<std::size_t>(n);
      }
      return *status;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      ::kill(pid, SIGKILL);
      // A killed process goes at once, unless stuck in the kernel: give it
      // a few seconds, and leave it to init rather than hang.
      for (int i = 0; i < 250 && !reap(pid, kind); ++i)
        ::poll(nullptr, 0, static_cast<int>(kSlice.count()));
      throw config_error(fmt::format(
          "the {} command did not finish within {} s and was stopped (a command that waits "
          "for input must get it from the terminal or an agent in that time)",
          kind.noun, std::chrono::ceil<std::chrono::seconds>(limit).count()));
    }
    pollfd p{fd, POLLIN, 0};
    const int wait_ms = static_cast<int>(std::min(left, kSlice).count());
    const int r = eof ? ::poll(nullptr, 0, wait_ms) : ::poll(&p, 1, wait_ms);
    if (r <= 0 || eof) continue;  // EINTR, or time to look at the command again
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;  // Closed (or broken): the exit status still decides.
      continue;
    }
    line.take(buf, static_cast<std::size_t>(n));
  }
}

std::string run_secret_command(const std::string& command, const SecretKind& kind,
                               std::chrono::milliseconds limit) {
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

  // Keep only the first line, but read on (so the command never blocks on a
  // full pipe) until the command itself has exited: not until EOF, which a
  // background process it started ("helper &") may hold off for ever; what
  // the command printed before it exited is in the pipe by then. All of it
  // within `limit`: a command that waits for ever stops the login.
  FirstLine line(kind.max);
  const int status = wait_for_command(pid, read_end.get(), line, limit, kind);
  read_end.reset();
  std::string first_line = std::move(line.text);
  const bool too_long = line.too_long;
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

std::string obtain_secret(const std::optional<std::string>& command, const SecretKind& kind,
                          std::chrono::milliseconds limit) {
  if (command) return run_secret_command(*command, kind, limit);
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

std::string run_password_command(const std::string& command, std::chrono::milliseconds limit) {
  return run_secret_command(command, kPassword, limit);
}

std::string obtain_password(const std::optional<std::string>& command,
                            std::chrono::milliseconds limit) {
  return obtain_secret(command, kPassword, limit);
}

std::string obtain_token(const std::optional<std::string>& command,
                         std::chrono::milliseconds limit) {
  return obtain_secret(command, kToken, limit);
}

}  // namespace pop3kit::cli
