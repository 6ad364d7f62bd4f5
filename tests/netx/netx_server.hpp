// A scripted POP3 server on loopback for the NetX API tests. It plays its
// script on the first connection: each send() is written as its own TCP
// segment (TCP_NODELAY), so a pause() between two sends makes the client see
// them in separate reads; expect() checks a line the client sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::netx_test {

class NetxServer {
 public:
  struct Step {
    enum Kind { send, expect, pause, close, expect_close } kind;
    std::string data;
    std::chrono::milliseconds duration{0};
  };
  static Step send(std::string bytes) { return {Step::send, std::move(bytes)}; }
  /// One line from the client must start with `prefix`.
  static Step expect(std::string prefix) { return {Step::expect, std::move(prefix)}; }
  static Step pause(int ms = 40) { return {Step::pause, {}, std::chrono::milliseconds(ms)}; }
  static Step close() { return {Step::close, {}}; }
  /// The client must close the connection without sending anything more.
  static Step expect_close() { return {Step::expect_close, {}}; }

  explicit NetxServer(std::vector<Step> script, bool ipv6 = false);
  ~NetxServer();
  NetxServer(const NetxServer&) = delete;
  NetxServer& operator=(const NetxServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// Waits for the script to end; "" when it ran as written, else the problem.
  std::string finish();
  /// Lines received from the client (without CRLF); call after finish().
  std::vector<std::string> received();

 private:
  void run();
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<Step> script_;
  std::vector<std::string> received_;
  std::string problem_;
  std::mutex mu_;
  std::thread thread_;
};

}  // namespace pop3kit::netx_test
