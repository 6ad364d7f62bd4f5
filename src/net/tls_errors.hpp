// Failed TLS handshakes and certificate checks in words, for
// net::TlsTransport and the policy functions of pop3kit/tls_policy.hpp:
// which handshake message a cut connection came after,
// what a server that does not speak TLS sent, and what a certificate that
// does not name the host holds instead.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/tls.hpp"

namespace pop3kit::net::detail {

/// OpenSSL's first queued error as text ("no further detail" when there is
/// none); the queue is cleared.
std::string openssl_reason();

/// What a handshake got to: the handshake messages OpenSSL's message
/// callback reported (types as SSL3_MT_*), and what the socket saw.
struct HandshakeTrace {
  static constexpr std::size_t first_octets_kept = 64;
  int last_sent = -1;  ///< -1 until the first message
  int last_received = -1;
  bool last_was_sent = false;
  bool server_certificate = false;  ///< the server's Certificate came
  bool alert_received = false;
  std::string first_octets;  ///< the first octets the server sent
  int socket_error = 0;      ///< errno of the last failed recv/send

  /// Keeps the start of what the server sent (called by the socket BIO).
  void received(const char* data, std::size_t n);
};

/// Makes OpenSSL report the handshake messages of `ssl` to `trace`; with a
/// null trace, stops.
void trace_handshake(SSL* ssl, HandshakeTrace* trace);

/// The error for an SSL_connect that failed with `ssl_error`
/// (SSL_get_error), from OpenSSL's error queue (cleared) and the trace:
/// errc::connection_closed when the server closed or reset the connection,
/// errc::tls_failed otherwise (with a server that answered in plain text
/// named as such).
Error handshake_error(int ssl_error, const HandshakeTrace& trace, const std::string& peer);

/// Why the certificate failed verification with `code`, in words. For a host
/// name or address mismatch: what the certificate names instead.
std::string verify_reason(long code, const CertificateInfo& info, X509* cert, std::string_view host,
                          bool ip);

}  // namespace pop3kit::net::detail
