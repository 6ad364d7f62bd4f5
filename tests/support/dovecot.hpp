// Test support: a throwaway Dovecot POP3 server for interop tests.
//
// DovecotServer runs scripts/dovecot-sandbox in a fresh temporary directory:
// its own users, maildirs, config and log, on a free loopback port. The
// destructor stops it and removes the directory. A watchdog process stops the
// server and removes the directory too if the test process dies without
// running the destructor (crash, abort, ctest timeout).
//
// With a ServerCert other than none the server also speaks TLS: STLS on port() and
// implicit TLS on tls_port(), with a certificate made by TestCerts (good or
// deliberately bad). The PEM files it needs to be trusted (the test CA, the
// CA of the "unknown" authority, the served certificate) are copied into
// dir()/tls, so a test, or a command it runs, can name them as files.
//
// Tests must not skip when Dovecot cannot start: DovecotServer::start()
// returns the reason (with the tail of Dovecot's log) and the test fails.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pop3kit::test {

struct MailUser {
  std::string name;
  std::string password;
};

/// The certificate a sandbox serves (TestCerts names them the same way).
enum class ServerCert {
  none,           ///< No TLS at all: ssl = no, no STLS, no TLS port.
  good,           ///< localhost, 127.0.0.1, ::1; issued by the test CA.
  expired,        ///< By the test CA, expired yesterday.
  not_yet_valid,  ///< By the test CA, valid from 30 days on.
  self_signed,    ///< localhost, signed by its own key.
  wrong_host,     ///< By the test CA for mail.example.org and *.example.org.
  unknown_ca,     ///< localhost, issued by another CA (other_ca_file()).
};

/// TestCerts' name of `cert` ("good", "expired", ...); "none" for none.
const char* to_string(ServerCert cert) noexcept;

class DovecotServer {
 public:
  /// Starts a server with `users` (default: demo / demo-password). On failure
  /// returns nullptr and sets `*error` to a message with the log tail. Any
  /// `tls` but none turns TLS on, serving that certificate. A `max_clients`
  /// above 0 raises Dovecot's limits to take that many sessions at once
  /// (dovecot-sandbox --max-clients).
  static std::unique_ptr<DovecotServer> start(std::vector<MailUser> users, std::string* error,
                                              ServerCert tls = ServerCert::none,
                                              int max_clients = 0);

  ~DovecotServer();
  DovecotServer(const DovecotServer&) = delete;
  DovecotServer& operator=(const DovecotServer&) = delete;

  /// The plain POP3 port (offers STLS when TLS is on).
  std::uint16_t port() const noexcept { return port_; }
  /// The implicit TLS (pop3s) port; 0 without TLS.
  std::uint16_t tls_port() const noexcept { return tls_port_; }
  /// The certificate served, ServerCert::none without TLS.
  ServerCert server_cert() const noexcept { return cert_; }
  /// PEM files in dir()/tls (empty paths without TLS): the test CA, which
  /// issued good, expired, not_yet_valid and wrong_host; the CA that issued
  /// unknown_ca; and the certificate the server presents.
  std::filesystem::path ca_file() const;
  std::filesystem::path other_ca_file() const;
  std::filesystem::path cert_file() const;
  /// The sandbox directory (config, log, maildirs).
  const std::filesystem::path& dir() const noexcept { return dir_; }
  /// USER's Maildir.
  std::filesystem::path maildir(std::string_view user) const;

  /// Stores `bytes` byte for byte as a new message of `user` and returns the
  /// file's path. Messages get message numbers in the order they are added.
  /// Throws std::runtime_error on failure.
  std::filesystem::path add_message(std::string_view user, std::string_view bytes);
  /// Same with the content of an existing file (for large messages).
  std::filesystem::path add_message_file(std::string_view user, const std::filesystem::path& file);

  /// Message files still in `user`'s maildir (new/ and cur/), sorted.
  std::vector<std::filesystem::path> message_files(std::string_view user) const;

  /// Removes every message of `user` from the maildir (new/, cur/, tmp/), so
  /// that tests sharing one server each start from an empty maildrop.
  void clear_messages(std::string_view user);

  /// The last `lines` lines of Dovecot's log, for failure messages.
  std::string log_tail(int lines = 30) const;

  /// Path of scripts/dovecot-sandbox (POP3KIT_DOVECOT_SANDBOX overrides).
  static std::string script();

 private:
  DovecotServer() = default;
  void stop() noexcept;

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  ServerCert cert_ = ServerCert::none;
  int watchdog_fd_ = -1;  // write end of the watchdog's pipe
  int watchdog_pid_ = -1;
  bool running_ = false;
};

/// What Dovecot (maildir) sends for a message stored as `file`, after
/// dot-unstuffing and without the terminating ".CRLF": every LF not preceded
/// by CR becomes CRLF (CRLF and a lone CR are kept), and CRLF is appended if
/// the result does not end with CRLF (so an empty file gives "\r\n").
std::string dovecot_retr_body(std::string_view file);

/// The size LIST reports for a message stored as `file`: the length after the
/// LF to CRLF conversion, without the CRLF Dovecot appends to a message that
/// does not end with a line end.
std::uint64_t dovecot_list_size(std::string_view file);

/// A minimal blocking POP3 connection over a raw socket, independent of the
/// library, to check the server and the fixture on their own.
class RawPop3 {
 public:
  /// Connects to 127.0.0.1:port; throws std::runtime_error on failure.
  explicit RawPop3(std::uint16_t port, int timeout_ms = 10'000);
  ~RawPop3();
  RawPop3(const RawPop3&) = delete;
  RawPop3& operator=(const RawPop3&) = delete;

  /// Sends `line` + CRLF.
  void send(std::string_view line);
  /// One line without its CRLF. Throws on timeout or close.
  std::string line();
  /// Sends `command` and returns the first line of the answer.
  std::string command(std::string_view command) {
    send(command);
    return line();
  }
  /// The rest of a multi-line answer, dot-unstuffed, lines joined with CRLF,
  /// without the terminating ".CRLF".
  std::string multiline();
  /// Closes the connection without QUIT.
  void close() noexcept;

 private:
  int fd_ = -1;
  int timeout_ms_;
  std::string buf_;
};

}  // namespace pop3kit::test
