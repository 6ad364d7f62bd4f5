#include "script_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace pop3kit::test {

ScriptServer::ScriptServer(std::vector<Step> script, bool ipv6) : script_(std::move(script)) {
  listen(ipv6);
}

ScriptServer::ScriptServer(std::vector<Step> script, std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), script_(std::move(script)) {
  listen(false);
}

void ScriptServer::listen(bool ipv6) {
  // The server side writes through OpenSSL's fd BIO, which raises SIGPIPE
  // when a client hangs up; tests expect clients to hang up.
  std::signal(SIGPIPE, SIG_IGN);
  listen_fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    throw std::runtime_error(std::string("bind/listen failed: ") + std::strerror(errno));
  }
  port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  thread_ = std::thread([this] { run(); });
}

ScriptServer::~ScriptServer() {
  if (thread_.joinable()) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void ScriptServer::set_receive_buffer(int bytes) {
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void ScriptServer::set_send_buffer(int bytes) {
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void ScriptServer::set_tls_max_version(int version) {
  std::lock_guard lock(mu_);
  tls_max_version_ = version;
}

void ScriptServer::disable_extended_master_secret() {
  std::lock_guard lock(mu_);
  no_extended_master_secret_ = true;
}

void ScriptServer::require_client_certificate(std::string ca_file) {
  std::lock_guard lock(mu_);
  client_ca_file_ = std::move(ca_file);
}

std::string ScriptServer::client_subject() {
  std::lock_guard lock(mu_);
  return client_subject_;
}

std::vector<std::string> ScriptServer::finish() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return received_;
}

std::size_t ScriptServer::max_unanswered_bytes() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return max_unanswered_;
}

std::string ScriptServer::channel_binding() {
  std::lock_guard lock(mu_);
  return channel_binding_;
}

std::size_t ScriptServer::discarded() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return discarded_;
}

std::string ScriptServer::channel_binding(const std::string& type) {
  std::lock_guard lock(mu_);
  if (type == "tls-exporter") return tls_exporter_;
  if (type == "tls-unique") return tls_unique_;
  if (type == "tls-server-end-point") return tls_server_end_point_;
  return {};
}

bool ScriptServer::extended_master_secret() {
  std::lock_guard lock(mu_);
  return extended_master_secret_;
}

std::string ScriptServer::problem() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return problem_;
}

void ScriptServer::run() {
  // Bounded: a test that never connects must not hang the suite.
  pollfd p{listen_fd_, POLLIN, 0};
  if (::poll(&p, 1, 20'000) <= 0) {
    std::lock_guard lock(mu_);
    problem_ = "no connection";
    return;
  }
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  // Every send() its own segment: tests split answers across reads on purpose.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string pending;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  bool eof = false;  // the client closed (as opposed to a timeout)
  auto read_more = [&]() -> bool {
    if (ssl == nullptr || SSL_pending(ssl) == 0) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 20'000) <= 0) return false;
    }
    char buf[4096];
    const ssize_t n =
        ssl != nullptr ? SSL_read(ssl, buf, sizeof buf) : ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) eof = true;
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  auto record = [&](std::string line) {
    std::lock_guard lock(mu_);
    received_.push_back(std::move(line));
  };
  auto send_all = [&](std::string_view rest) {
    while (!rest.empty()) {
      const ssize_t n = ssl != nullptr ? SSL_write(ssl, rest.data(), static_cast<int>(rest.size()))
                                       : ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  };
  // Reads one line; false (and a problem noted) if none or not starting with prefix.
  auto expect_line = [&](const std::string& prefix, bool keep) -> bool {
    std::size_t eol;
    while ((eol = pending.find("\r\n")) == std::string::npos) {
      if (!read_more()) break;
    }
    std::lock_guard lock(mu_);
    if (eol == std::string::npos) {
      problem_ = "client sent no line for '" + prefix + "'";
      return false;
    }
    std::string line = pending.substr(0, eol);
    pending.erase(0, eol + 2);
    const bool match = line.starts_with(prefix);
    if (!match) problem_ = "expected '" + prefix + "', got '" + line + "'";
    if (keep || !match) received_.push_back(std::move(line));
    return match;
  };
  for (const Step& s : script_) {
    bool ok = true;
    switch (s.kind) {
      case Step::send:
        send_all(s.data);
        break;
      case Step::expect:
        ok = expect_line(s.data, true);
        break;
      case Step::respond: {
        ok = expect_line("", true);
        std::string last;
        {
          std::lock_guard lock(mu_);
          last = received_.back();
        }
        if (ok) send_all(s.reply(last));
        break;
      }
      case Step::numbered: {
        std::string batch;
        bool open = true;
        for (std::uint64_t i = 1; open && i <= s.count; ++i) {
          batch += std::to_string(i);
          batch += s.data;
          batch += "\r\n";
          if (batch.size() >= 64 * 1024 || i == s.count) {
            open = send_all(batch);
            batch.clear();
          }
        }
        break;
      }
      case Step::serve_retr: {
        const std::string answer = "+OK\r\n" + s.data + "\r\n.\r\n";
        for (std::uint64_t i = 1; ok && i <= s.count; ++i) {
          ok = expect_line("RETR " + std::to_string(i), false);
          int queued = 0;
          ::ioctl(fd, FIONREAD, &queued);
          {
            std::lock_guard lock(mu_);
            max_unanswered_ =
                std::max(max_unanswered_, pending.size() + static_cast<std::size_t>(queued));
          }
          if (ok) send_all(answer);
        }
        break;
      }
      case Step::start_tls: {
        ctx = SSL_CTX_new(TLS_server_method());
        ssl = nullptr;
        int max_version = 0;
        std::string client_ca;
        bool no_ems = false;
        {
          std::lock_guard lock(mu_);
          max_version = tls_max_version_;
          client_ca = client_ca_file_;
          no_ems = no_extended_master_secret_;
        }
        if (ctx != nullptr && max_version != 0) SSL_CTX_set_max_proto_version(ctx, max_version);
        if (ctx != nullptr && no_ems) SSL_CTX_set_options(ctx, SSL_OP_NO_EXTENDED_MASTER_SECRET);
        if (ctx != nullptr && !client_ca.empty()) {
          SSL_CTX_load_verify_locations(ctx, client_ca.c_str(), nullptr);
          SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        }
        if (ctx != nullptr && SSL_CTX_use_certificate_chain_file(ctx, cert_file_.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ctx, key_file_.c_str(), SSL_FILETYPE_PEM) == 1) {
          ssl = SSL_new(ctx);
          SSL_set_fd(ssl, fd);
          if (SSL_accept(ssl) != 1) {
            SSL_free(ssl);
            ssl = nullptr;
          }
        }
        if (ssl == nullptr) {
          std::lock_guard lock(mu_);
          problem_ = "TLS handshake failed on the server side";
          ok = false;
        } else {
          const bool tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
          const bool ems = tls13 || SSL_get_extms_support(ssl) == 1;
          std::string exporter(32, '\0');
          static constexpr char label[] = "EXPORTER-Channel-Binding";
          if (ems) {
            SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(exporter.data()),
                                       exporter.size(), label, sizeof label - 1, nullptr, 0, 0);
          } else {
            exporter.clear();
          }
          // The test certificates are signed with SHA-256.
          std::string end_point(EVP_MAX_MD_SIZE, '\0');
          unsigned int len = 0;
          X509_digest(SSL_get_certificate(ssl), EVP_sha256(),
                      reinterpret_cast<unsigned char*>(end_point.data()), &len);
          end_point.resize(len);
          // RFC 5929 §3.1: the first Finished of the handshake: the client's
          // (received here) in a full handshake, ours in a resumed one.
          std::string unique;
          if (!tls13) {
            unsigned char fin[EVP_MAX_MD_SIZE];
            const std::size_t n = SSL_session_reused(ssl) == 1
                                      ? SSL_get_finished(ssl, fin, sizeof fin)
                                      : SSL_get_peer_finished(ssl, fin, sizeof fin);
            unique.assign(reinterpret_cast<char*>(fin), std::min(n, sizeof fin));
          }
          const std::string cb = tls13 ? exporter : end_point;
          std::string subject;
          if (X509* peer = SSL_get1_peer_certificate(ssl); peer != nullptr) {
            char buf[256];
            X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
            subject = buf;
            X509_free(peer);
          }
          std::lock_guard lock(mu_);
          channel_binding_ = cb;
          tls_exporter_ = exporter;
          tls_unique_ = unique;
          tls_server_end_point_ = end_point;
          extended_master_secret_ = ems;
          client_subject_ = subject;
        }
        break;
      }
      case Step::close:
        ::shutdown(fd, SHUT_RDWR);
        break;
      case Step::wait_close:
        while (read_more()) {
        }
        for (std::size_t eol; (eol = pending.find("\r\n")) != std::string::npos;) {
          record(pending.substr(0, eol));
          pending.erase(0, eol + 2);
        }
        break;
      case Step::expect_close: {
        while (read_more()) {
        }
        std::lock_guard lock(mu_);
        if (!pending.empty()) {
          problem_ = "the client sent more: '" + pending + "'";
          ok = false;
        } else if (!eof) {
          problem_ = "the client did not close the connection";
          ok = false;
        }
        break;
      }
      case Step::sleep:
        std::this_thread::sleep_for(s.duration);
        break;
      case Step::trickle: {
        bool gone = false;
        for (std::size_t i = 0; i < s.data.size() && !gone; ++i) {
          send_all(std::string_view(s.data).substr(i, 1));
          const auto until = std::chrono::steady_clock::now() + s.duration;
          for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd q{fd, POLLIN, 0};
            if (::poll(&q, 1, static_cast<int>(left.count())) <= 0) break;
            if (!read_more()) {
              gone = true;  // closed or reset: nobody left to trickle to
              break;
            }
          }
        }
        break;
      }
      case Step::discard: {
        std::size_t dropped = pending.size();
        pending.clear();
        for (;;) {
          pollfd q{fd, POLLIN, 0};
          if ((ssl == nullptr || SSL_pending(ssl) == 0) && ::poll(&q, 1, 0) <= 0) break;
          if (!read_more()) break;
          dropped += pending.size();
          pending.clear();
        }
        std::lock_guard lock(mu_);
        discarded_ += dropped;
        break;
      }
      case Step::quiet: {
        pollfd q{fd, POLLIN, 0};
        if (!pending.empty() || ::poll(&q, 1, static_cast<int>(s.duration.count())) > 0) {
          std::lock_guard lock(mu_);
          problem_ = "client sent more before the answer";
          ok = false;
        }
        break;
      }
    }
    if (!ok) break;
  }
  if (ssl != nullptr) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  SSL_CTX_free(ctx);
  ERR_clear_error();
  ::close(fd);
}

}  // namespace pop3kit::test
