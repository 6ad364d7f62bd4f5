#include "pop3kit/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "pop3kit/tls_policy.hpp"
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

// SSL_connect over the socket until it completes, fails or `deadline` passes.
Result<void> run_handshake(SSL* ssl, int fd, detail::HandshakeTrace& trace, const std::string& peer,
                           Clock::time_point deadline) {
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl);
    if (r == 1) return {};
    const int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = wait_for(fd, err, deadline);
      if (w == 0) return Error(errc::timed_out, "TLS handshake with " + peer + " timed out");
      if (w < 0)
        return Error(errc::io_error, "TLS handshake: " + std::string(std::strerror(errno)));
      continue;
    }
    if (trace.last_received < 0 && !trace.first_octets.empty()) {
      // OpenSSL read only a record header of what may be a plain-text
      // answer: the rest of its line, if it came, makes the message.
      char more[detail::HandshakeTrace::first_octets_kept];
      const ssize_t n = ::recv(fd, more, sizeof more, MSG_DONTWAIT);
      if (n > 0) trace.received(more, static_cast<std::size_t>(n));
    }
    return detail::handshake_error(err, trace, peer);
  }
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

Result<std::unique_ptr<TlsTransport>> Transport::start_tls(std::string_view, const TlsOptions&,
                                                           std::chrono::milliseconds) {
  return Error(errc::unsupported, "TLS cannot be started over this connection to " + peer());
}

Result<std::unique_ptr<TlsTransport>> TcpTransport::start_tls(std::string_view host,
                                                              const TlsOptions& options,
                                                              std::chrono::milliseconds timeout) {
  if (!can_start_tls()) return Transport::start_tls(host, options, timeout);
  auto self = std::make_unique<TcpTransport>(release(), peer_);
  return TlsTransport::handshake(std::move(self), host, options, timeout);
}

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
  if (auto r = tls::configure_context(ctx, options); !r) return std::move(r).error();

  impl->ssl.reset(SSL_new(ctx));
  SSL* ssl = impl->ssl.get();
  if (ssl == nullptr)
    return Error(errc::tls_failed, "cannot create a TLS session: " + openssl_reason());
  if (auto r = tls::configure_connection(ssl, host); !r) return std::move(r).error();
  // A write that timed out (the Client tries writes without waiting while
  // a pipeline runs) is retried with the same octets first, from a buffer
  // that may have moved and grown since.
  SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
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

  if (auto r = run_handshake(ssl, fd, impl->trace, impl->peer, Clock::now() + timeout); !r) {
    return std::move(r).error();
  }
  detail::trace_handshake(ssl, nullptr);
  impl->bio.trace = nullptr;

  auto info = tls::check_peer(ssl, host, options);
  if (!info) return std::move(info).error();
  impl->info = std::move(*info);
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
  return tls::extended_master_secret(impl_->ssl.get());
}

std::string TlsTransport::default_channel_binding_type() const {
  return tls::default_channel_binding_type(impl_->ssl.get());
}

Result<ChannelBinding> TlsTransport::channel_binding() const {
  return channel_binding(default_channel_binding_type());
}

Result<ChannelBinding> TlsTransport::channel_binding(std::string_view type) const {
  return tls::channel_binding(impl_->ssl.get(), type);
}

}  // namespace pop3kit::net
