#include "tls_errors.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "pop3kit/text.hpp"

namespace pop3kit::net::detail {
namespace {

// The names RFC 8446 and RFC 5246 give the handshake messages.
std::string message_name(int type) {
  switch (type) {
    case SSL3_MT_HELLO_REQUEST:
      return "HelloRequest";
    case SSL3_MT_CLIENT_HELLO:
      return "ClientHello";
    case SSL3_MT_SERVER_HELLO:
      return "ServerHello";
    case SSL3_MT_NEWSESSION_TICKET:
      return "NewSessionTicket";
    case SSL3_MT_END_OF_EARLY_DATA:
      return "EndOfEarlyData";
    case SSL3_MT_ENCRYPTED_EXTENSIONS:
      return "EncryptedExtensions";
    case SSL3_MT_CERTIFICATE:
      return "Certificate";
    case SSL3_MT_SERVER_KEY_EXCHANGE:
      return "ServerKeyExchange";
    case SSL3_MT_CERTIFICATE_REQUEST:
      return "CertificateRequest";
    case SSL3_MT_SERVER_DONE:
      return "ServerHelloDone";
    case SSL3_MT_CERTIFICATE_VERIFY:
      return "CertificateVerify";
    case SSL3_MT_CLIENT_KEY_EXCHANGE:
      return "ClientKeyExchange";
    case SSL3_MT_FINISHED:
      return "Finished";
    case SSL3_MT_CERTIFICATE_STATUS:
      return "CertificateStatus";
    case SSL3_MT_KEY_UPDATE:
      return "KeyUpdate";
    default:
      return "handshake message " + std::to_string(type);
  }
}

void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                void* arg) {
  if (arg == nullptr || len == 0) return;
  auto* trace = static_cast<HandshakeTrace*>(arg);
  if (content_type == SSL3_RT_ALERT && write_p == 0) trace->alert_received = true;
  // Record headers and TLS 1.3 inner content types come through here too.
  if (content_type != SSL3_RT_HANDSHAKE) return;
  const int type = *static_cast<const unsigned char*>(buf);
  if (write_p == 1) {
    trace->last_sent = type;
  } else {
    trace->last_received = type;
    if (type == SSL3_MT_CERTIFICATE) trace->server_certificate = true;
  }
  trace->last_was_sent = write_p == 1;
}

// Where the handshake stopped: "after the client's ClientHello, before any
// answer", "after the server's ServerHello, before the server's certificate".
std::string position(const HandshakeTrace& t) {
  if (t.last_sent < 0 && t.last_received < 0) return "before the client's ClientHello";
  if (t.last_received < 0) {
    return "after the client's " + message_name(t.last_sent) +
           (t.alert_received ? "" : ", before any answer");
  }
  std::string s = t.last_was_sent ? "after the client's " + message_name(t.last_sent)
                                  : "after the server's " + message_name(t.last_received);
  if (!t.server_certificate) s += ", before the server's certificate";
  return s;
}

// A server that answered the ClientHello with something that is no TLS
// record: what it sent, and a hint when that is a POP3 greeting.
std::string not_tls(const HandshakeTrace& t, const char* openssl_says) {
  std::string s = "the server did not answer with TLS";
  std::string_view first = t.first_octets;
  first = first.substr(0, first.find_first_of("\r\n"));
  if (!first.empty()) {
    s += " but sent '" + sanitize(first, 60) + "'";
    if (first.starts_with("+OK") || first.starts_with("-ERR")) {
      s += ", a plain POP3 greeting: it may expect STLS, as on port 110, rather than implicit TLS";
    }
  }
  if (openssl_says != nullptr) s += std::string(" (OpenSSL: ") + openssl_says + ")";
  return s;
}

// What a certificate names, for a host name or address it does not match.
struct CertNames {
  bool has_san = false;
  std::vector<std::string> names;  // "DNS:x", "IP:y", in certificate order
  std::size_t ips = 0;
  bool has_cn = false;
  std::string cn;  // sanitized
};

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const int len = ASN1_STRING_length(ip);
  char buf[INET6_ADDRSTRLEN] = {};
  if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip),
                                           buf, sizeof buf) == nullptr) {
    return "(" + std::to_string(len) + " octets)";
  }
  return buf;
}

CertNames cert_names(X509* cert) {
  CertNames n;
  auto* san =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (san != nullptr) {
    n.has_san = true;
    for (int i = 0; i < sk_GENERAL_NAME_num(san); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(san, i);
      if (g->type == GEN_DNS) {
        const ASN1_IA5STRING* dns = g->d.dNSName;
        const std::string_view v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                 static_cast<std::size_t>(ASN1_STRING_length(dns)));
        n.names.push_back("DNS:" + sanitize(v, 80));
      } else if (g->type == GEN_IPADD) {
        n.names.push_back("IP:" + ip_text(g->d.iPAddress));
        ++n.ips;
      }
    }
    GENERAL_NAMES_free(san);
  }
  // The last CN is the one OpenSSL matches a host name against.
  const X509_NAME* subject = X509_get_subject_name(cert);
  int last = -1;
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;)
    last = i;
  if (last >= 0) {
    unsigned char* utf8 = nullptr;
    const int len =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
    if (len >= 0) {
      n.has_cn = true;
      n.cn = sanitize(
          std::string_view(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len)), 80);
    }
    OPENSSL_free(utf8);
  }
  return n;
}

// "DNS:a, DNS:b, IP:c and 2 more": the first few only.
std::string name_list(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 4;
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
    if (i != 0) s += ", ";
    s += names[i];
  }
  if (names.size() > shown) s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

// After "the certificate is not for 'host'": what it is for.
std::string what_it_names(X509* cert, std::string_view host, bool ip) {
  if (cert == nullptr) return "";
  const CertNames n = cert_names(cert);
  if (!n.has_san) {
    const std::string cn = n.has_cn ? ", only the CN '" + n.cn + "'" : " and no CN";
    if (ip) {
      return "; it names no IP address: it has no subjectAltName" + cn +
             (n.has_cn ? ", and a CN is never matched against an IP address" : "");
    }
    return "; it has no subjectAltName" + cn;
  }
  if (n.names.empty()) {
    return ip ? "; it names no IP address: its subjectAltName holds no names or addresses"
              : "; its subjectAltName holds no host names";
  }
  if (ip && n.ips == 0) return "; it names no IP address, only " + name_list(n.names);
  std::string s = "; it names " + name_list(n.names);
  // OpenSSL, like browsers, reads the CN only when there is no subjectAltName.
  if (!ip && n.has_cn && iequals(n.cn, host)) {
    s += " (its CN '" + n.cn + "' does not count when there is a subjectAltName)";
  }
  return s;
}

}  // namespace

void HandshakeTrace::received(const char* data, std::size_t n) {
  if (first_octets.size() < first_octets_kept) {
    first_octets.append(data, std::min(n, first_octets_kept - first_octets.size()));
  }
}

void trace_handshake(SSL* ssl, HandshakeTrace* trace) {
  SSL_set_msg_callback(ssl, trace != nullptr ? on_message : nullptr);
  SSL_set_msg_callback_arg(ssl, trace);
}

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "no further detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Error handshake_error(int ssl_error, const HandshakeTrace& trace, const std::string& peer) {
  const std::string head = "TLS handshake with " + peer + " failed: ";
  const unsigned long e = ERR_peek_error();
  const bool ssl_lib = ERR_GET_LIB(e) == ERR_LIB_SSL;
  const int reason = ERR_GET_REASON(e);
  // What OpenSSL says of a first record that is not TLS at all.
  if (ssl_lib && trace.last_received < 0 &&
      (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
       reason == SSL_R_UNKNOWN_PROTOCOL)) {
    const std::string text = not_tls(trace, ERR_reason_error_string(e));
    ERR_clear_error();
    return Error(errc::tls_failed, head + text);
  }
  // A connection that ends mid-handshake (EOF, reset) is a network fault
  // worth retrying, not a TLS incompatibility: report it as such.
  const int sys = ssl_error == SSL_ERROR_SYSCALL ? trace.socket_error : 0;
  const bool eof =
      (ssl_error == SSL_ERROR_SYSCALL && (e == 0 || sys == ECONNRESET || sys == EPIPE)) ||
      (ssl_lib && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (eof) {
    ERR_clear_error();
    std::string what = "the server closed the connection ";
    if (sys == ECONNRESET) {
      what = "the server reset the connection ";
    } else if (sys != 0 && sys != EPIPE) {
      what = "the connection failed (" + std::string(std::strerror(sys)) + ") ";
    }
    return Error(errc::connection_closed, head + what + position(trace));
  }
  return Error(errc::tls_failed, head + openssl_reason() + " (" + position(trace) + ")");
}

std::string verify_reason(long code, const CertificateInfo& info, X509* cert, std::string_view host,
                          bool ip) {
  switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the certificate expired on " + info.not_after;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the certificate is not valid before " + info.not_before;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "the certificate is self-signed and not trusted";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "the certificate was issued by an unknown authority (" + info.issuer + ")";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "host name mismatch: the certificate is not for '" + sanitize(host, 100) + "'" +
             what_it_names(cert, host, ip);
    default:
      return std::string("certificate verification failed: ") + X509_verify_cert_error_string(code);
  }
}

}  // namespace pop3kit::net::detail
