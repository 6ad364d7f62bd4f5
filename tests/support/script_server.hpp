// A scripted POP3 server on loopback for faults a real server will not
// produce: it plays its script on the first connection, recording every line
// the client sends. Each send() goes out at once (TCP_NODELAY), so a sleep()
// between two sends makes the client see them in separate reads. Used by the
// client, command and NetX API tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pop3kit::test {

class ScriptServer {
 public:
  struct Step {
    enum Kind {
      send,
      expect,
      close,
      wait_close,
      sleep,
      quiet,
      serve_retr,
      start_tls,
      respond,
      expect_close,
      trickle,
      numbered,
      discard
    } kind;
    std::string data;  // bytes to send, or the prefix the received line must have
    std::chrono::milliseconds duration{0};
    std::uint64_t count = 0;
    std::function<std::string(const std::string&)> reply{};
  };
  static Step send(std::string bytes) { return {Step::send, std::move(bytes)}; }
  /// Reads one line (CRLF) from the client; records it; fails the script if
  /// it does not start with `prefix`.
  static Step expect(std::string prefix) { return {Step::expect, std::move(prefix)}; }
  static Step close() { return {Step::close, {}}; }
  /// Reads and records until the client closes.
  static Step wait_close() { return {Step::wait_close, {}}; }
  /// The client must close the connection without sending anything more.
  static Step expect_close() { return {Step::expect_close, {}}; }
  static Step sleep(std::chrono::milliseconds d) { return {Step::sleep, {}, d}; }
  /// Fails the script if the client sends anything within `d` (or already
  /// did): proves the client waits for an answer before its next command.
  static Step quiet(std::chrono::milliseconds d) { return {Step::quiet, {}, d}; }
  /// Sends `bytes` one octet at a time, `interval` apart: a server never
  /// silent for long enough to trip a read timeout. Stops once the client
  /// has closed the connection (what it sends meanwhile is kept for the
  /// next steps).
  static Step trickle(std::string bytes, std::chrono::milliseconds interval) {
    return {Step::trickle, std::move(bytes), interval};
  }

  /// Sends the lines "1<suffix>" .. "<count><suffix>" (each CRLF-ended),
  /// made in small batches so the server itself stays small however many;
  /// stops early once the client has closed the connection.
  static Step numbered(std::uint64_t count, std::string suffix) {
    return {Step::numbered, std::move(suffix), {}, count};
  }

  /// Drops whatever the client sent that the script has not read yet, as
  /// Courier does when its login process hands the connection to the mail
  /// process. The octets dropped are counted (discarded()).
  static Step discard() { return {Step::discard, {}}; }

  /// For i = 1..count: reads "RETR i", then answers with `body` as message i,
  /// before it reads the next command.
  static Step serve_retr(std::uint64_t count, std::string body) {
    return {Step::serve_retr, std::move(body), {}, count};
  }

  /// Reads one line (recorded) and sends what `fn` makes of it: for answers
  /// that depend on what the client sent (a SASL nonce).
  static Step respond(std::function<std::string(const std::string& line)> fn) {
    Step s{Step::respond, {}};
    s.reply = std::move(fn);
    return s;
  }

  /// Server side of a TLS handshake with the certificate given to the
  /// constructor; later steps go through TLS.
  static Step start_tls() { return {Step::start_tls, {}}; }

  /// Sets SO_RCVBUF on the listening socket before accepting (small buffers
  /// make a client that writes too much at once block).
  void set_receive_buffer(int bytes);
  /// Sets SO_SNDBUF on the listening socket before accepting.
  void set_send_buffer(int bytes);
  /// For start_tls, set before the client connects: the highest TLS version
  /// the server speaks (TLS1_2_VERSION, ...; 0 for OpenSSL's default), and a
  /// client certificate the server requires, verified against `ca_file`.
  void set_tls_max_version(int version);
  /// For start_tls: refuse the extended master secret (RFC 7627), as a TLS
  /// 1.2 server from before 2015 would.
  void disable_extended_master_secret();
  void require_client_certificate(std::string ca_file);
  /// The subject of the client's certificate after start_tls ("" for none).
  std::string client_subject();

  /// Listens on 127.0.0.1 (or ::1 with ipv6) on a free port and plays the
  /// script in a thread.
  explicit ScriptServer(std::vector<Step> script, bool ipv6 = false);
  /// With a certificate and key (PEM files) for start_tls steps.
  ScriptServer(std::vector<Step> script, std::string cert_file, std::string key_file);
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// Waits for the script to finish; returns the lines received (no CRLF).
  std::vector<std::string> finish();
  /// Most command octets serve_retr saw waiting unanswered (read ahead or
  /// still in its socket) when it was about to answer a command.
  std::size_t max_unanswered_bytes();
  /// The TLS channel-binding data as the server computes it (RFC 9266
  /// tls-exporter with TLS 1.3, RFC 5929 tls-server-end-point before), once
  /// start_tls has run; for respond() callbacks.
  std::string channel_binding();
  /// The data of one binding type as the server computes it, once start_tls
  /// has run: "tls-exporter" (TLS 1.3, or 1.2 with the extended master
  /// secret), "tls-server-end-point", or "tls-unique" (TLS 1.2: the first
  /// Finished of the handshake, the client's in a full one); "" when the
  /// type is unknown or undefined for the connection.
  std::string channel_binding(const std::string& type);
  /// Whether the TLS connection negotiated the extended master secret.
  bool extended_master_secret();
  /// Octets the discard() steps dropped.
  std::size_t discarded();
  /// Empty when the script ran as written, else what went wrong.
  std::string problem();

 private:
  void listen(bool ipv6);
  void run();
  std::string cert_file_, key_file_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<Step> script_;
  std::size_t discarded_ = 0;
  std::vector<std::string> received_;
  std::string problem_;
  std::size_t max_unanswered_ = 0;
  std::string channel_binding_;
  std::string tls_exporter_, tls_unique_, tls_server_end_point_;
  bool no_extended_master_secret_ = false;
  bool extended_master_secret_ = false;
  int tls_max_version_ = 0;
  std::string client_ca_file_;
  std::string client_subject_;
  std::mutex mu_;
  std::thread thread_;
};

}  // namespace pop3kit::test
