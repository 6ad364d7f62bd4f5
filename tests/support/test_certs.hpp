// Test certificates made with the OpenSSL API (no openssl command needed) in
// a temporary directory below $TMPDIR: a test CA, a good server certificate
// for localhost/127.0.0.1/::1, and bad ones (expired, not yet valid,
// self-signed, wrong host name, issued by an unknown CA). Used by the scripted
// TLS tests and, served by Dovecot, by the interop tests.
#pragma once

#include <string>

namespace pop3kit::test {

struct TestCerts {
  std::string dir;
  std::string ca;        ///< PEM of the trusted test CA.
  std::string other_ca;  ///< PEM of the CA that issued unknown_ca.
  /// Each is "name.pem" with its key in "name.key" inside dir.
  std::string good, expired, not_yet_valid, self_signed, wrong_host, unknown_ca;

  std::string cert(const std::string& name) const { return dir + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir + "/" + name + ".key"; }

  /// Makes everything once per process; later calls return the same set.
  static const TestCerts& get();

  /// SHA-256 of the DER certificate in `pem_file`, or of its public key
  /// (SubjectPublicKeyInfo), as upper-case hex pairs joined by ':' — the way
  /// net::CertificateInfo spells them, and usable as a pin. Throws
  /// std::runtime_error when the file holds no certificate.
  static std::string sha256(const std::string& pem_file);
  static std::string spki_sha256(const std::string& pem_file);
};

}  // namespace pop3kit::test
