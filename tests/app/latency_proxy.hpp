// Test helper: bench/e2e/latency_proxy (built as test_latency_proxy, its
// path in the LATENCY_PROXY_BIN compile definition) in front of a loopback
// port, for the many-account tests.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace pop3kit::test {

// DELAY_MS each way; port() is 0 when the proxy did not start.
class LatencyProxy {
 public:
  LatencyProxy(std::uint16_t target, int delay_ms) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      const std::string port = std::to_string(target), delay = std::to_string(delay_ms);
      ::execl(LATENCY_PROXY_BIN, LATENCY_PROXY_BIN, "127.0.0.1", port.c_str(), delay.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    unsigned p = 0;
    if (f != nullptr && std::fscanf(f, "%u", &p) == 1) port_ = static_cast<std::uint16_t>(p);
    if (f != nullptr) std::fclose(f);
  }
  ~LatencyProxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  LatencyProxy(const LatencyProxy&) = delete;
  LatencyProxy& operator=(const LatencyProxy&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace pop3kit::test
