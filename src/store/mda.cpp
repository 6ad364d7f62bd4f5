// pop3kit::store — delivery through a command (an MDA: procmail, maildrop,
// dovecot-lda, ...), run as /bin/sh -c COMMAND with the message on its
// standard input. Only exit status 0 counts as delivered.
//
// The command runs in a process group of its own, so that abort() can kill
// every process of it (a pipeline in COMMAND, or a shell that forks) before
// its input is closed: none of them ever reads a cut message followed by an
// end of file, which it would take for a complete one.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "destinations.hpp"
#include "line_ends.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere

namespace pop3kit::store::detail {
namespace {

// How long a command that stopped reading gets to exit before it is killed.
constexpr auto kExitGrace = std::chrono::seconds(5);

// Writes to the pipe with SIGPIPE blocked in this thread, and takes back a
// SIGPIPE it raised: a library does not kill its host process because a
// command stopped reading (EPIPE says it).
int write_pipe(int fd, std::string_view data) noexcept {
  sigset_t pipe_set;
  sigset_t old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  const int err = write_all(fd, data);
  if (err == EPIPE && !was_pending) {
    const timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return err;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

int wait_for(pid_t pid) noexcept {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

class Mda final : public Destination {
 public:
  Mda(std::string command, bool keep_crlf)
      : command_(std::move(command)), spec_("mda:" + command_), keep_crlf_(keep_crlf) {}
  ~Mda() override { abort(); }
  Mda(const Mda&) = delete;
  Mda& operator=(const Mda&) = delete;

  const std::string& spec() const noexcept override { return spec_; }
  Durability durability() const noexcept override { return Durability::per_message; }

  Result<void> open() override {
    if (::access("/bin/sh", X_OK) != 0) return fail("cannot run /bin/sh", errno);
    return {};
  }

  Result<Reservation> reserve(std::string_view uid) override {
    return Reservation{std::string(uid), {}, 0};
  }

  Result<void> begin(const Reservation&) override {
    if (pid_ > 0) return {Error(errc::wrong_state, "mda '" + command_ + "': a message is open")};
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail("cannot make a pipe", errno);
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, read_end.get(), STDIN_FILENO);
    // Its output is for a person, never mixed into pop3kit's standard
    // output (which may be a listing a program reads).
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    // Nothing of ours beyond 0-2 reaches it, whoever opened it without O_CLOEXEC.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    // The host may ignore or block SIGPIPE (pop3kit does); that would change
    // how pipelines inside COMMAND end. The command starts with defaults.
    sigset_t defaults;
    sigset_t empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    const char* argv[] = {"sh", "-c", command_.c_str(), nullptr};
    pid_t pid = -1;
    // posix_spawn's argv is char* const[] for historical reasons; it does
    // not write to the strings.
    const int rc =
        posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return fail("cannot start it", rc);
    pid_ = pid;
    pipe_ = std::move(write_end);
    size_ = 0;
    buffer_.clear();
    crlf_.reset();
    return {};
  }

  Result<void> write(std::string_view chunk) override {
    if (pid_ <= 0) return {Error(errc::wrong_state, "mda '" + command_ + "': no message is open")};
    if (keep_crlf_) {
      buffer_.append(chunk);
    } else {
      crlf_.feed(chunk, buffer_);
    }
    if (buffer_.size() >= kWriteBlock) return flush();
    return {};
  }

  Result<Stored> end() override {
    if (pid_ <= 0) return {Error(errc::wrong_state, "mda '" + command_ + "': no message is open")};
    if (!keep_crlf_) crlf_.finish(buffer_);
    if (auto r = flush(); !r) return std::move(r).error();
    const int close_rc = pipe_.close();
    const int close_err = errno;
    const int status = wait_for(std::exchange(pid_, -1));
    if (status < 0) return fail("cannot wait for it", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return {Error(errc::sink_failed, "mda '" + command_ + "': the command " + describe(status))};
    }
    if (close_rc != 0) return fail("cannot close its input", close_err);
    return Stored{{}, size_};
  }

  void abort() noexcept override {
    if (pid_ <= 0) return;
    // Killed first, its input closed after: it never sees the end of a cut message.
    ::kill(-pid_, SIGKILL);
    pipe_.reset();
    wait_for(std::exchange(pid_, -1));
    buffer_.clear();
  }

  Result<void> commit() override { return {}; }
  Result<bool> recover(const Reservation&) override { return false; }

 private:
  Error fail(std::string_view what, int err) const {
    return sink_error("mda", "'" + command_ + "'", what, err);
  }

  Result<void> flush() {
    const int err = write_pipe(pipe_.get(), buffer_);
    if (err == 0) {
      size_ += buffer_.size();
      buffer_.clear();
      return {};
    }
    buffer_.clear();
    pipe_.reset();
    if (err != EPIPE) {
      abort();
      return fail("cannot write to it", err);
    }
    // It stopped reading: say how it ended (it usually has, or is about to).
    const pid_t pid = std::exchange(pid_, -1);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + kExitGrace;
    pid_t done = 0;
    while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (done == 0) {
      ::kill(-pid, SIGKILL);
      status = wait_for(pid);
    }
    return {Error(
        errc::sink_failed,
        "mda '" + command_ + "': the command stopped reading the message and " + describe(status))};
  }

  std::string command_;
  std::string spec_;
  bool keep_crlf_;
  pid_t pid_ = -1;
  UniqueFd pipe_;
  std::string buffer_;
  std::uint64_t size_ = 0;
  CrlfToLf crlf_;
};

}  // namespace

std::unique_ptr<Destination> make_mda(std::string command, bool keep_crlf) {
  return std::make_unique<Mda>(std::move(command), keep_crlf);
}

}  // namespace pop3kit::store::detail
