// pop3kit::store — delivery through a command (an MDA: procmail, maildrop,
// dovecot-lda, ...), run as /bin/sh -c COMMAND with the message on its
// standard input. Only exit status 0 counts as delivered.
//
// The message is spooled first, into an unlinked temporary file, and the
// command starts only once the message is complete, with that file as its
// standard input. So no process of the command ever reads a cut message
// followed by an end of file, which it would take for a complete one: not
// when the server drops the connection mid-message, not when pop3kit is
// killed (a pipe would give the command an end of file then, and many MDAs
// deliver what they got). A command killed or failing mid-delivery is the
// MDA's own business: only exit 0 counts.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "destinations.hpp"
#include "line_ends.hpp"
#include "pop3kit/text.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere

namespace pop3kit::store::detail {
namespace {

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

// Waits up to `limit` for the command to end: true when it did (its status
// in `status`, -1 if waiting failed). A pidfd makes the wait a poll; without
// one (an old kernel) the child is polled with WNOHANG.
bool wait_within(pid_t pid, std::chrono::milliseconds limit, int& status) noexcept {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + limit;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) {
      if (pidfd >= 0) ::close(pidfd);
      return false;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    } else {
      ::usleep(static_cast<useconds_t>(std::min<long long>(left.count(), 20) * 1000));
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return true;
}

class Mda final : public Destination {
 public:
  Mda(std::string command, bool keep_crlf, std::chrono::milliseconds limit)
      : command_(std::move(command)),
        spec_("mda:" + command_),
        keep_crlf_(keep_crlf),
        limit_(limit) {}
  ~Mda() override = default;
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
    if (spool_) return {Error(errc::wrong_state, "mda '" + command_ + "': a message is open")};
    auto spool = make_spool();
    if (!spool) return std::move(spool).error();
    spool_ = std::move(*spool);
    size_ = 0;
    buffer_.clear();
    crlf_.reset();
    return {};
  }

  Result<void> write(std::string_view chunk) override {
    if (!spool_) return {Error(errc::wrong_state, "mda '" + command_ + "': no message is open")};
    if (keep_crlf_) {
      buffer_.append(chunk);
    } else {
      crlf_.feed(chunk, buffer_);
    }
    if (buffer_.size() >= kWriteBlock) return flush();
    return {};
  }

  Result<Stored> end() override {
    if (!spool_) return {Error(errc::wrong_state, "mda '" + command_ + "': no message is open")};
    if (!keep_crlf_) crlf_.finish(buffer_);
    if (auto r = flush(); !r) return std::move(r).error();
    UniqueFd input = std::move(spool_);
    if (::lseek(input.get(), 0, SEEK_SET) != 0)
      return fail("cannot rewind the spooled message", errno);
    auto status = run(input.get());
    if (!status) return std::move(status).error();
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      return {Error(errc::sink_failed,
                    "mda '" + sanitize(command_, 400) + "': the command " + describe(*status))};
    }
    return Stored{{}, size_};
  }

  void abort() noexcept override {
    // Nothing was started: the spooled part is dropped with its file.
    spool_.reset();
    buffer_.clear();
  }

  Result<void> commit() override { return {}; }
  Result<std::optional<Stored>> recover(const Reservation&) override {
    return std::optional<Stored>{};
  }

 private:
  Error fail(std::string_view what, int err) const {
    return sink_error("mda", "'" + command_ + "'", what, err);
  }

  // An unlinked file in $TMPDIR (else /tmp): nothing to clean up after a crash.
  Result<UniqueFd> make_spool() const {
    const char* env = std::getenv("TMPDIR");
    const std::string dir = env != nullptr && env[0] == '/' ? env : "/tmp";
    UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      // A file system without O_TMPFILE: a named file, unlinked at once.
      std::string name = dir + "/pop3kit-mda.XXXXXX";
      fd.reset(::mkostemp(name.data(), O_CLOEXEC));
      if (fd) ::unlink(name.c_str());
    }
    if (!fd) return fail("cannot make a spool file in " + sanitize(dir, 400), errno);
    return fd;
  }

  Result<void> flush() {
    const int err = write_all(spool_.get(), buffer_);
    if (err != 0) {
      abort();
      return fail("cannot spool the message", err);
    }
    size_ += buffer_.size();
    buffer_.clear();
    return {};
  }

  // Runs the command with `input` on its standard input; its wait status.
  Result<int> run(int input) const {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, input, STDIN_FILENO);
    // Its output is for a person, never mixed into pop3kit's standard
    // output (which may be a listing a program reads).
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    // Nothing of ours beyond 0-2 reaches it, whoever opened it without O_CLOEXEC.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    // The host may ignore or block SIGPIPE (pop3kit does); that would change
    // how pipelines inside COMMAND end. The command starts with defaults, in
    // a process group of its own: a Ctrl-C meant for pop3kit does not cut a
    // delivery short.
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
    int status = 0;
    if (!wait_within(pid, limit_, status)) {
      // A command that hangs must not hang the fetch: its whole process
      // group is ended (SIGTERM, then SIGKILL), and the message counts as
      // not delivered (what the command did with it is its own business).
      ::kill(-pid, SIGTERM);
      if (!wait_within(pid, std::chrono::seconds(5), status)) {
        ::kill(-pid, SIGKILL);
        (void)wait_for(pid);
      }
      const auto ms = limit_.count();
      const std::string took =
          ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
      return Error(errc::sink_failed, "mda '" + sanitize(command_, 400) +
                                          "': the command did not finish within " + took +
                                          " and was stopped");
    }
    if (status < 0) return fail("cannot wait for it", errno);
    return status;
  }

  std::string command_;
  std::string spec_;
  bool keep_crlf_;
  std::chrono::milliseconds limit_;
  UniqueFd spool_;  // the message being received; open between begin() and end()
  std::string buffer_;
  std::uint64_t size_ = 0;
  CrlfToLf crlf_;
};

}  // namespace

std::unique_ptr<Destination> make_mda(std::string command, bool keep_crlf,
                                      std::chrono::milliseconds limit) {
  return std::make_unique<Mda>(std::move(command), keep_crlf, limit);
}

}  // namespace pop3kit::store::detail
