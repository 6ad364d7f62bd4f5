// The async client's runner: moves bytes between the socket (or its TLS
// stream) and a session operation until it is done, as Client::run does
// with its blocking transport. The policy is the operation's.
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "impl.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::async {
namespace {

using namespace std::chrono_literals;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

bool is_end_of_stream(const std::error_code& ec) {
  // A TLS close without close_notify counts as an end of stream: the engine
  // knows whether an answer was cut short.
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

bool would_block(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

void Client::Impl::close() noexcept {
  disarm();
  std::error_code ignored;
  if (tls) {
    // No close_notify: it would need a write nobody waits for. The blocking
    // client's is best effort too.
    tls->next_layer().close(ignored);
    tls.reset();
  }
  if (socket) {
    socket->close(ignored);
    socket.reset();
  }
  deadline.close();
}

// Before commands go out while none awaits an answer, the server must have
// said nothing (session::must_be_quiet(), as in the blocking client): a read
// that does not wait finds what has arrived.
Result<void> Client::Impl::check_quiet() {
  if (!session::must_be_quiet(*engine)) return {};
  if (auto e = session::buffered_unasked(*engine)) return fail(std::move(*e));
  char scratch[512];
  std::error_code ec;
  auto& s = lowest();
  s.non_blocking(true, ec);
  const std::size_t n =
      tls ? tls->read_some(asio::buffer(scratch), ec) : s.read_some(asio::buffer(scratch), ec);
  std::error_code ignored;
  s.non_blocking(false, ignored);
  if (would_block(ec)) return {};
  if (ec && !is_end_of_stream(ec)) {
    return fail(Error(errc::io_error, "reading from " + peer + ": " + ec.message()));
  }
  return fail(session::unasked_error(std::string_view(scratch, n)));
}

asio::awaitable<Result<void>> Client::Impl::flush() {
  if (cancelled) co_return cancelled_error();
  if (auto quiet = check_quiet(); !quiet) co_return quiet;
  while (!engine->pending_output().empty()) {
    auto wait = io_wait(options.io_timeout);
    if (!wait) co_return fail(std::move(wait).error());
    const std::string_view out = engine->pending_output();
    arm(*wait);
    std::error_code ec;
    std::size_t n = 0;
    if (tls) {
      std::tie(ec, n) = co_await tls->async_write_some(asio::buffer(out), kTuple);
    } else {
      std::tie(ec, n) = co_await socket->async_write_some(asio::buffer(out), kTuple);
    }
    disarm();
    if (cancelled) co_return cancelled_error();
    if (timed_out) {
      co_return fail(io_error(
          Error(errc::timed_out, "could not write to " + peer + " within " + seconds_text(*wait))));
    }
    if (ec) {
      co_return fail(
          Error(errc::connection_closed, "writing to " + peer + " failed: " + ec.message()));
    }
    engine->consume_output(n);
  }
  co_return Result<void>();
}

// Want::write_ready: over plain TCP, what the socket takes now, without
// waiting (as the blocking client). Over TLS a record cannot be half
// written and taken back, so everything goes, as for Want::write: the
// commands in flight (pipeline_window) then wait in the socket buffers,
// and a server that reads none of them for io_timeout is a timeout.
asio::awaitable<Result<void>> Client::Impl::write_ready() {
  if (tls || cancelled) co_return co_await flush();
  if (auto quiet = check_quiet(); !quiet) co_return quiet;
  std::error_code ec;
  socket->non_blocking(true, ec);
  while (!ec && !engine->pending_output().empty()) {
    const std::size_t n = socket->write_some(asio::buffer(engine->pending_output()), ec);
    if (!ec) engine->consume_output(n);
  }
  std::error_code ignored;
  if (socket) socket->non_blocking(false, ignored);
  if (ec && !would_block(ec)) {
    co_return fail(
        Error(errc::connection_closed, "writing to " + peer + " failed: " + ec.message()));
  }
  co_return Result<void>();
}

// One read into the engine, waiting at most `most`.
asio::awaitable<Result<void>> Client::Impl::receive(milliseconds most) {
  if (cancelled) co_return cancelled_error();
  auto wait = io_wait(most);
  if (!wait) co_return fail(std::move(wait).error());
  const std::span<char> space = engine->receive_space();
  arm(*wait);
  std::error_code ec;
  std::size_t n = 0;
  if (tls) {
    std::tie(ec, n) =
        co_await tls->async_read_some(asio::buffer(space.data(), space.size()), kTuple);
  } else {
    std::tie(ec, n) =
        co_await socket->async_read_some(asio::buffer(space.data(), space.size()), kTuple);
  }
  disarm();
  if (cancelled) co_return cancelled_error();
  if (timed_out) {
    co_return fail(io_error(
        Error(errc::timed_out, "no answer from " + peer + " within " + seconds_text(*wait))));
  }
  if (ec && !is_end_of_stream(ec)) {
    co_return fail(
        Error(errc::connection_closed, "reading from " + peer + " failed: " + ec.message()));
  }
  deadline.add_received(n);
  if (n == 0) {
    engine->receive_eof();
  } else {
    engine->commit_received(n);
  }
  co_return Result<void>();
}

asio::awaitable<Result<void>> Client::Impl::upgrade() {
  if (cancelled) co_return cancelled_error();
  auto r = co_await handshake(tls_host);
  if (!r) co_return fail(std::move(r).error());
  engine->set_tls_active();
  co_return Result<void>();
}

asio::awaitable<Result<void>> Client::Impl::run(session::Operation& o) {
  if (!connected() || !engine) co_return Error(errc::not_connected, "not connected");
  for (;;) {
    switch (o.resume(*engine)) {
      case session::Want::write: {
        auto r = co_await flush();
        if (!r) o.transport_failed(std::move(r).error());
        break;
      }
      case session::Want::write_ready: {
        auto r = co_await write_ready();
        if (!r) o.transport_failed(std::move(r).error());
        break;
      }
      case session::Want::read: {
        // A consumer that lags (the disk under a retrieval) holds the
        // reading back: the socket buffers fill and the server waits.
        if (read_gate) {
          co_await read_gate();
          // The session may have been cancelled meanwhile.
          if (cancelled) {
            o.transport_failed(cancelled_error());
            break;
          }
        }
        // After QUIT the close normally comes with the answer.
        auto r = co_await receive(o.closing() ? milliseconds(500ms) : options.io_timeout);
        if (!r) o.transport_failed(std::move(r).error());
        break;
      }
      case session::Want::start_tls: {
        auto r = co_await upgrade();
        if (!r) o.transport_failed(std::move(r).error());
        break;
      }
      case session::Want::done:
        if (o.closes_connection()) close();
        co_return o.outcome();
    }
  }
}

}  // namespace pop3kit::async
