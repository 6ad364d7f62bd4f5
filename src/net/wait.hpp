// Deadline helpers shared by the TCP and TLS transports.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>

namespace pop3kit::net::detail {

using Clock = std::chrono::steady_clock;

/// Waits for `events` on fd until `deadline`, across EINTR. Returns 1 when
/// ready, 0 when the deadline passed, -1 on error (errno set).
inline int wait_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1'000'000'000)));
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

/// "30 s", or "300 ms" when not whole seconds: for deadline messages.
inline std::string duration_text(std::chrono::milliseconds ms) {
  return ms.count() % 1000 == 0 ? std::to_string(ms.count() / 1000) + " s"
                                : std::to_string(ms.count()) + " ms";
}

}  // namespace pop3kit::net::detail
