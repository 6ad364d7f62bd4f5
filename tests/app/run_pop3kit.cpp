// Test helper: fork/exec of the pop3kit binary with captured output.
#include "run_pop3kit.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>

#ifndef POP3KIT_BIN
#error "POP3KIT_BIN must name the pop3kit binary"
#endif

namespace pop3kit::test {

// The terminal's side of a pseudo-terminal, read by a thread of its own
// while the child runs (a terminal holds only a few KiB unread).
struct TerminalCapture {
  int master = -1;
  std::string text;
  std::thread reader;

  explicit TerminalCapture(int fd) : master(fd) {
    reader = std::thread([this] {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0) {
          text.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          break;  // EIO: every descriptor of the child's side is closed.
        }
      }
    });
  }
  ~TerminalCapture() {
    if (reader.joinable()) reader.join();
    ::close(master);
  }
  TerminalCapture(const TerminalCapture&) = delete;
  TerminalCapture& operator=(const TerminalCapture&) = delete;
  std::string collect() {
    if (reader.joinable()) reader.join();
    return std::move(text);
  }
};

namespace {

std::string slurp(std::FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, n);
  std::fclose(f);
  return s;
}

}  // namespace

Started start_pop3kit(const std::vector<std::string>& args, const RunOptions& options) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  if (out == nullptr || err == nullptr) throw std::runtime_error("tmpfile failed");
  int pipe_fds[2] = {-1, -1};
  if (options.stdout_to == StdoutTo::closed_pipe) {
    if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    ::close(pipe_fds[0]);  // No reader, ever.
  }

  int terminal[2] = {-1, -1};
  if (options.stderr_terminal) {
    winsize size{};
    size.ws_col = 100;
    size.ws_row = 30;
    if (::openpty(&terminal[0], &terminal[1], nullptr, nullptr, &size) != 0) {
      throw std::runtime_error("openpty failed");
    }
  }

  std::vector<char*> argv;
  std::string bin = POP3KIT_BIN;
  std::vector<std::string> storage(args);
  argv.push_back(bin.data());
  for (auto& a : storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Child: only async-signal-safe work would be strictly correct after
    // fork in a threaded program; the test binary is single-threaded.
    ::unsetenv("POP3KIT_PASSWORD");
    ::unsetenv("POP3KIT_TOKEN");
    for (const auto& [name, value] : options.env) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    int out_fd = ::fileno(out);
    if (options.stdout_to == StdoutTo::dev_full) out_fd = ::open("/dev/full", O_WRONLY);
    if (options.stdout_to == StdoutTo::closed_pipe) out_fd = pipe_fds[1];
    if (options.stdout_to == StdoutTo::fd) out_fd = options.stdout_fd;
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(options.stderr_terminal ? terminal[1] : ::fileno(err), STDERR_FILENO);
    const int null_in = ::open("/dev/null", O_RDONLY);
    ::dup2(null_in, STDIN_FILENO);
    // Nothing else of the test's reaches the child: descriptors 0-2 are the
    // only ones it is started with, as from a shell.
    ::close_range(3, ~0U, 0);
    if (options.stdout_to == StdoutTo::closed) ::close(STDOUT_FILENO);
    if (options.close_stderr) ::close(STDERR_FILENO);
    if (options.close_stdin) ::close(STDIN_FILENO);
    // The signals as a shell would start it, whatever the test runner's are.
    for (const int sig : {SIGINT, SIGTERM, SIGHUP})
      ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  Started started;
  if (options.stderr_terminal) {
    ::close(terminal[1]);
    started.terminal = std::make_shared<TerminalCapture>(terminal[0]);
  }
  started.pid = pid;
  started.out = out;
  started.err = err;
  started.options = options;
  return started;
}

RunResult finish_pop3kit(Started& started) {
  const pid_t pid = started.pid;
  const RunOptions& options = started.options;
  auto* out = static_cast<std::FILE*>(started.out);
  auto* err = static_cast<std::FILE*>(started.err);
  RunResult r;
  int status = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  if (started.terminal) r.err = started.terminal->collect();
  return r;
}

RunResult run_pop3kit(const std::vector<std::string>& args, const RunOptions& options) {
  Started started = start_pop3kit(args, options);
  return finish_pop3kit(started);
}

}  // namespace pop3kit::test
