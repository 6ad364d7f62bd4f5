// The overall deadline of each operation (ClientOptions::operation_deadline).
// io_timeout bounds each read and write, and a server that sends one byte
// every few seconds never reaches it; this bounds the whole call. Every read
// and write of the Client asks io_wait() how long it may wait.
#include "deadline.hpp"
#include "pop3kit/text.hpp"

#include <algorithm>
#include <cmath>

namespace pop3kit {
namespace {

using Clock = std::chrono::steady_clock;
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

void Client::open_operation(std::string what) {
  op_.start = Clock::now();
  op_.received = 0;
  op_.what = std::move(what);
  op_.open = true;
}

// When the operation must end: its start, the base deadline, and the
// allowance for what it received so far. nullopt without a deadline.
std::optional<Clock::time_point> Client::operation_end() const noexcept {
  if (!op_.open || options_.operation_deadline <= milliseconds::zero()) return std::nullopt;
  const double credit = static_cast<double>(options_.deadline_per_mib.count()) *
                        (static_cast<double>(op_.received) / (1024.0 * 1024.0));
  const auto allowance =
      milliseconds(std::llround(std::clamp(credit, 0.0, static_cast<double>(kLongest.count()))));
  return op_.start + std::min(options_.operation_deadline, kLongest) + allowance;
}

Error Client::deadline_error() const {
  const milliseconds base = std::min(options_.operation_deadline, kLongest);
  const auto end = operation_end();
  const milliseconds allowed =
      end ? std::chrono::duration_cast<milliseconds>(*end - op_.start) : base;
  std::string message =
      op_.what + " did not finish within its deadline of " + seconds_text(allowed);
  if (allowed > base) {
    message += " (" + seconds_text(base) + ", plus " + seconds_text(allowed - base) + " for the " +
               std::to_string(op_.received) + " octets received)";
  }
  return Error(errc::deadline_exceeded, std::move(message));
}

// How long the next read or write may wait: `most`, or less when the
// operation's deadline comes first. The first read or write of an exchange
// outside any OperationScope opens the operation.
Result<milliseconds> Client::io_wait(milliseconds most) {
  if (!op_.open) open_operation(command_keyword(engine_ ? engine_->pending_output() : ""));
  op_.capped = false;
  const auto end = operation_end();
  if (!end) return most;
  const auto left = std::chrono::ceil<milliseconds>(*end - Clock::now());
  if (left <= milliseconds::zero()) return deadline_error();
  op_.capped = left < most;
  return std::min(most, left);
}

// A transport's timeout after a wait the operation's deadline cut short is
// reported as the deadline: what ran out was the operation's time, not the
// silence io_timeout allows.
Error Client::io_error(Error e) const {
  if (e.code != errc::timed_out || !op_.capped) return e;
  return deadline_error();
}

// After an event: an exchange outside any scope ends when nothing is
// outstanding or waiting to go out.
void Client::exchange_done() noexcept {
  if (op_.scopes == 0 && engine_->outstanding() == 0 && engine_->pending_output().empty()) {
    op_.open = false;
  }
}

// TCP: each address tried gets connect_timeout, and all of them together
// what is left of the operation's time.
Result<std::unique_ptr<net::TcpTransport>> Client::dial(std::string_view host, std::uint16_t port) {
  auto attempt = io_wait(options_.connect_timeout);
  if (!attempt) return std::move(attempt).error();
  const auto end = operation_end();
  const milliseconds total =
      end ? std::max(std::chrono::ceil<milliseconds>(*end - Clock::now()), milliseconds(1))
          : milliseconds::zero();
  auto t = net::connect_tcp(host, port, *attempt, options_.family, total);
  if (!t) return io_error(std::move(t).error());
  return t;
}

// The TLS handshake over `plain`, which gives up its connection, bounded
// as a read or write is.
Result<std::unique_ptr<net::TlsTransport>> Client::handshake(net::Transport& plain,
                                                             std::string_view host) {
  auto wait = io_wait();
  if (!wait) return std::move(wait).error();
  auto tls = plain.start_tls(host, options_.tls, *wait);
  if (!tls) return io_error(std::move(tls).error());
  return tls;
}

}  // namespace pop3kit
