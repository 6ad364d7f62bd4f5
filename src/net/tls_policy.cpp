#include "pop3kit/tls_policy.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <ctime>
#include <memory>
#include <vector>

#include "pop3kit/text.hpp"
#include "tls_errors.hpp"

namespace pop3kit::net::tls {
namespace {

using detail::openssl_reason;

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

// "AB:cd:..." and "abcd..." compare equal.
std::string normalise_hex(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == ':') continue;
    out += ascii_upper(c);
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

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// The name or address the certificate must hold. An IPv6 zone ID
// ("fe80::1%eth0") names a local interface, not the server.
std::string_view checked_host(std::string_view host) {
  if (const auto pct = host.find('%');
      pct != std::string_view::npos && is_ip_literal(host.substr(0, pct))) {
    return host.substr(0, pct);
  }
  return host;
}

}  // namespace

Result<void> configure_context(SSL_CTX* ctx, const TlsOptions& options) {
  ERR_clear_error();
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
  // The handshake completes whatever the chain looks like; check_peer()
  // judges the result before a single byte of POP3 crosses, so that the
  // message can name the certificate and a pin can stand in for an authority.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  return {};
}

Result<void> configure_connection(SSL* ssl, std::string_view host) {
  host = checked_host(host);
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
    ERR_clear_error();
    return Error(errc::invalid_argument,
                 "cannot check the certificate against host '" + sanitize(host, 100) + "'");
  }
  return {};
}

Result<CertificateInfo> check_peer(SSL* ssl, std::string_view host, const TlsOptions& options) {
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return Error(errc::certificate_invalid, "the server sent no certificate");
  CertificateInfo info = describe(cert.get());
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
    host = checked_host(host);
    return Error(errc::certificate_invalid,
                 detail::verify_reason(verify, info, cert.get(), host, is_ip_literal(host)) + who);
  }
  return info;
}

CertificateInfo describe(const X509* cert) {
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
  ERR_clear_error();
  return info;
}

bool extended_master_secret(SSL* ssl) {
  return SSL_version(ssl) >= TLS1_3_VERSION || SSL_get_extms_support(ssl) == 1;
}

std::string default_channel_binding_type(SSL* ssl) {
  if (SSL_version(ssl) >= TLS1_3_VERSION) return "tls-exporter";
  return extended_master_secret(ssl) ? "tls-unique" : "tls-server-end-point";
}

Result<ChannelBinding> channel_binding(SSL* ssl, std::string_view type) {
  const bool tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
  const std::string version = SSL_get_version(ssl);
  if (type == "tls-exporter") {
    // RFC 9266 §3: with TLS 1.2 only under the extended master secret.
    if (!extended_master_secret(ssl)) {
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
    if (!extended_master_secret(ssl)) {
      // Without it the triple-handshake attack gives two connections the
      // same Finished messages: the binding would prove nothing.
      return Error(errc::unsupported,
                   "channel binding tls-unique is unsafe without the extended master secret "
                   "(RFC 7627), which this connection did not negotiate");
    }
    // RFC 5929 §3.1: the first Finished of the latest handshake: the
    // client's in a full handshake, the server's in a resumed one. Which of
    // the two is this end's own depends on its role.
    const bool own = (SSL_session_reused(ssl) == 1) == (SSL_is_server(ssl) == 1);
    unsigned char buf[EVP_MAX_MD_SIZE];
    const std::size_t n =
        own ? SSL_get_finished(ssl, buf, sizeof buf) : SSL_get_peer_finished(ssl, buf, sizeof buf);
    if (n == 0 || n > sizeof buf) {
      return Error(errc::tls_failed, "no Finished message for channel binding tls-unique");
    }
    return ChannelBinding{"tls-unique", std::string(reinterpret_cast<char*>(buf), n)};
  }
  if (type != "tls-server-end-point") {
    return Error(errc::unsupported, "unknown channel binding type " + sanitize(type, 40));
  }
  // RFC 5929 §4.1: hash of the server certificate with its signature's hash,
  // SHA-256 when that is MD5 or SHA-1. On the server's end it is its own.
  std::unique_ptr<X509, X509Free> cert;
  if (SSL_is_server(ssl) == 1) {
    X509* own = SSL_get_certificate(ssl);
    if (own != nullptr && X509_up_ref(own) == 1) cert.reset(own);
  } else {
    cert.reset(SSL_get1_peer_certificate(ssl));
  }
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

}  // namespace pop3kit::net::tls
