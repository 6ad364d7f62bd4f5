// Uses an installed pop3kit::async: a coroutine that connects to a port
// nobody listens on must get errc::connect_failed naming the address.
// Exit status 0 means it did.
#include <pop3kit/async.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdio>
#include <string>

namespace {

asio::awaitable<void> attempt(asio::any_io_executor executor, std::uint16_t port, int* status) {
  pop3kit::async::ClientOptions options;
  options.security = pop3kit::async::Security::plain;
  pop3kit::async::Client client(executor, options);
  auto r = co_await client.connect("127.0.0.1", port);
  if (!r && r.error().code == make_error_code(pop3kit::errc::connect_failed) &&
      r.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos) {
    *status = 0;
  } else {
    std::fprintf(stderr, "consumer_async: %s\n", r ? "connected" : r.error().message.c_str());
  }
}

}  // namespace

int main() {
  asio::io_context io;
  // A port that was free a moment ago: bound, then released.
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = probe.local_endpoint().port();
  probe.close();
  int status = 1;
  asio::co_spawn(io, attempt(io.get_executor(), port, &status), asio::detached);
  io.run();
  return status;
}
