// The scripted loopback server (tests/support/script_server.hpp) in the
// terms the NetX API tests use: pause() between sends makes the client see
// them in separate reads, finish() returns the problem ("" when the script
// ran as written) and received() the lines the client sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/script_server.hpp"

namespace pop3kit::netx_test {

class NetxServer {
 public:
  using Step = test::ScriptServer::Step;
  static Step send(std::string bytes) { return test::ScriptServer::send(std::move(bytes)); }
  /// One line from the client must start with `prefix`.
  static Step expect(std::string prefix) { return test::ScriptServer::expect(std::move(prefix)); }
  static Step pause(int ms = 40) {
    return test::ScriptServer::sleep(std::chrono::milliseconds(ms));
  }
  static Step close() { return test::ScriptServer::close(); }
  /// The client must close the connection without sending anything more.
  static Step expect_close() { return test::ScriptServer::expect_close(); }

  explicit NetxServer(std::vector<Step> script, bool ipv6 = false)
      : server_(std::move(script), ipv6) {}

  std::uint16_t port() const { return server_.port(); }
  /// Waits for the script to end; "" when it ran as written, else the problem.
  std::string finish() {
    lines_ = server_.finish();
    return server_.problem();
  }
  /// Lines received from the client (without CRLF); call after finish().
  std::vector<std::string> received() const { return lines_; }

 private:
  test::ScriptServer server_;
  std::vector<std::string> lines_;
};

}  // namespace pop3kit::netx_test
