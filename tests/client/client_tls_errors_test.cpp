// TLS failures in words: a handshake the server cuts short (closed, reset,
// after which message), a server that answers in plain text, and a
// certificate that does not name the host or address asked for (what it
// does name instead).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "pop3kit/client.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

ClientOptions tls_options() {
  ClientOptions o;
  o.io_timeout = 5s;
  o.security = Security::tls;
  o.tls.ca_file = TestCerts::get().ca;
  return o;
}

// ---- Servers that speak raw TCP (or drive OpenSSL themselves) ----------

// Listens on 127.0.0.1 and runs `handler` on the first connection, in a
// thread; the socket is closed after it (unless the handler did).
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd)> handler) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_fd_, 1) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, h = std::move(handler)] {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20'000) <= 0) return;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      h(fd);
      ::close(fd);
    });
  }
  ~RawServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// Reads exactly n octets (false on EOF, error or 5 s of silence).
bool read_exactly(int fd, unsigned char* buf, std::size_t n) {
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    const ssize_t r = ::recv(fd, buf, n, 0);
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// Reads one whole TLS record (the ClientHello): header, then its length.
// Empty on failure.
std::string read_record(int fd) {
  std::string record(5, '\0');
  auto* p = reinterpret_cast<unsigned char*>(record.data());
  if (!read_exactly(fd, p, 5)) return "";
  const std::size_t len = (static_cast<std::size_t>(p[3]) << 8) | p[4];
  record.resize(5 + len);
  p = reinterpret_cast<unsigned char*>(record.data());
  if (!read_exactly(fd, p + 5, len)) return "";
  return record;
}

// Reads and drops everything until the client closes (or 5 s of silence).
void drain_until_close(int fd) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0 || ::recv(fd, buf, sizeof buf, 0) <= 0) return;
  }
}

// A server that hangs up after reading the ClientHello: it never answers.
TEST(ClientTlsHandshakeCut, ClosedAfterClientHello) {
  std::atomic<bool> got_hello{false};
  RawServer server([&](int fd) { got_hello = !read_record(fd).empty(); });
  Client c(tls_options());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(got_hello);
  EXPECT_EQ(r.error().code, errc::connection_closed) << r.error().message;
  EXPECT_NE(r.error().message.find("failed: the server closed the connection after the client's "
                                   "ClientHello, before any answer"),
            std::string::npos)
      << r.error().message;
}

// The same, with a reset (RST) instead of an orderly close.
TEST(ClientTlsHandshakeCut, ResetAfterClientHello) {
  RawServer server([](int fd) {
    read_record(fd);
    const linger abort{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  });
  Client c(tls_options());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::connection_closed) << r.error().message;
  EXPECT_NE(r.error().message.find("failed: the server reset the connection after the client's "
                                   "ClientHello, before any answer"),
            std::string::npos)
      << r.error().message;
}

// A TLS 1.2 server that sends its whole first flight (ServerHello up to
// ServerHelloDone), reads the client's answer (ClientKeyExchange,
// ChangeCipherSpec, Finished) and hangs up instead of finishing.
TEST(ClientTlsHandshakeCut, ClosedAfterClientFinished) {
  const auto& certs = TestCerts::get();
  std::atomic<bool> flight_sent{false};
  RawServer server([&](int fd) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                          SSL_CTX_free);
    SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), certs.cert(certs.good).c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), certs.key(certs.good).c_str(), SSL_FILETYPE_PEM) !=
            1) {
      return;
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_msg_callback(ssl.get(), [](int write_p, int, int content_type, const void* buf,
                                       std::size_t len, SSL*, void* arg) {
      if (write_p == 1 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
          static_cast<const unsigned char*>(buf)[0] == SSL3_MT_SERVER_DONE) {
        static_cast<std::atomic<bool>*>(arg)->store(true);
      }
    });
    SSL_set_msg_callback_arg(ssl.get(), &flight_sent);
    // OpenSSL reads only the ClientHello, from memory, and writes to the
    // socket: once its flight is out it waits for more than it will ever
    // get, whatever the client sends meanwhile.
    const std::string hello = read_record(fd);
    BIO* in = BIO_new(BIO_s_mem());
    BIO_write(in, hello.data(), static_cast<int>(hello.size()));
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl.get(), in, BIO_new_socket(fd, BIO_NOCLOSE));
    const int rc = SSL_accept(ssl.get());
    if (rc == 1 || SSL_get_error(ssl.get(), rc) != SSL_ERROR_WANT_READ || !flight_sent) return;
    // The client's answer, read and dropped so that the close is a FIN.
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    std::this_thread::sleep_for(100ms);
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd, SHUT_WR);
    drain_until_close(fd);
  });
  Client c(tls_options());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(flight_sent);
  EXPECT_EQ(r.error().code, errc::connection_closed) << r.error().message;
  EXPECT_NE(r.error().message.find("failed: the server closed the connection after the client's "
                                   "Finished"),
            std::string::npos)
      << r.error().message;
}

// pops:// against a plain POP3 port: the server greets in clear text, which
// OpenSSL reads as a record with a wrong version number.
TEST(ClientTlsHandshakeCut, PlainTextAnswerInsteadOfServerHello) {
  RawServer server([](int fd) {
    const std::string greeting = "+OK POP3 ready\r\n";
    ::send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL);
    drain_until_close(fd);
  });
  Client c(tls_options());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_failed) << r.error().message;
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("the server did not answer with TLS but sent '+OK POP3 ready'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("plain POP3 greeting"), std::string::npos) << m;
  EXPECT_NE(m.find("STLS"), std::string::npos) << m;
}

// The same, with a server whose answer is not POP3 either: the octets are
// shown escaped, without the STLS hint.
TEST(ClientTlsHandshakeCut, BinaryAnswerIsEscaped) {
  RawServer server([](int fd) {
    const std::string junk = "HTTP/1.0 400 \x1b[2J\r\n";
    ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    drain_until_close(fd);
  });
  Client c(tls_options());
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_failed) << r.error().message;
  const std::string& m = r.error().message;
  EXPECT_NE(m.find("the server did not answer with TLS but sent 'HTTP/1.0 400 \\x1b[2J'"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find('\x1b'), std::string::npos) << m;
  EXPECT_EQ(m.find("STLS"), std::string::npos) << m;
}

// A server that refuses with an alert: OpenSSL's reason, and where it came.
TEST(ClientTlsHandshakeCut, AlertSaysWhereItCame) {
  const auto& certs = TestCerts::get();
  ScriptServer server({S::start_tls(), S::wait_close()}, certs.cert(certs.good),
                      certs.key(certs.good));
  server.set_tls_max_version(TLS1_2_VERSION);
  ClientOptions o = tls_options();
  o.tls.min_version = net::TlsVersion::tls1_3;
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::tls_failed) << r.error().message;
  EXPECT_NE(r.error().message.find("alert protocol version (after the client's ClientHello)"),
            std::string::npos)
      << r.error().message;
}

// ---- Certificates that do not name what was asked for -----------------

// A CA of its own and leaves it signs, made with OpenSSL at run time.
class NameCerts {
 public:
  NameCerts() {
    ca_key_.reset(EVP_EC_gen("P-256"));
    ca_.reset(make(ca_key_.get(), "name test CA", nullptr, true, nullptr, nullptr));
    ca_file_ = TestCerts::get().dir + "/name-test-ca.pem";
    write(ca_file_, ca_.get(), nullptr);
  }
  const std::string& ca_file() const { return ca_file_; }

  // Writes "<dir>/<file>.pem" and ".key": a leaf with CN `cn` and the
  // subjectAltName `san` (none when null).
  std::string leaf(const std::string& file, const char* cn, const char* san) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        make(key.get(), cn, san, false, ca_.get(), ca_key_.get()), X509_free);
    const std::string path = TestCerts::get().dir + "/" + file;
    write(path + ".pem", cert.get(), key.get());
    return path;
  }

 private:
  static void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("bad extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  static X509* make(EVP_PKEY* key, const char* cn, const char* san, bool ca, X509* issuer,
                    EVP_PKEY* issuer_key) {
    static long serial = 1000;
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    add_ext(cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (san != nullptr) add_ext(cert, signer, NID_subject_alt_name, san);
    if (X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
      throw std::runtime_error("X509_sign failed");
    }
    return cert;
  }

  static void write(const std::string& pem, X509* cert, EVP_PKEY* key) {
    FILE* f = std::fopen(pem.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + pem);
    PEM_write_X509(f, cert);
    std::fclose(f);
    if (key == nullptr) return;
    const std::string kp = pem.substr(0, pem.size() - 4) + ".key";
    FILE* k = std::fopen(kp.c_str(), "w");
    if (k == nullptr) throw std::runtime_error("cannot write " + kp);
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
  }

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ca_key_{nullptr, EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> ca_{nullptr, X509_free};
  std::string ca_file_;
};

NameCerts& name_certs() {
  static NameCerts certs;
  return certs;
}

// Connects to `host` on a server showing the leaf `file`; the error (or "").
std::string connect_error(const std::string& leaf, const std::string& host, std::error_code* code) {
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::wait_close()}, leaf + ".pem",
                      leaf + ".key");
  ClientOptions o = tls_options();
  o.tls.ca_file = name_certs().ca_file();
  Client c(o);
  auto r = c.connect(host, server.port());
  if (r.ok()) return "";
  *code = r.error().code;
  return r.error().message;
}

// Courier's default certificate: no subjectAltName, the host name in the CN.
// Good for the name (OpenSSL falls back to the CN when there is no
// subjectAltName), never for an address.
TEST(ClientTlsNames, CnOnlyCertificateNamesNoIpAddress) {
  const std::string leaf = name_certs().leaf("cn-only", "localhost", nullptr);
  std::error_code code;
  EXPECT_EQ(connect_error(leaf, "localhost", &code), "");
  const std::string m = connect_error(leaf, "127.0.0.1", &code);
  EXPECT_EQ(code, errc::certificate_invalid) << m;
  EXPECT_TRUE(m.starts_with("host name mismatch: the certificate is not for '127.0.0.1'")) << m;
  EXPECT_NE(m.find("it names no IP address: it has no subjectAltName, only the CN 'localhost', "
                   "and a CN is never matched against an IP address"),
            std::string::npos)
      << m;
}

// A subjectAltName with names but no address: they are listed.
TEST(ClientTlsNames, DnsOnlySubjectAltNameAtAnIpAddress) {
  const std::string leaf =
      name_certs().leaf("dns-only", "localhost", "DNS:localhost,DNS:mail.example.org");
  std::error_code code;
  const std::string m = connect_error(leaf, "127.0.0.1", &code);
  EXPECT_EQ(code, errc::certificate_invalid) << m;
  EXPECT_NE(m.find("the certificate is not for '127.0.0.1'; it names no IP address, only "
                   "DNS:localhost, DNS:mail.example.org"),
            std::string::npos)
      << m;
}

// Another address: the ones it holds are named.
TEST(ClientTlsNames, OtherIpAddressIsNamed) {
  const std::string leaf =
      name_certs().leaf("other-ip", "localhost", "IP:10.1.2.3,IP:2001:db8::1,DNS:localhost");
  std::error_code code;
  const std::string m = connect_error(leaf, "127.0.0.1", &code);
  EXPECT_EQ(code, errc::certificate_invalid) << m;
  EXPECT_NE(m.find("the certificate is not for '127.0.0.1'; it names IP:10.1.2.3, IP:2001:db8::1, "
                   "DNS:localhost"),
            std::string::npos)
      << m;
}

// A host name the subjectAltName lacks, though the CN has it: the CN does
// not count when there is a subjectAltName.
TEST(ClientTlsNames, HostNameOnlyInTheCn) {
  const std::string leaf = name_certs().leaf("cn-differs", "localhost", "DNS:mail.example.org");
  std::error_code code;
  const std::string m = connect_error(leaf, "localhost", &code);
  EXPECT_EQ(code, errc::certificate_invalid) << m;
  EXPECT_NE(m.find("host name mismatch: the certificate is not for 'localhost'; it names "
                   "DNS:mail.example.org (its CN 'localhost' does not count when there is a "
                   "subjectAltName)"),
            std::string::npos)
      << m;
}

// A CN-only certificate for another name.
TEST(ClientTlsNames, CnOnlyCertificateForAnotherName) {
  const std::string leaf = name_certs().leaf("cn-other", "mail.example.org", nullptr);
  std::error_code code;
  const std::string m = connect_error(leaf, "localhost", &code);
  EXPECT_EQ(code, errc::certificate_invalid) << m;
  EXPECT_NE(m.find("the certificate is not for 'localhost'; it has no subjectAltName, only the "
                   "CN 'mail.example.org'"),
            std::string::npos)
      << m;
}

// What the certificate names is untrusted: escaped, and the list cut short.
TEST(ClientTlsNames, NamesAreEscapedAndFew) {
  const std::string leaf =
      name_certs().leaf("many-names", "localhost",
                        "DNS:a.example.org,DNS:b.example.org,DNS:c.example.org,DNS:d.example.org,"
                        "DNS:e.example.org,DNS:f.example.org,DNS:g.example.org");
  std::error_code code;
  std::string m = connect_error(leaf, "localhost", &code);
  EXPECT_NE(m.find("it names DNS:a.example.org, DNS:b.example.org, DNS:c.example.org, "
                   "DNS:d.example.org and 3 more"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("e.example.org"), std::string::npos) << m;

  const std::string odd = name_certs().leaf("odd-cn", "evil\x1b[31m", nullptr);
  m = connect_error(odd, "127.0.0.1", &code);
  EXPECT_NE(m.find("only the CN 'evil\\x1b[31m'"), std::string::npos) << m;
  EXPECT_EQ(m.find('\x1b'), std::string::npos) << m;
}

}  // namespace
}  // namespace pop3kit::test
