// pop3kit command — removing temporary files on SIGINT, SIGTERM, SIGHUP.
#include "signals.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "exit_codes.hpp"

namespace pop3kit::cli {

CleanupOnSignal::CleanupOnSignal(store::TemporaryFiles& files) : files_(files) {
  sigemptyset(&blocked_);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction now {};
    if (::sigaction(sig, nullptr, &now) == 0 && now.sa_handler == SIG_IGN) continue;
    sigaddset(&blocked_, sig);
  }
  const auto fail = [](const char* what) {
    return Failure(exit_code::os_error, std::string("cannot set up the signal handling: ") + what +
                                            ": " + std::strerror(errno));
  };
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) throw fail("eventfd");
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &blocked_, &previous_); rc != 0) {
    errno = rc;
    ::close(stop_fd_);
    throw fail("pthread_sigmask");
  }
  signal_fd_ = ::signalfd(-1, &blocked_, SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    const Failure f = fail("signalfd");
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    ::close(stop_fd_);
    throw f;
  }
  thread_ = std::thread([this] { run(); });
}

CleanupOnSignal::~CleanupOnSignal() {
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(signal_fd_);
  ::close(stop_fd_);
  ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

void CleanupOnSignal::run() noexcept {
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    signalfd_siginfo info{};
    if (::read(signal_fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
    const int sig = static_cast<int>(info.ssi_signo);
    {
      const std::lock_guard lock(mu_);
      if (stop_ && stopped_by_.load() == 0) {
        stopped_by_.store(sig);
        stop_(sig);
        continue;
      }
    }
    die(sig);
  }
}

void CleanupOnSignal::stop_gracefully(std::function<void(int)> stop) {
  const std::lock_guard lock(mu_);
  stop_ = std::move(stop);
}

void CleanupOnSignal::end_as_signalled() {
  die(stopped_by_.load());
}

void CleanupOnSignal::die(int sig) noexcept {
  files_.remove_all();
  // End the process as the signal would have: its default action, raised
  // at this thread with the signal unblocked here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  std::_Exit(128 + sig);  // not reached: the default action of these ends the process
}

}  // namespace pop3kit::cli
