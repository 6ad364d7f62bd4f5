/// pop3kit — the TLS policy on an OpenSSL connection, whatever carries it.
///
/// These functions are what net::TlsTransport does around its handshake,
/// taken apart so that any driver of an OpenSSL `SSL*` applies the same
/// rules: a blocking socket, memory BIOs, or an asio::ssl::stream (whose
/// native_handle() is the SSL*, and whose context's native_handle() the
/// SSL_CTX*). They touch no socket and read no clock; the certificate
/// functions read only what the handshake left in the SSL object.
///
/// A client connection goes through them in this order:
///
///   SSL_CTX* ctx = ...;                          // TLS_client_method()
///   tls::configure_context(ctx, options);        // once per context
///   SSL* ssl = SSL_new(ctx);
///   tls::configure_connection(ssl, host);        // SNI, the name to match
///   ... the handshake, driven by the caller ...
///   auto info = tls::check_peer(ssl, host, options);   // chain, name, pins
///   if (!info) -> close without sending a byte
///   auto cb = tls::channel_binding(ssl, tls::default_channel_binding_type(ssl));
///
/// The handshake completes whatever the server's chain looks like (the
/// context accepts it, and OpenSSL records its verdict): check_peer() judges
/// it afterwards, so that the error can describe the certificate and a pin
/// can stand in for an authority. Nothing may be sent or believed before
/// check_peer() has succeeded.
///
/// None of these functions keeps a pointer to its arguments. Each clears
/// OpenSSL's error queue of what it read.
///
/// @file
/// @ingroup transport
#pragma once

#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/tls.hpp"

// OpenSSL's handle types, declared as <openssl/types.h> declares them, so
// that this header needs no OpenSSL include path of its users.
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_st X509;

namespace pop3kit::net::tls {

// --- Before the handshake -------------------------------------------------

/// Sets up a client context from `options`: the minimum protocol version,
/// the trust store (options.ca_file / ca_dir, else the system's), the client
/// certificate and key when given, and a verification mode that asks for
/// the server's chain and records OpenSSL's verdict without failing the
/// handshake (check_peer() applies it). A caller must not install a verify
/// callback of its own afterwards. Errors: errc::invalid_argument when the
/// CA file or directory, or the client certificate or key, cannot be used
/// (the message gives OpenSSL's reason); errc::tls_failed when the system
/// trust store cannot be loaded.
POP3KIT_EXPORT Result<void> configure_context(SSL_CTX* ctx, const TlsOptions& options);

/// Sets on one connection what depends on the server's name: SNI for a host
/// name (never for an address, RFC 6066 §3), and the name or address that
/// chain verification matches the certificate against (subjectAltName; a
/// "*" only as the whole left-most label). An IPv6 zone ID ("fe80::1%eth0")
/// names a local interface: the address is matched without it. Errors:
/// errc::invalid_argument when OpenSSL refuses `host` as a name to match.
POP3KIT_EXPORT Result<void> configure_connection(SSL* ssl, std::string_view host);

// --- After the handshake --------------------------------------------------

/// Applies the certificate policy to a connection whose handshake completed
/// after configure_context() and configure_connection(ssl, host), and
/// returns the server's certificate described. In order:
///  - no certificate: errc::certificate_invalid "the server sent no
///    certificate";
///  - pins given and none matches: errc::certificate_invalid "pin
///    mismatch: ...";
///  - the chain, dates or name failed, unless a pin matched and
///    options.pins_replace_ca: errc::certificate_invalid with the reason in
///    words (expired on, not valid before, self-signed, unknown issuer, host
///    name mismatch with what the certificate names instead).
/// Each message ends with " (certificate subject: ...; SHA-256 ...)".
/// `host` and `options` are those given before the handshake.
POP3KIT_EXPORT Result<CertificateInfo> check_peer(SSL* ssl, std::string_view host,
                                                  const TlsOptions& options);

/// `cert` described: subject and issuer (RFC 2253, sanitised), validity
/// dates, SHA-256 of the certificate and of its SubjectPublicKeyInfo. All
/// empty for a null `cert`.
POP3KIT_EXPORT CertificateInfo describe(const X509* cert);

/// Whether the extended master secret (RFC 7627) was negotiated: always true
/// with TLS 1.3, whose key schedule includes the handshake.
POP3KIT_EXPORT bool extended_master_secret(SSL* ssl);

/// The channel-binding type this connection binds with by default:
/// "tls-exporter" with TLS 1.3; with TLS 1.2 "tls-unique" under the extended
/// master secret (RFC 5802 makes it the type every SCRAM -PLUS server has),
/// else "tls-server-end-point".
POP3KIT_EXPORT std::string default_channel_binding_type(SSL* ssl);

/// The channel-binding data of `type` for this connection, the same on the
/// client's and the server's end (`ssl` may be either):
///  - "tls-exporter" (RFC 9266): 32 octets exported with the label
///    "EXPORTER-Channel-Binding"; TLS 1.3, or TLS 1.2 with the extended
///    master secret.
///  - "tls-unique" (RFC 5929 §3): the first Finished message of the latest
///    handshake (the client's in a full handshake, the server's in a
///    resumed one); TLS 1.2 with the extended master secret only. It is
///    undefined for TLS 1.3 (RFC 8446 §C.5), and without the extended master
///    secret the triple-handshake attack lets a man in the middle make two
///    connections share it.
///  - "tls-server-end-point" (RFC 5929 §4): a hash of the server's
///    certificate (its signature's hash; SHA-256 for MD5 and SHA-1); any
///    version.
/// Errors: errc::unsupported for an unknown type or one this connection
/// cannot give (the message says why); errc::tls_failed when OpenSSL fails
/// (as it does before the handshake has completed).
POP3KIT_EXPORT Result<ChannelBinding> channel_binding(SSL* ssl, std::string_view type);

}  // namespace pop3kit::net::tls
