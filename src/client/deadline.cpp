// The overall deadline of each operation (ClientOptions::operation_deadline).
// io_timeout bounds each read and write, and a server that sends one byte
// every few seconds never reaches it; this bounds the whole call. Every read
// and write of the Client asks io_wait() how long it may wait. The
// bookkeeping is session::Deadline's, shared with the async client; the
// clock and the transports are the Client's.
#include "deadline.hpp"

#include <algorithm>

namespace pop3kit {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

// How long the next read or write may wait: `most`, or less when the
// operation's deadline comes first. The first read or write of an exchange
// outside any OperationScope opens the operation.
Result<milliseconds> Client::io_wait(milliseconds most) {
  return deadline_.wait(most, Clock::now(), engine_ ? engine_->pending_output() : "");
}

// After an event: an exchange outside any scope ends when nothing is
// outstanding or waiting to go out.
void Client::exchange_done() noexcept {
  if (scopes_ == 0 && engine_->outstanding() == 0 && engine_->pending_output().empty()) {
    deadline_.close();
  }
}

// TCP: each address tried gets connect_timeout, and all of them together
// what is left of the operation's time.
Result<std::unique_ptr<net::TcpTransport>> Client::dial(std::string_view host, std::uint16_t port) {
  auto attempt = io_wait(options_.connect_timeout);
  if (!attempt) return std::move(attempt).error();
  const auto end = deadline_.end();
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
