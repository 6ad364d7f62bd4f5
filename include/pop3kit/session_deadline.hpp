/// pop3kit — the deadline of each operation, as every driver keeps it.
///
/// io_timeout bounds each read and write of a driver, and a server that
/// sends one byte every few seconds never reaches it; the operation's
/// deadline (pop3kit::ClientOptions::operation_deadline and
/// deadline_per_mib) bounds the whole call. session::Deadline is that
/// bookkeeping, once for every driver: when the operation started, what it
/// received, how long the next wait may last, and the error when the time
/// is up. Like the rest of the session layer it reads no clock: the driver
/// passes the time (its steady clock's reading) to every call that needs it,
/// and keeps its own timers and sockets.
///
/// A driver asks it before each wait and tells it what came:
///
///     auto wait = deadline.wait(options.io_timeout, Clock::now(), engine.pending_output());
///     if (!wait) return fail(std::move(wait).error());  // errc::deadline_exceeded
///     auto n = transport.read_some(space, *wait);         // waits at most *wait
///     if (!n) return fail(deadline.wait_failed(std::move(n).error()));
///     deadline.add_received(*n);
///
/// The operation's budget is
///
///     operation_deadline + deadline_per_mib * (octets received in it) / 2^20
///
/// from its start; operation_deadline zero (or negative) means no deadline.
///
/// @file
/// @ingroup session
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::session {

/// The deadline of the operation under way in one session. An operation is
/// opened by the driver (open(): a call made of several exchanges, named by
/// the caller) or by the first wait outside one (wait(): named by the
/// command waiting to go out), and closed by the driver (close()). Copyable
/// and movable; it holds no reference to anything.
///
/// Errors: errc::deadline_exceeded, with the message
/// "WHAT did not finish within its deadline of N s", followed, when what was
/// received added time, by " (BASE s, plus CREDIT s for the N octets
/// received)". WHAT is the operation's name: the driver's (e.g. "login",
/// "connecting to host:110") or a command's keyword ("RETR"), never more of
/// a command line, which may carry a secret.
class POP3KIT_EXPORT Deadline {
 public:
  /// The driver's clock readings (std::chrono::steady_clock's).
  using TimePoint = std::chrono::steady_clock::time_point;

  /// `operation_deadline`: the base budget of each operation, zero or
  /// negative for none; `per_mib`: the time added per MiB received (negative
  /// counts as zero). Durations beyond about a century count as a century,
  /// so no sum overflows. No operation is open.
  Deadline(std::chrono::milliseconds operation_deadline, std::chrono::milliseconds per_mib) noexcept
      : base_(operation_deadline), per_mib_(per_mib) {}

  /// Opens an operation named `what` (see the class) that started at `now`:
  /// its budget starts again and nothing has been received in it.
  void open(std::string what, TimePoint now);
  /// Closes the operation: waits are unbounded by it until the next opens.
  void close() noexcept { open_ = false; }
  /// True while an operation is open.
  bool is_open() const noexcept { return open_; }

  /// Counts `octets` received in the open operation: each MiB adds per_mib
  /// to its budget.
  void add_received(std::uint64_t octets) noexcept { received_ += octets; }
  /// Octets received in the operation (opened last).
  std::uint64_t received() const noexcept { return received_; }

  /// When the open operation must end: its start, the base budget and the
  /// time added for what it received so far. nullopt when no operation is
  /// open or there is no deadline.
  std::optional<TimePoint> end() const noexcept;

  /// How long the next wait may last at `now`: `most`, or less when the
  /// operation's end comes first (rounded up to the millisecond). Without
  /// an open operation it opens one, named by the keyword of the first
  /// command in `pending_output` (the engine's pending output), or "reading
  /// the server's answer" when none is known. The deadline already passed:
  /// error(). Remembers whether the deadline cut the wait short, for
  /// wait_failed().
  Result<std::chrono::milliseconds> wait(std::chrono::milliseconds most, TimePoint now,
                                         std::string_view pending_output = {});

  /// The error of a wait that failed with `e`: a timeout (errc::timed_out)
  /// after a wait the deadline cut short is error(), since what ran out was
  /// the operation's time, not the silence io_timeout allows; any other
  /// error is `e`, unchanged.
  Error wait_failed(Error e) const;

  /// The operation's errc::deadline_exceeded error (see the class).
  Error error() const;

 private:
  TimePoint start_{};
  std::chrono::milliseconds base_;
  std::chrono::milliseconds per_mib_;
  std::uint64_t received_ = 0;
  std::string what_;
  bool open_ = false;
  bool capped_ = false;  // the last wait was cut short by the deadline
};

}  // namespace pop3kit::session
