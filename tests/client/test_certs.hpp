// Test certificates made with OpenSSL in a temporary directory: a test CA, a
// good server certificate for localhost/127.0.0.1/::1, and bad ones (expired,
// not yet valid, self-signed, wrong host name, issued by an unknown CA).
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
};

}  // namespace pop3kit::test
