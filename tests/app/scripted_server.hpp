// Test helper: a one-connection POP3 server on loopback that follows a script.
//
// For the cases a real Dovecot cannot be made to produce: UIDL refused, QUIT
// answered -ERR, [IN-USE], a malformed response, a silent server, control
// characters in server text, NUL octets in a message.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::test {

struct Step {
  /// The client line this step waits for (compared up to its length; "" to
  /// send without waiting, as for the greeting).
  std::string expect;
  /// Bytes sent after it (CRLFs included); may be empty.
  std::string reply;
  /// Close the connection after the reply.
  bool close = false;
};

class ScriptedServer {
 public:
  /// Listens on 127.0.0.1 (free port) and serves one connection in a thread.
  /// After the last step it reads (and records) until the client closes.
  explicit ScriptedServer(std::vector<Step> steps);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// Waits for the session to end, then returns the lines the client sent.
  std::vector<std::string> received();
  /// Waits for the session to end; "" or what went wrong (a line that did
  /// not match the script, a timeout).
  std::string error();

 private:
  void serve();
  void join();

  std::vector<Step> steps_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> received_;
  std::string error_;
};

}  // namespace pop3kit::test
