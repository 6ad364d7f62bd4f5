// The deadlines of the async client: io_timeout bounds each read, write and
// handshake, operation_deadline (plus deadline_per_mib) each operation, as
// in the blocking client (src/client/deadline.cpp). A wait is bounded by one
// timer per client that cancels the socket's operations when it fires.
#include <algorithm>
#include <cmath>

#include "impl.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::async {
namespace {

// Far beyond any real deadline, far below where time_point arithmetic overflows.
constexpr milliseconds kLongest{100LL * 365 * 24 * 3600 * 1000};

// The keyword of the first command waiting to go out, to name an operation
// in messages; never more of the line, which may carry a secret.
std::string command_keyword(std::string_view output) {
  static constexpr std::string_view kKeywords[] = {"USER", "PASS", "APOP", "STAT", "LIST", "RETR",
                                                   "TOP",  "DELE", "NOOP", "RSET", "QUIT", "UIDL",
                                                   "CAPA", "UTF8", "STLS", "AUTH"};
  const std::string_view word = output.substr(0, output.find_first_of(" \r"));
  for (const std::string_view k : kKeywords) {
    if (word == k) return std::string(k);
  }
  return "reading the server's answer";
}

}  // namespace

void Client::Impl::open_operation(std::string what) {
  op.start = Clock::now();
  op.received = 0;
  op.what = std::move(what);
  op.open = true;
}

std::optional<Clock::time_point> Client::Impl::operation_end() const noexcept {
  if (!op.open || options.operation_deadline <= milliseconds::zero()) return std::nullopt;
  const double credit = static_cast<double>(options.deadline_per_mib.count()) *
                        (static_cast<double>(op.received) / (1024.0 * 1024.0));
  const auto allowance =
      milliseconds(std::llround(std::clamp(credit, 0.0, static_cast<double>(kLongest.count()))));
  return op.start + std::min(options.operation_deadline, kLongest) + allowance;
}

Error Client::Impl::deadline_error() const {
  const milliseconds base = std::min(options.operation_deadline, kLongest);
  const auto end = operation_end();
  const milliseconds allowed =
      end ? std::chrono::duration_cast<milliseconds>(*end - op.start) : base;
  std::string message = op.what + " did not finish within its deadline of " + seconds_text(allowed);
  if (allowed > base) {
    message += " (" + seconds_text(base) + ", plus " + seconds_text(allowed - base) + " for the " +
               std::to_string(op.received) + " octets received)";
  }
  return Error(errc::deadline_exceeded, std::move(message));
}

// How long the next wait may last: `most`, or less when the operation's
// deadline comes first. A wait outside an operation opens one.
Result<milliseconds> Client::Impl::io_wait(milliseconds most) {
  if (!op.open) open_operation(command_keyword(engine ? engine->pending_output() : ""));
  op.capped = false;
  const auto end = operation_end();
  if (!end) return most;
  const auto left = std::chrono::ceil<milliseconds>(*end - Clock::now());
  if (left <= milliseconds::zero()) return deadline_error();
  op.capped = left < most;
  return std::min(most, left);
}

// A timeout after a wait the deadline cut short is the deadline's.
Error Client::Impl::io_error(Error e) const {
  if (e.code != errc::timed_out || !op.capped) return e;
  return deadline_error();
}

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
