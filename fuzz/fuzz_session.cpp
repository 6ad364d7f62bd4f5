// libFuzzer target for the blocking Client's session flows: the server's
// bytes come from the input, through an in-memory Transport, and the Client
// must end every session without a crash, a hang or unbounded memory.
//
// Input layout:
//   byte 0     login: USER/PASS, APOP, SASL PLAIN, LOGIN, CRAM-MD5,
//              SCRAM-SHA-256, XOAUTH2, OAUTHBEARER, EXTERNAL, or STLS first
//              (over a socket pair, so the handshake starts and fails)
//   byte 1     flags: 0x01 CAPA before login, 0x02 no pipelining, 0x04 small
//              receive buffer, 0x08 zero-timeout reads see data (the server
//              sent something nobody asked for), 0x10 login with a listing
//              Query, 0x20 with a STAT Query, 0x40 small listing limit
//   bytes 2-5  read sizes, used in turn (0: everything left)
//   the rest   what the server sends, greeting first
// Writes are discarded; a read past the end fails with connection_closed.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "pop3kit/client.hpp"
#include "pop3kit/sasl.hpp"

namespace {

using namespace pop3kit;

class FuzzTransport final : public net::Transport {
 public:
  FuzzTransport(std::string_view data, const std::uint8_t* sizes, bool eager)
      : data_(data), sizes_(sizes), eager_(eager) {}

  Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds timeout) override {
    if (closed_) return Error(errc::not_connected, "not connected");
    // A zero timeout asks what has arrived already: nothing, unless the
    // input says the server got ahead of the client.
    if (timeout.count() == 0 && !eager_) return Error(errc::timed_out, "nothing yet");
    if (data_.empty()) return Error(errc::connection_closed, "end of the fuzz input");
    std::size_t n = sizes_[turn_++ % 4];
    if (n == 0) n = data_.size();
    n = std::min({n, data_.size(), buf.size()});
    std::copy_n(data_.data(), n, buf.data());
    data_.remove_prefix(n);
    return n;
  }
  Result<std::size_t> write_some(std::string_view data, std::chrono::milliseconds) override {
    if (closed_) return Error(errc::not_connected, "not connected");
    return data.size();
  }
  void close() noexcept override { closed_ = true; }
  std::string peer() const override { return "fuzz:110"; }

 private:
  std::string_view data_;
  const std::uint8_t* sizes_;
  bool eager_;
  std::size_t turn_ = 0;
  bool closed_ = false;
};

// Takes everything and says "done" at once: the pipeline goes on.
class Discard final : public MessageHandler {
 public:
  std::error_code begin(std::uint64_t) override { return {}; }
  std::error_code data(std::uint64_t, std::string_view) override { return {}; }
  std::error_code end(std::uint64_t, std::uint64_t) override { return {}; }
  void failed(std::uint64_t, const Error&) override {}
};

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_session: invariant violated: %s\n", what);
    std::abort();
  }
}

// A TcpTransport over a socket pair whose other end already holds the
// server's bytes and is shut for writing: STLS needs a real TCP transport,
// and the TLS handshake that follows reads the rest (or the end). The
// client's writes land in the other end's receive buffer, never read; a
// session writes far less than it holds. `other` is closed by the caller.
std::unique_ptr<net::Transport> socket_pair(std::string_view server, int& other) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return {};
  const int big = 1 << 20;
  ::setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  while (!server.empty()) {
    const ssize_t n = ::send(fds[1], server.data(), server.size(), MSG_NOSIGNAL);
    if (n <= 0) break;  // a full buffer: the rest is cut, as by a close
    server.remove_prefix(static_cast<std::size_t>(n));
  }
  ::shutdown(fds[1], SHUT_WR);
  other = fds[1];
  return std::make_unique<net::TcpTransport>(fds[0], "fuzz:110");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 6) return 0;
  const unsigned method = data[0] % 10;
  const unsigned flags = data[1];
  const std::string_view server(reinterpret_cast<const char*>(data) + 6, size - 6);

  ClientOptions options;
  options.security = Security::plain;
  options.allow_plaintext_password = true;
  options.io_timeout = std::chrono::milliseconds(50);  // only the socket pair waits
  options.connect_timeout = options.io_timeout;
  if ((flags & 0x02) != 0) options.pipelining = ClientOptions::Pipelining::off;
  if ((flags & 0x04) != 0) options.limits.receive_buffer = 1024;
  if ((flags & 0x40) != 0) options.max_listing = 3;
  Client client(options);

  std::unique_ptr<net::Transport> transport;
  int other = -1;
  if (method == 9) {
    transport = socket_pair(server.substr(0, 64 * 1024), other);
    if (!transport) return 0;
  } else {
    transport = std::make_unique<FuzzTransport>(server, data + 2, (flags & 0x08) != 0);
  }
  if (method == 9) {
    // Up to the handshake: CAPA, STLS, the injection check; the handshake
    // itself fails on what is left of the input.
    if (client.connect(std::move(transport))) {
      auto r = client.starttls("localhost");
      require(r || !client.connected(), "a failed STLS left the connection open");
    }
    client.close();
    ::close(other);
    return 0;
  }
  if (!client.connect(std::move(transport))) return 0;
  if ((flags & 0x01) != 0 && !client.capa() && !client.connected()) return 0;

  const std::uint64_t numbers[] = {1, 2, 3};
  if (method <= 1) {
    LoginOptions login;
    if (method == 1) login.method = LoginMethod::apop;
    login.allow_fallback = (flags & 0x80) != 0;
    if ((flags & 0x10) != 0) {
      Query listing(Query::Kind::listing);
      if (client.login("user", "pencil", login, &listing) && listing.outcome()) {
        require(listing.entries().size() <= options.max_listing, "listing above the limit");
      }
    } else if ((flags & 0x20) != 0) {
      Query stat(Query::Kind::stat);
      (void)client.login("user", "pencil", login, &stat);
    } else {
      (void)client.login("user", "pencil", login);
    }
  } else {
    static const char* const mechanisms[] = {"PLAIN",   "LOGIN",       "CRAM-MD5", "SCRAM-SHA-256",
                                             "XOAUTH2", "OAUTHBEARER", "EXTERNAL"};
    auth::SaslCredentials creds;
    creds.authcid = "user";
    creds.password = "pencil";
    creds.token = "token";
    creds.host = "fuzz";
    (void)client.authenticate(mechanisms[method - 2], creds);
  }
  if (client.state() != proto::State::transaction) {
    if (client.connected()) (void)client.quit();
    return 0;
  }

  if (client.connected()) (void)client.stat();
  if (client.connected()) {
    auto l = client.list();
    if (l) require(l->size() <= options.max_listing, "LIST above the limit");
  }
  if (client.connected()) (void)client.uidl();
  if (client.connected()) {
    auto l = client.list_with_uidl();
    if (l) require(l->size() <= options.max_listing, "listing above the limit");
  }
  Discard sink;
  if (client.connected()) (void)client.retrieve_many(numbers, sink);
  if (client.connected()) (void)client.top_many(numbers, 0, sink);
  if (client.connected()) (void)client.dele_many(numbers);
  if (client.connected()) (void)client.quit();
  return 0;
}
