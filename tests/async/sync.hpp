// Runs one coroutine of the async client to its end on an io_context, so
// that a test reads like the blocking client's: auto r = sync(io, c.stat());
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "pop3kit/async.hpp"

namespace pop3kit::async::test {

template <typename T>
asio::awaitable<void> store(asio::awaitable<T> call, std::optional<T>* out) {
  out->emplace(co_await std::move(call));
}

template <typename T>
T sync(asio::io_context& io, asio::awaitable<T> call) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, store(std::move(call), &out),
                 [&failure](std::exception_ptr e) { failure = std::move(e); });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace pop3kit::async::test
