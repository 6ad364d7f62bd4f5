// The operation deadline of the drivers (pop3kit/session_deadline.hpp): one
// bookkeeping for the blocking and the async client, so that both bound a
// call the same way and report it in the same words.
#include "pop3kit/session_deadline.hpp"

#include <algorithm>
#include <cmath>

#include "pop3kit/text.hpp"

namespace pop3kit::session {
namespace {

using std::chrono::milliseconds;

// Far beyond any real deadline, far below where time_point arithmetic
// overflows (about 292 years of nanoseconds).
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

void Deadline::open(std::string what, TimePoint now) {
  start_ = now;
  received_ = 0;
  what_ = std::move(what);
  open_ = true;
}

std::optional<Deadline::TimePoint> Deadline::end() const noexcept {
  if (!open_ || base_ <= milliseconds::zero()) return std::nullopt;
  const double credit =
      static_cast<double>(per_mib_.count()) * (static_cast<double>(received_) / (1024.0 * 1024.0));
  const auto allowance =
      milliseconds(std::llround(std::clamp(credit, 0.0, static_cast<double>(kLongest.count()))));
  return start_ + std::min(base_, kLongest) + allowance;
}

Error Deadline::error() const {
  const milliseconds base = std::min(base_, kLongest);
  const auto e = end();
  const milliseconds allowed = e ? std::chrono::duration_cast<milliseconds>(*e - start_) : base;
  std::string message = what_ + " did not finish within its deadline of " + seconds_text(allowed);
  if (allowed > base) {
    message += " (" + seconds_text(base) + ", plus " + seconds_text(allowed - base) + " for the " +
               std::to_string(received_) + " octets received)";
  }
  return Error(errc::deadline_exceeded, std::move(message));
}

Result<milliseconds> Deadline::wait(milliseconds most, TimePoint now,
                                    std::string_view pending_output) {
  if (!open_) open(command_keyword(pending_output), now);
  capped_ = false;
  const auto e = end();
  if (!e) return most;
  const auto left = std::chrono::ceil<milliseconds>(*e - now);
  if (left <= milliseconds::zero()) return error();
  capped_ = left < most;
  return std::min(most, left);
}

Error Deadline::wait_failed(Error e) const {
  if (e.code != errc::timed_out || !capped_) return e;
  return error();
}

}  // namespace pop3kit::session
