// A small stateful POP3 server on loopback for fault matrices: unlike the
// scripted server it keeps a maildrop across connections and answers
// whatever the client sends (CAPA, STLS, USER/PASS, AUTH PLAIN, STAT, LIST,
// UIDL, RETR, TOP, DELE, NOOP, RSET, QUIT), so that a whole `fetch --delete`
// session can run against it, be broken at any one line, and be run again.
//
// Deletions follow RFC 1939: they take effect only when QUIT is answered
// +OK (the maildrop is changed before that answer is written). A session
// that ends any other way changes nothing.
//
// One fault can be armed for the next session, counted in the lines the
// server writes in that session (1-based; the greeting is line 1):
//   cut    - close the connection right after line N;
//   stall  - after line N, write nothing more and only read until the
//            client goes away;
//   inject - write `extra` in the same write as line N, which must end a
//            response (see Session::response_ends), then go on normally.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::test {

struct ModelMessage {
  std::string uid;
  std::string text;  ///< The message with CRLF line ends, not dot-stuffed.
};

enum class ModelFault { none, cut, stall, inject };

struct ModelOptions {
  std::string user = "u";
  std::string password = "p";
  /// PEM files for STLS; empty: STLS is not offered.
  std::string cert_file, key_file;
  bool pipelining = true;
  /// Behave as Courier does: list "UTF8 USER"; drop whatever the client
  /// sent behind the command that completed the login (its login process
  /// hands over to the mail process then); and, until the client has sent
  /// UTF8, send a message whose header has a non-ASCII octet wrapped in a
  /// generated multipart ("Cannot display Unicode content", the original as
  /// a message/global part) whose boundary changes on every RETR.
  bool courier = false;
};

class ModelServer {
 public:
  /// Listens on 127.0.0.1 (a free port) and serves connections one after
  /// another in a thread until destroyed.
  ModelServer(std::vector<ModelMessage> maildrop, ModelOptions options);
  ~ModelServer();
  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  /// Replaces the maildrop (between sessions).
  void reset(std::vector<ModelMessage> maildrop);
  /// Arms a fault for the next session only (see the file comment).
  void arm(ModelFault fault, std::size_t after_line, std::string extra = "+OK unsolicited\r\n");

  /// From now on, QUIT is answered "-ERR some deleted messages not
  /// removed" and nothing is committed (RFC 1939 allows it), or again +OK.
  void set_quit_fails(bool fails) { quit_fails_ = fails; }

  /// Waits until every session that was accepted has ended (up to 30 s).
  void wait_idle();
  /// The maildrop now (after wait_idle(), as committed).
  std::vector<ModelMessage> maildrop();
  /// A response's last line, and whether the client had already sent its
  /// next command when the response was written (pipelining): an extra line
  /// there is read as the start of the next answer, and only a line that
  /// arrives while the client waits is unsolicited to the client.
  struct ResponseEnd {
    std::size_t line = 0;
    bool pipelined = false;
  };
  /// Lines written, and the ends of the responses, in the last session that
  /// ended.
  std::size_t last_lines();
  std::vector<ResponseEnd> last_response_ends();
  /// Sessions that ended with QUIT answered +OK (deletions committed).
  std::size_t commits();

 private:
  struct Session;
  void run();
  void serve(int fd);

  ModelOptions options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable idle_;
  std::vector<ModelMessage> maildrop_;
  ModelFault fault_ = ModelFault::none;
  std::size_t fault_line_ = 0;
  std::string extra_;
  bool busy_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> quit_fails_{false};
  std::size_t last_lines_ = 0;
  std::vector<ResponseEnd> last_ends_;
  std::size_t commits_ = 0;
  std::thread thread_;
};

}  // namespace pop3kit::test
