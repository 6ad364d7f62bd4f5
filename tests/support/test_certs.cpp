#include "support/test_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace pop3kit::test {
namespace {

constexpr long kDay = 24 * 3600;

EVP_PKEY* new_key() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error("bad extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `cn` with `san`, valid from now+from to now+to seconds,
// signed by issuer (self-signed when issuer is null).
X509* make_cert(EVP_PKEY* key, const char* cn, const char* san, long from, long to, X509* issuer,
                EVP_PKEY* issuer_key, bool ca) {
  static long serial = 1;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), from);
  X509_gmtime_adj(X509_getm_notAfter(cert), to);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pop3kit tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  if (ca) {
    add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert, signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (san != nullptr) add_ext(cert, signer, NID_subject_alt_name, san);
  add_ext(cert, signer, NID_subject_key_identifier, "hash");
  if (X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    throw std::runtime_error("X509_sign failed");
  }
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  PEM_write_X509(f, cert);
  std::fclose(f);
  if (key != nullptr) {
    const std::string kp = path.substr(0, path.size() - 4) + ".key";
    FILE* k = std::fopen(kp.c_str(), "w");
    if (k == nullptr) throw std::runtime_error("cannot write " + kp);
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
  }
}

TestCerts make() {
  TestCerts t;
  // Below $TMPDIR like the Dovecot sandboxes, so that a CI run that points
  // TMPDIR at its scratch directory finds nothing left elsewhere.
  std::string tmpl = "/tmp";
  if (const char* d = std::getenv("TMPDIR"); d != nullptr && *d != '\0') tmpl = d;
  tmpl += "/pop3kit-certs.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + tmpl);
  t.dir = tmpl;
  const char* san = "DNS:localhost,IP:127.0.0.1,IP:::1";
  EVP_PKEY* ca_key = new_key();
  X509* ca =
      make_cert(ca_key, "pop3kit test CA", nullptr, -kDay, 3650 * kDay, nullptr, nullptr, true);
  t.ca = t.dir + "/ca.pem";
  write_pem(t.ca, ca, nullptr);
  EVP_PKEY* other_ca_key = new_key();
  X509* other_ca =
      make_cert(other_ca_key, "unknown CA", nullptr, -kDay, 3650 * kDay, nullptr, nullptr, true);
  t.other_ca = t.dir + "/other_ca.pem";
  write_pem(t.other_ca, other_ca, nullptr);
  struct Leaf {
    std::string* name;
    const char* file;
    const char* cn;
    const char* san;
    long from, to;
    X509* issuer;
    EVP_PKEY* issuer_key;
  } leaves[] = {
      {&t.good, "good", "localhost", san, -kDay, 365 * kDay, ca, ca_key},
      {&t.expired, "expired", "localhost", san, -30 * kDay, -kDay, ca, ca_key},
      {&t.not_yet_valid, "not_yet_valid", "localhost", san, 30 * kDay, 60 * kDay, ca, ca_key},
      {&t.self_signed, "self_signed", "localhost", san, -kDay, 365 * kDay, nullptr, nullptr},
      {&t.wrong_host, "wrong_host", "mail.example.org", "DNS:mail.example.org,DNS:*.example.org",
       -kDay, 365 * kDay, ca, ca_key},
      {&t.unknown_ca, "unknown_ca", "localhost", san, -kDay, 365 * kDay, other_ca, other_ca_key},
  };
  for (const Leaf& l : leaves) {
    EVP_PKEY* key = new_key();
    X509* cert = make_cert(key, l.cn, l.san, l.from, l.to, l.issuer, l.issuer_key, false);
    *l.name = l.file;
    write_pem(t.cert(l.file), cert, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  X509_free(ca);
  X509_free(other_ca);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(other_ca_key);
  return t;
}

X509* read_cert(const std::string& pem_file) {
  FILE* f = std::fopen(pem_file.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("cannot read " + pem_file);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) throw std::runtime_error("no certificate in " + pem_file);
  return cert;
}

std::string hex_pairs(const unsigned char* md, unsigned int n) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out += ':';
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string TestCerts::sha256(const std::string& pem_file) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(read_cert(pem_file), X509_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &n) != 1)
    throw std::runtime_error("X509_digest failed");
  return hex_pairs(md, n);
}

std::string TestCerts::spki_sha256(const std::string& pem_file) {
  // The whole DER SubjectPublicKeyInfo, as RFC 7469 and curl's
  // --pinnedpubkey hash it (X509_pubkey_digest would hash only the key bits).
  std::unique_ptr<X509, decltype(&X509_free)> cert(read_cert(pem_file), X509_free);
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (len <= 0) throw std::runtime_error("i2d_X509_PUBKEY failed");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const int ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &n, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) throw std::runtime_error("EVP_Digest failed");
  return hex_pairs(md, n);
}

const TestCerts& TestCerts::get() {
  // Removed with the process, like a fixture's temporary directory.
  struct Holder {
    TestCerts certs = make();
    ~Holder() {
      std::error_code ec;
      std::filesystem::remove_all(certs.dir, ec);
    }
  };
  static const Holder holder;
  return holder.certs;
}

}  // namespace pop3kit::test
