/// pop3kit — TLS over a TCP connection (OpenSSL 3).
///
/// Used for implicit TLS (pops://, port 995) and after STLS. Verification is
/// strict by default: the chain must lead to a trusted authority and the
/// certificate must name the host (subjectAltName; a "*" only as the whole
/// left-most label). Pinning by SHA-256 fingerprint adds a check, or replaces
/// the other checks when `pins_replace_ca` says so. TLS 1.2 is the minimum.
/// These checks, the channel binding and the certificate description are
/// functions on an OpenSSL connection (pop3kit/tls_policy.hpp) that any other
/// driver of OpenSSL can apply too; TlsTransport runs them around its
/// handshake over a socket.
///
/// @file
/// @ingroup transport
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/channel_binding.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/transport.hpp"

namespace pop3kit::net {

/// Lowest TLS version accepted.
enum class TlsVersion : std::uint8_t {
  tls1_2,  ///< TLS 1.2 (RFC 5246).
  tls1_3,  ///< TLS 1.3 (RFC 8446).
};

/// Certificate checks and client certificate of a TLS connection.
struct POP3KIT_EXPORT TlsOptions {
  /// Trust these authorities instead of the system store (PEM file / hashed directory).
  std::string ca_file;
  std::string ca_dir;  ///< See ca_file: a directory of hashed certificates.
  /// Client certificate and key (PEM), for servers that ask (SASL EXTERNAL).
  std::string client_cert_file;
  std::string client_key_file;  ///< The key of client_cert_file (PEM).
  /// SHA-256 fingerprints, hex (colons allowed, any case): "cert:HEX" pins
  /// the certificate, "spki:HEX" its public key; a bare HEX is "cert:".
  std::vector<std::string> pins;
  /// When true and pins are given, a matching pin is enough: it replaces the
  /// authority, name and date checks (it names this very certificate or key;
  /// for self-signed servers). Otherwise pins are checked on top of them.
  bool pins_replace_ca = false;
  TlsVersion min_version = TlsVersion::tls1_2;  ///< Lowest version accepted.
};

/// What the server's certificate says, for messages and `pop3kit capa`.
struct POP3KIT_EXPORT CertificateInfo {
  std::string subject;      ///< The subject's distinguished name, one line.
  std::string issuer;       ///< The issuer's distinguished name, one line.
  std::string not_before;   ///< "2026-11-26 03:51:36 UTC"
  std::string not_after;    ///< Same form as not_before.
  std::string sha256;       ///< Of the DER certificate, "AB:CD:..."
  std::string spki_sha256;  ///< Of the DER SubjectPublicKeyInfo (RFC 7469), "AB:CD:..."
};

/// Channel-binding data for SASL -PLUS mechanisms, and its type name
/// (pop3kit/channel_binding.hpp, shared with the SASL mechanisms).
using ChannelBinding = pop3kit::ChannelBinding;

/// A TLS session over a TCP connection.
class POP3KIT_EXPORT TlsTransport final : public Transport {
 public:
  /// Performs the handshake as a client of `host` (SNI, host name check) within
  /// `timeout`. Errors: errc::certificate_invalid with the reason in words
  /// (expired, not yet valid, self-signed, unknown issuer, host name mismatch
  /// with what the certificate names instead, pin mismatch) plus the
  /// certificate's subject and SHA-256 fingerprint; errc::connection_closed
  /// when the server closes or resets the connection mid-handshake (saying
  /// after which handshake message); errc::tls_failed for a failed handshake
  /// (with OpenSSL's reason, or what a server that does not speak TLS sent);
  /// errc::timed_out; errc::invalid_argument for unreadable option files.
  static Result<std::unique_ptr<TlsTransport>> handshake(std::unique_ptr<TcpTransport> tcp,
                                                         std::string_view host,
                                                         const TlsOptions& options,
                                                         std::chrono::milliseconds timeout);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds timeout) override;
  Result<std::size_t> write_some(std::string_view data, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  std::string peer() const override;

  /// The server's certificate, as checked by the handshake.
  const CertificateInfo& certificate() const noexcept;
  /// "TLSv1.3", and the cipher suite name.
  std::string version() const;
  /// The cipher suite's name ("TLS_AES_256_GCM_SHA384").
  std::string cipher() const;
  /// Channel-binding data and its type name.
  using ChannelBinding = net::ChannelBinding;
  /// The data of the type this connection binds with by default
  /// (default_channel_binding_type()). Errors as channel_binding(type).
  Result<ChannelBinding> channel_binding() const;
  /// The data of one type, "tls-exporter", "tls-unique" or
  /// "tls-server-end-point": tls::channel_binding() on this connection (see
  /// pop3kit/tls_policy.hpp for what each holds, when each is available,
  /// and the errors).
  Result<ChannelBinding> channel_binding(std::string_view type) const;
  /// "tls-exporter" with TLS 1.3; with TLS 1.2 "tls-unique" when the
  /// extended master secret was negotiated, else "tls-server-end-point"
  /// (tls::default_channel_binding_type()).
  std::string default_channel_binding_type() const;
  /// Whether the extended master secret (RFC 7627) was negotiated: true
  /// with TLS 1.3, where the key schedule always includes the handshake.
  bool extended_master_secret() const noexcept;

  struct Impl;

 private:
  explicit TlsTransport(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pop3kit::net
