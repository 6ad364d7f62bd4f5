// The deadlines of the async client: io_timeout bounds each read, write and
// handshake, operation_deadline (plus deadline_per_mib) each operation, kept
// by session::Deadline as in the blocking client. A wait is bounded by one
// timer per client that cancels the socket's operations when it fires.
#include "impl.hpp"

namespace pop3kit::async {

void Client::Impl::arm(milliseconds wait) {
  timed_out = false;
  const std::uint64_t mine = ++generation;
  timer.expires_after(wait);
  // The handler may run after the Client is gone (the timer's destruction
  // completes it with operation_aborted), or after a later arm(): it holds
  // the state weakly and acts only for its own wait.
  timer.async_wait([weak = weak_from_this(), mine](const std::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->generation != mine || !self->connected()) return;
    self->timed_out = true;
    std::error_code ignored;
    self->lowest().cancel(ignored);
  });
}

void Client::Impl::disarm() noexcept {
  ++generation;
  // cancel() throws only when the reactor cannot deregister the wait; the
  // generation already makes the handler a no-op.
  try {
    timer.cancel();
  } catch (...) {
  }
}

}  // namespace pop3kit::async
