/// pop3kit — transports: the byte pipes under the Client.
///
/// A Transport moves bytes with deadlines and nothing else: it knows no POP3.
/// TCP is here; TLS wraps a TcpTransport's socket and implements the same
/// interface, so the Client and the engine do not change when TLS is added.
/// A connection that can carry TLS says so (can_start_tls()) and hands itself
/// over to it (start_tls()): STLS needs no knowledge of the concrete class.
///
/// A program must have descriptors 0, 1 and 2 open before it connects (see
/// pop3kit/client.hpp): what it prints there must never reach a socket.
/// connect_tcp() is defensive too: a socket it gets as 0, 1 or 2 is moved to
/// the lowest free number above 2 (close-on-exec) before it is used.
///
/// @file
/// @ingroup transport
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::net {

class TlsTransport;
struct TlsOptions;

/// A connected byte stream. Implementations are not thread-safe.
class POP3KIT_EXPORT Transport {
 public:
  virtual ~Transport() = default;

  /// Reads at least one and at most buf.size() bytes; returns 0 when the peer
  /// closed the connection in order. Errors: errc::timed_out when nothing
  /// arrived within `timeout`, errc::connection_closed on a reset,
  /// errc::io_error otherwise.
  virtual Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds timeout) = 0;

  /// Writes at least one and at most data.size() bytes and returns how many.
  /// Errors: errc::timed_out when no byte could be written within `timeout`,
  /// errc::connection_closed, errc::io_error. A zero `timeout` writes only
  /// what fits at once. After errc::timed_out the next call must start with
  /// the same octets (`data` may have moved, and may be longer): a TLS layer
  /// may have taken some of them already.
  virtual Result<std::size_t> write_some(std::string_view data,
                                         std::chrono::milliseconds timeout) = 0;

  /// Closes the connection; further calls fail with errc::not_connected.
  virtual void close() noexcept = 0;

  /// "host:port" of the peer as connected (IPv6 in brackets), for messages.
  virtual std::string peer() const = 0;

  /// Whether start_tls() can run TLS over this connection: true for a plain,
  /// open TCP connection; false for one that is TLS already, closed, or no
  /// socket at all (the default, e.g. an in-memory transport of a test).
  virtual bool can_start_tls() const noexcept { return false; }

  /// Runs a TLS handshake as a client of `host` over this connection, as
  /// after STLS (RFC 2595 §4), with the checks of TlsTransport::handshake(),
  /// within `timeout`, and returns the TLS transport that now owns the
  /// connection. Whatever the outcome, this transport has given up the
  /// connection when can_start_tls() was true: it is closed afterwards
  /// (errc::not_connected), and on failure so is the connection, since half
  /// a handshake cannot go back to plain text. Errors: errc::unsupported
  /// when can_start_tls() is false (nothing is sent and this transport is
  /// left as it was); otherwise those of TlsTransport::handshake().
  virtual Result<std::unique_ptr<TlsTransport>> start_tls(std::string_view host,
                                                          const TlsOptions& options,
                                                          std::chrono::milliseconds timeout);
};

/// Writes all of `data` (several write_some calls, each with `timeout`).
POP3KIT_EXPORT Result<void> write_all(Transport& t, std::string_view data,
                                      std::chrono::milliseconds timeout);

/// Address families connect_tcp() may use.
enum class Family : std::uint8_t { any, ipv4, ipv6 };

/// Plain TCP over a connected socket.
class POP3KIT_EXPORT TcpTransport final : public Transport {
 public:
  /// Takes ownership of a connected socket.
  TcpTransport(int fd, std::string peer) noexcept;
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds timeout) override;
  Result<std::size_t> write_some(std::string_view data, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  std::string peer() const override { return peer_; }
  /// True while the socket is open.
  bool can_start_tls() const noexcept override { return fd_ >= 0; }
  /// TlsTransport::handshake() over this socket, which it takes over.
  Result<std::unique_ptr<TlsTransport>> start_tls(std::string_view host, const TlsOptions& options,
                                                  std::chrono::milliseconds timeout) override;

  /// The socket, for a TLS layer that takes over the connection. -1 after close().
  int native_handle() const noexcept { return fd_; }
  /// Gives up ownership of the socket (the caller closes it).
  int release() noexcept;

 private:
  int fd_;
  std::string peer_;
};

/// Resolves `host` with getaddrinfo and tries each address in turn, each with
/// the full `timeout` for the TCP handshake; when `total` is not zero, all
/// the attempts together end within `total` (no address is tried after it,
/// and the last attempt is cut short). getaddrinfo itself is not bounded by
/// either. Errors: errc::host_not_found (message names the host and the
/// resolver's reason), errc::connect_failed (message lists the last address
/// and its reason), errc::timed_out when the last address tried timed out or
/// `total` ran out, errc::invalid_argument for an empty host.
POP3KIT_EXPORT Result<std::unique_ptr<TcpTransport>> connect_tcp(
    std::string_view host, std::uint16_t port, std::chrono::milliseconds timeout,
    Family family = Family::any,
    std::chrono::milliseconds total = std::chrono::milliseconds::zero());

}  // namespace pop3kit::net
