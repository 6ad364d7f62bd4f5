#include "pop3kit/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "pop3kit/text.hpp"
#include "tls_errors.hpp"
#include "wait.hpp"

namespace pop3kit::net {
namespace {

using detail::Clock;
using detail::openssl_reason;

struct SslCtxFree {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};

std::string hex_colons(const unsigned char* p, unsigned int n) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string s;
  for (unsigned int i = 0; i < n; ++i) {
    if (i != 0) s += ':';
    s += hex[p[i] >> 4];
    s += hex[p[i] & 0xf];
  }
  return s;
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return "?";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return sanitize(s, 300);
}

std::string time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

CertificateInfo describe(X509* cert) {
  CertificateInfo info;
  if (cert == nullptr) return info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  info.not_before = time_text(X509_get0_notBefore(cert));
  info.not_after = time_text(X509_get0_notAfter(cert));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1) info.sha256 = hex_colons(md, len);
  // The whole DER SubjectPublicKeyInfo (algorithm and key), as RFC 7469 and
  // curl's --pinnedpubkey hash it, so that pins made with the usual openssl
  // pipeline match. X509_pubkey_digest() would hash only the key bits.
  unsigned char* der = nullptr;
  const int der_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (der_len > 0 &&
      EVP_Digest(der, static_cast<std::size_t>(der_len), md, &len, EVP_sha256(), nullptr) == 1) {
    info.spki_sha256 = hex_colons(md, len);
  }
  OPENSSL_free(der);
  return info;
}

// "AB:cd:..." and "abcd..." compare equal.
std::string normalise_hex(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == ':') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool pin_matches(const std::vector<std::string>& pins, const CertificateInfo& info) {
  const std::string cert = normalise_hex(info.sha256);
  const std::string spki = normalise_hex(info.spki_sha256);
  for (const std::string& pin : pins) {
    std::string_view p = pin;
    bool want_spki = false;
    if (p.starts_with("spki:")) {
      want_spki = true;
      p.remove_prefix(5);
    } else if (p.starts_with("cert:")) {
      p.remove_prefix(5);
    }
    if (normalise_hex(p) == (want_spki ? spki : cert)) return true;
  }
  return false;
}

// Waits until the socket is ready for what OpenSSL asked.
int wait_for(int fd, int ssl_error, Clock::time_point deadline) {
  return detail::wait_until(fd, ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline);
}

// What the socket BIO works on: the socket, and during the handshake the
// trace that keeps the server's first octets and the last socket error.
struct BioState {
  int fd = -1;
  detail::HandshakeTrace* trace = nullptr;
};

// A failed recv/send: to retry, or to remember for the handshake's message.
void bio_failed(BIO* b, const BioState& state, bool write) {
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    if (write) {
      BIO_set_retry_write(b);
    } else {
      BIO_set_retry_read(b);
    }
  } else if (state.trace != nullptr) {
    state.trace->socket_error = errno;
  }
}

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when the
// server has gone; a library must not kill its host process for that. This
// BIO reads and writes the socket with recv/send(MSG_NOSIGNAL) instead.
int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  const auto& state = *static_cast<BioState*>(BIO_get_data(b));
  const ssize_t n = ::send(state.fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0) bio_failed(b, state, true);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  const auto& state = *static_cast<BioState*>(BIO_get_data(b));
  const ssize_t n = ::recv(state.fd, data, static_cast<std::size_t>(len), 0);
  if (n < 0) bio_failed(b, state, false);
  if (n > 0 && state.trace != nullptr) state.trace->received(data, static_cast<std::size_t>(n));
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pop3kit socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

struct TlsTransport::Impl {
  std::unique_ptr<TcpTransport> tcp;
  BioState bio;  // the BIO's view of tcp's socket
  detail::HandshakeTrace trace;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx;
  std::unique_ptr<SSL, SslFree> ssl;
  CertificateInfo info;
  std::string peer;
  bool closed = false;
};

TlsTransport::TlsTransport(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
TlsTransport::~TlsTransport() {
  close();
}

Result<std::unique_ptr<TlsTransport>> TlsTransport::handshake(std::unique_ptr<TcpTransport> tcp,
                                                              std::string_view host,
                                                              const TlsOptions& options,
                                                              std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->peer = tcp->peer();
  ERR_clear_error();
  impl->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!impl->ctx)
    return Error(errc::tls_failed, "cannot create a TLS context: " + openssl_reason());
  SSL_CTX* ctx = impl->ctx.get();
  SSL_CTX_set_min_proto_version(
      ctx, options.min_version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!options.ca_file.empty() || !options.ca_dir.empty()) {
    if (SSL_CTX_load_verify_locations(
            ctx, options.ca_file.empty() ? nullptr : options.ca_file.c_str(),
            options.ca_dir.empty() ? nullptr : options.ca_dir.c_str()) != 1) {
      return Error(errc::invalid_argument, "cannot load the CA file or directory ('" +
                                               sanitize(options.ca_file + options.ca_dir, 200) +
                                               "'): " + openssl_reason());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Error(errc::tls_failed, "cannot load the system trust store: " + openssl_reason());
  }
  if (!options.client_cert_file.empty()) {
    const std::string& key =
        options.client_key_file.empty() ? options.client_cert_file : options.client_key_file;
    if (SSL_CTX_use_certificate_chain_file(ctx, options.client_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return Error(errc::invalid_argument,
                   "cannot use the client certificate or key: " + openssl_reason());
    }
  }
  // The handshake completes whatever the chain looks like; the result is
  // judged below, before a single byte of POP3 crosses, so that the message
  // can name the certificate and a pin can stand in for an authority.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });

  impl->ssl.reset(SSL_new(ctx));
  SSL* ssl = impl->ssl.get();
  if (ssl == nullptr)
    return Error(errc::tls_failed, "cannot create a TLS session: " + openssl_reason());
  // An IPv6 zone ID ("fe80::1%eth0") names a local interface, not the
  // server: the certificate is checked against the address alone.
  if (const auto pct = host.find('%');
      pct != std::string_view::npos && is_ip_literal(host.substr(0, pct))) {
    host = host.substr(0, pct);
  }
  const std::string host_str(host);
  const bool ip = is_ip_literal(host);
  if (!ip) {
    // SNI, for names only (RFC 6066). SSL_set_tlsext_host_name is a macro with a C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host_str.c_str()));
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host_str.c_str()) != 1
         : X509_VERIFY_PARAM_set1_host(param, host_str.c_str(), host_str.size()) != 1) {
    return Error(errc::invalid_argument,
                 "cannot check the certificate against host '" + sanitize(host, 100) + "'");
  }
  const int fd = tcp->native_handle();
  impl->bio = {fd, &impl->trace};
  impl->tcp = std::move(tcp);
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) return Error(errc::tls_failed, "cannot create a BIO: " + openssl_reason());
  BIO_set_data(bio, &impl->bio);
  SSL_set_bio(ssl, bio, bio);
  // Which handshake messages crossed, for the message if the server cuts
  // the handshake short.
  detail::trace_handshake(ssl, &impl->trace);

  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl);
    if (r == 1) break;
    const int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = wait_for(fd, err, deadline);
      if (w == 0) return Error(errc::timed_out, "TLS handshake with " + impl->peer + " timed out");
      if (w < 0)
        return Error(errc::io_error, "TLS handshake: " + std::string(std::strerror(errno)));
      continue;
    }
    detail::HandshakeTrace& trace = impl->trace;
    if (trace.last_received < 0 && !trace.first_octets.empty()) {
      // OpenSSL read only a record header of what may be a plain-text
      // answer: the rest of its line, if it came, makes the message.
      char more[detail::HandshakeTrace::first_octets_kept];
      const ssize_t n = ::recv(fd, more, sizeof more, MSG_DONTWAIT);
      if (n > 0) trace.received(more, static_cast<std::size_t>(n));
    }
    return detail::handshake_error(err, trace, impl->peer);
  }
  detail::trace_handshake(ssl, nullptr);
  impl->bio.trace = nullptr;

  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return Error(errc::certificate_invalid, "the server sent no certificate");
  impl->info = describe(cert.get());
  const CertificateInfo& info = impl->info;
  const std::string who =
      " (certificate subject: " + info.subject + "; SHA-256 " + info.sha256 + ")";
  const long verify = SSL_get_verify_result(ssl);
  const bool pinned = !options.pins.empty() && pin_matches(options.pins, info);
  if (!options.pins.empty() && !pinned) {
    return Error(errc::certificate_invalid,
                 "pin mismatch: the certificate matches none of the "
                 "pinned fingerprints" +
                     who);
  }
  // A matching pin stands in for the usual checks only when the caller says
  // so: it names this exact certificate or key, which says more than an
  // authority, a name or a date could.
  if (verify != X509_V_OK && !(pinned && options.pins_replace_ca)) {
    return Error(errc::certificate_invalid,
                 detail::verify_reason(verify, info, cert.get(), host, ip) + who);
  }
  return std::unique_ptr<TlsTransport>(new TlsTransport(std::move(impl)));
}

Result<std::size_t> TlsTransport::read_some(std::span<char> buf,
                                            std::chrono::milliseconds timeout) {
  if (impl_->closed) return Error(errc::not_connected, "not connected");
  SSL* ssl = impl_->ssl.get();
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl, buf.data(), buf.size(), &n);
    if (r == 1) return n;
    const int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = wait_for(impl_->tcp->native_handle(), err, deadline);
      if (w == 0) {
        return Error(errc::timed_out,
                     "no answer from " + impl_->peer + " within " + detail::duration_text(timeout));
      }
      if (w < 0) return Error(errc::io_error, "reading: " + std::string(std::strerror(errno)));
      continue;
    }
    // A close without close_notify: the engine knows whether a response was
    // cut short, so it is reported as an end of stream.
    if (err == SSL_ERROR_SYSCALL ||
        ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return std::size_t{0};
    }
    return Error(errc::tls_failed, "TLS read from " + impl_->peer + " failed: " + openssl_reason());
  }
}

Result<std::size_t> TlsTransport::write_some(std::string_view data,
                                             std::chrono::milliseconds timeout) {
  if (impl_->closed) return Error(errc::not_connected, "not connected");
  SSL* ssl = impl_->ssl.get();
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    const int r = SSL_write_ex(ssl, data.data(), data.size(), &n);
    if (r == 1) return n;
    const int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = wait_for(impl_->tcp->native_handle(), err, deadline);
      if (w == 0) {
        return Error(errc::timed_out, "could not write to " + impl_->peer + " within " +
                                          detail::duration_text(timeout));
      }
      if (w < 0) return Error(errc::io_error, "writing: " + std::string(std::strerror(errno)));
      continue;
    }
    if (err == SSL_ERROR_SYSCALL) {
      return Error(errc::connection_closed,
                   "writing to " + impl_->peer + " failed: connection lost");
    }
    return Error(errc::tls_failed, "TLS write to " + impl_->peer + " failed: " + openssl_reason());
  }
}

void TlsTransport::close() noexcept {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  // Best effort close_notify; never wait for the peer's.
  SSL_shutdown(impl_->ssl.get());
  ERR_clear_error();
  impl_->tcp->close();
}

std::string TlsTransport::peer() const {
  return impl_->peer;
}
const CertificateInfo& TlsTransport::certificate() const noexcept {
  return impl_->info;
}
std::string TlsTransport::version() const {
  return SSL_get_version(impl_->ssl.get());
}
std::string TlsTransport::cipher() const {
  const char* c = SSL_get_cipher_name(impl_->ssl.get());
  return c != nullptr ? c : "";
}

bool TlsTransport::extended_master_secret() const noexcept {
  SSL* ssl = impl_->ssl.get();
  return SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1;
}

std::string TlsTransport::default_channel_binding_type() const {
  if (SSL_version(impl_->ssl.get()) >= TLS1_3_VERSION) return "tls-exporter";
  return extended_master_secret() ? "tls-unique" : "tls-server-end-point";
}

Result<TlsTransport::ChannelBinding> TlsTransport::channel_binding() const {
  return channel_binding(default_channel_binding_type());
}

Result<TlsTransport::ChannelBinding> TlsTransport::channel_binding(std::string_view type) const {
  SSL* ssl = impl_->ssl.get();
  const bool tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
  const std::string version = SSL_get_version(ssl);
  if (type == "tls-exporter") {
    // RFC 9266 §3: with TLS 1.2 only under the extended master secret.
    if (!extended_master_secret()) {
      return Error(errc::unsupported,
                   "channel binding tls-exporter needs TLS 1.3 or the extended "
                   "master secret, which this " +
                       version + " connection lacks");
    }
    static constexpr char label[] = "EXPORTER-Channel-Binding";
    std::string out(32, '\0');
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                   label, sizeof label - 1, nullptr, 0, 0) != 1) {
      return Error(errc::tls_failed, "cannot export channel-binding data: " + openssl_reason());
    }
    return ChannelBinding{"tls-exporter", std::move(out)};
  }
  if (type == "tls-unique") {
    if (tls13) {
      return Error(errc::unsupported,
                   "channel binding tls-unique is undefined for TLS 1.3 (RFC 9266): use "
                   "tls-exporter");
    }
    if (!extended_master_secret()) {
      // Without it the triple-handshake attack gives two connections the
      // same Finished messages: the binding would prove nothing.
      return Error(errc::unsupported,
                   "channel binding tls-unique is unsafe without the extended master secret "
                   "(RFC 7627), which this connection did not negotiate");
    }
    // RFC 5929 §3.1: the first Finished of the latest handshake: the
    // client's in a full handshake, the server's in a resumed one.
    unsigned char buf[EVP_MAX_MD_SIZE];
    const std::size_t n = SSL_session_reused(ssl) == 1 ? SSL_get_peer_finished(ssl, buf, sizeof buf)
                                                       : SSL_get_finished(ssl, buf, sizeof buf);
    if (n == 0 || n > sizeof buf) {
      return Error(errc::tls_failed, "no Finished message for channel binding tls-unique");
    }
    return ChannelBinding{"tls-unique", std::string(reinterpret_cast<char*>(buf), n)};
  }
  if (type != "tls-server-end-point") {
    return Error(errc::unsupported, "unknown channel binding type " + sanitize(type, 40));
  }
  // RFC 5929 §4.1: hash of the server certificate with its signature's hash,
  // SHA-256 when that is MD5 or SHA-1.
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return Error(errc::tls_failed, "no server certificate for channel binding");
  int md_nid = NID_undef;
  if (X509_get_signature_info(cert.get(), &md_nid, nullptr, nullptr, nullptr) != 1) {
    return Error(errc::unsupported, "the certificate's signature hash is unknown");
  }
  const EVP_MD* md = (md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef)
                         ? EVP_sha256()
                         : EVP_get_digestbynid(md_nid);
  if (md == nullptr) return Error(errc::unsupported, "no digest for the certificate's signature");
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), md, buf, &len) != 1) {
    return Error(errc::tls_failed, "cannot hash the certificate: " + openssl_reason());
  }
  return ChannelBinding{"tls-server-end-point", std::string(reinterpret_cast<char*>(buf), len)};
}

}  // namespace pop3kit::net
