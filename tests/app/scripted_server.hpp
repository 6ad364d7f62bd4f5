// The scripted loopback server (tests/support/script_server.hpp) with the
// step table the command tests are written in: for the cases a real Dovecot
// cannot be made to produce (UIDL refused, QUIT answered -ERR, [IN-USE], a
// malformed response, a silent server, control characters in server text).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/script_server.hpp"

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
  explicit ScriptedServer(const std::vector<Step>& steps) : server_(script(steps)) {}

  std::uint16_t port() const noexcept { return server_.port(); }
  /// Waits for the session to end, then returns the lines the client sent.
  std::vector<std::string> received() {
    wait();
    return lines_;
  }
  /// Waits for the session to end; "" or what went wrong (a line that did
  /// not match the script, a timeout).
  std::string error() {
    wait();
    return server_.problem();
  }

 private:
  static std::vector<ScriptServer::Step> script(const std::vector<Step>& steps) {
    std::vector<ScriptServer::Step> out;
    for (const Step& s : steps) {
      if (!s.expect.empty()) out.push_back(ScriptServer::expect(s.expect));
      if (!s.reply.empty()) out.push_back(ScriptServer::send(s.reply));
      if (s.close) out.push_back(ScriptServer::close());
    }
    out.push_back(ScriptServer::wait_close());
    return out;
  }
  void wait() {
    if (!done_) lines_ = server_.finish();
    done_ = true;
  }

  ScriptServer server_;
  std::vector<std::string> lines_;
  bool done_ = false;
};

}  // namespace pop3kit::test
