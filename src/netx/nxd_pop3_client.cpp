// NetX Duo compatible POP3 client: a small blocking driver around
// pop3kit::proto::Engine and a net::Transport. See nxd_pop3_client.h for the
// behaviour and the differences from NetX Duo.
#include "nxd_pop3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <variant>

#include "netx_internal.hpp"
#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/session_command.hpp"
#include "pop3kit/transport.hpp"

namespace {

using pop3kit::errc;
using pop3kit::proto::Command;
using pop3kit::session::Exchange;
namespace proto = pop3kit::proto;
namespace net = pop3kit::net;

std::chrono::milliseconds to_ms(ULONG ticks) {
  const std::uint64_t ms = pop3kit::netx::ticks_to_ms(ticks);
  constexpr std::uint64_t cap = 24ULL * 3600 * 1000 * 365;  // NX_WAIT_FOREVER: a year
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, cap)));
}

struct Session {
  std::unique_ptr<net::Transport> transport;
  proto::Engine engine;
  std::string_view pending;  // unread rest of the current body chunk (a view into engine)
  bool broken = false;       // an unexpected event was consumed while peeking
};

Session* session_of(NX_POP3_CLIENT* c) {
  return static_cast<Session*>(c->nx_pop3_client_session);
}

bool created(const NX_POP3_CLIENT* c) {
  return pop3kit::netx::client_live(c);
}

// NX_PTR_ERROR (NetX's answer to creating an object twice) for a live
// client, which is left untouched. The session of a structure the caller
// overwrote without deleting it is freed, so that nothing leaks.
UINT claim(NX_POP3_CLIENT* c) {
  void* stale = nullptr;
  if (!pop3kit::netx::client_claim(c, stale)) return NX_PTR_ERROR;
  delete static_cast<Session*>(stale);  // closes its socket
  return NX_SUCCESS;
}

// Runs one session step on behalf of a client; every failure that breaks the
// connection goes through fail(), which closes it.
class Driver {
 public:
  Driver(NX_POP3_CLIENT* c, Session* s) : c_(c), s_(s) {}

  UINT fail(UINT code) {
    if (s_->transport) s_->transport->close();
    s_->transport.reset();
    s_->pending = {};
    c_->nx_pop3_client_ready_to_download = NX_FALSE;
    return code;
  }

  static UINT engine_failure(std::error_code ec) {
    if (ec == errc::connection_closed) return NX_NOT_CONNECTED;
    return NX_POP3_SERVER_ERROR_STATUS;
  }

  static UINT refused(std::error_code ec) {
    if (ec == errc::invalid_argument || ec == errc::command_too_long) return NX_POP3_PARAM_ERROR;
    if (ec == errc::wrong_state) return NX_POP3_CLIENT_INVALID_STATE;
    return NX_NOT_CONNECTED;
  }

  UINT flush() {
    while (!s_->engine.pending_output().empty()) {
      auto n = s_->transport->write_some(s_->engine.pending_output(),
                                         to_ms(c_->nx_pop3_client_send_timeout));
      if (!n) {
        return fail(n.error().code == errc::timed_out ? NX_WINDOW_OVERFLOW : NX_NOT_CONNECTED);
      }
      s_->engine.consume_output(*n);
    }
    return NX_SUCCESS;
  }

  // Reads once into the engine.
  UINT read() {
    auto n = s_->transport->read_some(s_->engine.receive_space(),
                                      to_ms(c_->nx_pop3_client_server_reply_timeout));
    if (!n) return fail(n.error().code == errc::timed_out ? NX_NO_PACKET : NX_NOT_CONNECTED);
    if (*n == 0) {
      s_->engine.receive_eof();
    } else {
      s_->engine.commit_received(*n);
    }
    return NX_SUCCESS;
  }

  // Runs a session operation: moves bytes between the transport and it.
  // A failed read or write is reported with its own NetX code (the
  // connection is gone), as is an engine failure; the operation's other
  // errors map to NetX codes here.
  UINT run(pop3kit::session::Operation& op) {
    UINT lost = NX_SUCCESS;
    for (;;) {
      switch (op.resume(s_->engine)) {
        case pop3kit::session::Want::write:
        // The NetX API has no bulk call, so no Batch asks: written whole.
        case pop3kit::session::Want::write_ready:
          if (UINT r = flush(); r != NX_SUCCESS) {
            lost = r;
            op.transport_failed(pop3kit::Error(errc::io_error, "write failed"));
          }
          break;
        case pop3kit::session::Want::read:
          if (UINT r = read(); r != NX_SUCCESS) {
            lost = r;
            op.transport_failed(pop3kit::Error(errc::io_error, "read failed"));
          }
          break;
        case pop3kit::session::Want::start_tls:
          lost = fail(NX_NOT_CONNECTED);
          op.transport_failed(pop3kit::Error(errc::tls_failed, "no TLS here"));
          break;
        case pop3kit::session::Want::done:
          return outcome(op, lost);
      }
    }
  }

  // Reads and discards the rest of a message being downloaded.
  UINT drain() {
    s_->pending = {};
    if (!c_->nx_pop3_client_ready_to_download) return NX_SUCCESS;
    if (s_->broken) return fail(NX_POP3_SERVER_ERROR_STATUS);
    Exchange rest({Command::retr, c_->nx_pop3_client_maildrop_index}, {}, nullptr,
                  Exchange::Part::rest);
    if (UINT r = run(rest); r != NX_SUCCESS) return r;
    c_->nx_pop3_client_ready_to_download = NX_FALSE;
    return NX_SUCCESS;
  }

 private:
  UINT outcome(const pop3kit::session::Operation& op, UINT lost) {
    if (lost != NX_SUCCESS) return lost;
    if (s_->engine.failed()) return fail(engine_failure(s_->engine.error()));
    if (op.outcome()) return NX_SUCCESS;
    const std::error_code ec = op.outcome().error().code;
    if (ec == errc::unsupported) return fail(NX_POP3_APOP_FAILED_MD5_DIGEST);
    if (pop3kit::is_caller_error(ec)) return refused(ec);
    if (ec == errc::connection_closed) return fail(NX_NOT_CONNECTED);
    // A -ERR leaves the session usable; anything else ended it.
    if (!op.closes_connection()) return NX_POP3_SERVER_ERROR_STATUS;
    return fail(NX_POP3_SERVER_ERROR_STATUS);
  }

  NX_POP3_CLIENT* c_;
  Session* s_;
};

// Common start of every call after create: the client exists and is connected,
// and no download is left half-read.
UINT begin(NX_POP3_CLIENT* c, Session*& s) {
  s = session_of(c);
  if (!s->transport) return NX_NOT_CONNECTED;
  if (c->nx_pop3_client_ready_to_download) return Driver(c, s).drain();
  return NX_SUCCESS;
}

UINT check_index(const NX_POP3_CLIENT* c, UINT index) {
  if (index == 0) return NX_POP3_CLIENT_INVALID_INDEX;
  if (c->nx_pop3_client_maildrop_items_valid && index > c->nx_pop3_client_maildrop_items) {
    return NX_POP3_INVALID_MAIL_ITEM;
  }
  return NX_SUCCESS;
}

// "123 octets" → 123; 0 when the text does not start with a number (the
// text of a RETR reply is free). False for a number too large for a ULONG:
// the server broke the protocol, and a wrapped or capped size would be a lie.
bool octets(std::string_view text, ULONG& size) {
  ULONG v = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(v, ULONG{10}, &v) ||
        __builtin_add_overflow(v, static_cast<ULONG>(text[i] - '0'), &v)) {
      return false;
    }
  }
  size = (i == 0 || (i < text.size() && text[i] != ' ')) ? 0 : v;
  return true;
}

// A server's 64-bit number in a NetX field; false when it does not fit
// (a protocol error, never a clamped value).
template <class T>
bool narrow(std::uint64_t v, T& out) {
  if (v > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(v);
  return true;
}

bool valid_credential(const CHAR* s, std::size_t max) {
  const std::size_t n = std::strlen(s);
  if (n == 0 || n > max) return false;
  return std::strpbrk(s, "\r\n") == nullptr;
}

std::atomic<pop3kit::netx::Connector> g_connector{nullptr};

pop3kit::Result<std::unique_ptr<net::Transport>> connect(const std::string& host,
                                                         std::uint16_t port,
                                                         std::chrono::milliseconds timeout,
                                                         net::Family family) {
  if (const auto connector = g_connector.load()) return connector(host, port, timeout, family);
  auto t = net::connect_tcp(host, port, timeout, family);
  if (!t) return std::move(t).error();
  return std::unique_ptr<net::Transport>(std::move(*t));
}

void destroy(NX_POP3_CLIENT* c) {
  pop3kit::netx::client_withdraw(c);
  delete session_of(c);
  c->nx_pop3_client_session = nullptr;
  c->nx_pop3_client_id = 0;
  c->nx_pop3_client_ready_to_download = NX_FALSE;
}

void wipe(volatile CHAR* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    p[i] = 0;
}

// Connects to host:port and logs in; the arguments are checked. On failure
// the caller destroys the session.
UINT open_session(NX_POP3_CLIENT* c, UINT apop, const std::string& host, net::Family family,
                  std::uint16_t port, const CHAR* name, const CHAR* password) {
  pop3kit::netx::client_enroll(c, new Session());
  Session* s = session_of(c);
  Driver d(c, s);

  auto t = connect(host, port, to_ms(NX_POP3_CLIENT_CONNECTION_TIMEOUT), family);
  if (!t) return t.error().code == errc::invalid_argument ? NX_POP3_PARAM_ERROR : NX_NOT_CONNECTED;
  s->transport = std::move(*t);

  pop3kit::session::AwaitGreeting greeting;
  if (UINT r = d.run(greeting); r != NX_SUCCESS) return r;
  const std::string& timestamp = greeting.apop_timestamp();
  if (timestamp.size() <= NX_POP3_SERVER_PROCESS_ID_SIZE) {
    std::memcpy(c->nx_pop3_server_process_id, timestamp.data(), timestamp.size());
    c->nx_pop3_server_process_id[timestamp.size()] = 0;
  }

  // APOP when asked and the greeting allows it; refused, USER/PASS on the
  // same connection, as NetX Duo documents. No CAPA: one command at a time.
  pop3kit::session::Facts facts;
  facts.apop_timestamp = timestamp;
  const pop3kit::LoginOptions options{
      apop ? pop3kit::LoginMethod::apop : pop3kit::LoginMethod::user_pass, true};
  pop3kit::session::Login login({name, password}, options, facts, nullptr,
                                pop3kit::session::ApopFallback::any);
  if (UINT r = d.run(login); r != NX_SUCCESS) return r;
  if (login.method() == pop3kit::LoginMethod::apop) c->nx_pop3_client_APOP_used = NX_TRUE;
  return NX_SUCCESS;
}

UINT create(NX_POP3_CLIENT* c, UINT apop, NX_IP* ip, NX_PACKET_POOL* pool,
            const NXD_ADDRESS& address, ULONG port, CHAR* name, CHAR* password) {
  if (!pop3kit::netx::ip_created(ip)) return NX_POP3_PARAM_ERROR;
  if (!pop3kit::netx::pool_created(pool)) return NX_PTR_ERROR;
  if (port == 0 || port > 65535) return NX_POP3_PARAM_ERROR;
  if (!valid_credential(name, NX_POP3_MAX_USERNAME) ||
      !valid_credential(password, NX_POP3_MAX_PASSWORD)) {
    return NX_POP3_PARAM_ERROR;
  }
  std::string host;
  net::Family family = net::Family::any;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.nxd_ip_version == NX_IP_VERSION_V4) {
    if (address.nxd_ip_address.v4 == 0) return NX_POP3_PARAM_ERROR;
    in_addr a{};
    a.s_addr = htonl(static_cast<std::uint32_t>(address.nxd_ip_address.v4));
    inet_ntop(AF_INET, &a, text, sizeof text);
    family = net::Family::ipv4;
  } else if (address.nxd_ip_version == NX_IP_VERSION_V6) {
    in6_addr a{};
    bool zero = true;
    for (int i = 0; i < 4; ++i) {
      const auto w = static_cast<std::uint32_t>(address.nxd_ip_address.v6[i]);
      if (w != 0) zero = false;
      a.s6_addr[4 * i] = static_cast<std::uint8_t>(w >> 24);
      a.s6_addr[4 * i + 1] = static_cast<std::uint8_t>(w >> 16);
      a.s6_addr[4 * i + 2] = static_cast<std::uint8_t>(w >> 8);
      a.s6_addr[4 * i + 3] = static_cast<std::uint8_t>(w);
    }
    if (zero) return NX_POP3_PARAM_ERROR;
    // fe80::/10 means nothing without an interface (a zone), and NXD_ADDRESS
    // has no field for one; the host would refuse the connect (EINVAL).
    if (a.s6_addr[0] == 0xfe && (a.s6_addr[1] & 0xc0) == 0x80) return NX_POP3_PARAM_ERROR;
    inet_ntop(AF_INET6, &a, text, sizeof text);
    family = net::Family::ipv6;
  } else {
    return NX_POP3_PARAM_ERROR;
  }
  host = text;

  // Informational copy; the field is fixed at 40 characters whatever the limit.
  std::memcpy(c->nx_pop3_client_name, name,
              std::min(std::strlen(name), sizeof c->nx_pop3_client_name - 1));
  c->nx_pop3_client_ip_ptr = ip;
  c->nx_pop3_client_packet_pool_ptr = pool;
  c->nx_pop3_client_enable_APOP_authentication = apop ? NX_TRUE : NX_FALSE;
  c->nx_pop3_client_server_reply_timeout = NX_POP3_SERVER_REPLY_TIMEOUT;
  c->nx_pop3_client_packet_timeout = NX_POP3_CLIENT_PACKET_TIMEOUT;
  c->nx_pop3_client_send_timeout = NX_POP3_TCP_SOCKET_SEND_WAIT;

  UINT r = NX_NOT_SUCCESSFUL;
  try {
    r = open_session(c, apop, host, family, static_cast<std::uint16_t>(port), name, password);
  } catch (...) {  // std::bad_alloc: nothing else throws
    r = NX_NOT_SUCCESSFUL;
  }
  wipe(c->nx_pop3_client_password, sizeof c->nx_pop3_client_password);
  if (r != NX_SUCCESS) destroy(c);
  return r;
}

// Runs f() and turns an escaping exception (std::bad_alloc) into a code.
template <class F>
UINT guarded(F&& f) {
  try {
    return f();
  } catch (...) {
    return NX_NOT_SUCCESSFUL;
  }
}

// DELE, NOOP, RSET and QUIT: one command answered by its status line, on
// a connected client with no download left half-read. After QUIT the
// connection is closed whatever the answer; like NetX Duo, nothing waits
// for the server to close it.
UINT status_only(NX_POP3_CLIENT* c, pop3kit::session::Request request) {
  return guarded([&]() -> UINT {
    Session* s = nullptr;
    if (UINT r = begin(c, s); r != NX_SUCCESS) return r;
    Driver d(c, s);
    Exchange op(request, {});
    const UINT r = d.run(op);
    if (request.command == Command::quit) d.fail(NX_SUCCESS);
    return r;
  });
}

}  // namespace

void pop3kit::netx::set_connector(Connector connector) {
  g_connector.store(connector);
}

extern "C" {

UINT nx_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication, NX_IP* ip_ptr,
                           NX_PACKET_POOL* packet_pool_ptr, ULONG server_ip_address,
                           ULONG server_port, CHAR* client_name, CHAR* client_password) {
  if (client_ptr == nullptr) return NX_PTR_ERROR;
  if (UINT r = claim(client_ptr); r != NX_SUCCESS) return r;
  std::memset(client_ptr, 0, sizeof *client_ptr);
  if (ip_ptr == nullptr || packet_pool_ptr == nullptr || client_name == nullptr ||
      client_password == nullptr) {
    return NX_PTR_ERROR;
  }
  NXD_ADDRESS address{};
  address.nxd_ip_version = NX_IP_VERSION_V4;
  address.nxd_ip_address.v4 = server_ip_address;
  return create(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, address, server_port,
                client_name, client_password);
}

UINT nxd_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication, NX_IP* ip_ptr,
                            NX_PACKET_POOL* packet_pool_ptr, NXD_ADDRESS* server_duo_address,
                            ULONG server_port, CHAR* client_name, CHAR* client_password) {
  if (client_ptr == nullptr) return NX_PTR_ERROR;
  if (UINT r = claim(client_ptr); r != NX_SUCCESS) return r;
  std::memset(client_ptr, 0, sizeof *client_ptr);
  if (ip_ptr == nullptr || packet_pool_ptr == nullptr || server_duo_address == nullptr ||
      client_name == nullptr || client_password == nullptr) {
    return NX_PTR_ERROR;
  }
  return create(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, *server_duo_address,
                server_port, client_name, client_password);
}

UINT nx_pop3_client_mail_items_get(NX_POP3_CLIENT* client_ptr, UINT* number_mail_items,
                                   ULONG* maildrop_total_size) {
  if (client_ptr == nullptr || number_mail_items == nullptr || maildrop_total_size == nullptr ||
      !created(client_ptr)) {
    return NX_PTR_ERROR;
  }
  return guarded([&]() -> UINT {
    Session* s = nullptr;
    if (UINT r = begin(client_ptr, s); r != NX_SUCCESS) return r;
    Driver d(client_ptr, s);
    Exchange stat({Command::stat}, {});
    if (UINT r = d.run(stat); r != NX_SUCCESS) return r;
    UINT count = 0;
    ULONG size = 0;
    if (!narrow(stat.mailbox().count, count) || !narrow(stat.mailbox().size, size)) {
      return d.fail(NX_POP3_SERVER_ERROR_STATUS);
    }
    client_ptr->nx_pop3_client_maildrop_items = count;
    client_ptr->nx_pop3_client_maildrop_items_valid = NX_TRUE;
    client_ptr->nx_pop3_client_total_message_size = size;
    *number_mail_items = count;
    *maildrop_total_size = size;
    return NX_SUCCESS;
  });
}

UINT nx_pop3_client_mail_item_size_get(NX_POP3_CLIENT* client_ptr, UINT mail_item, ULONG* size) {
  if (client_ptr == nullptr || size == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  if (UINT r = check_index(client_ptr, mail_item); r != NX_SUCCESS) return r;
  return guarded([&]() -> UINT {
    Session* s = nullptr;
    if (UINT r = begin(client_ptr, s); r != NX_SUCCESS) return r;
    Driver d(client_ptr, s);
    Exchange list({Command::list, mail_item}, {});
    if (UINT r = d.run(list); r != NX_SUCCESS) return r;
    if (!narrow(list.entry().size, *size)) return d.fail(NX_POP3_SERVER_ERROR_STATUS);
    return NX_SUCCESS;
  });
}

UINT nx_pop3_client_mail_item_get(NX_POP3_CLIENT* client_ptr, UINT mail_item, ULONG* item_size) {
  if (client_ptr == nullptr || item_size == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  if (UINT r = check_index(client_ptr, mail_item); r != NX_SUCCESS) return r;
  return guarded([&]() -> UINT {
    Session* s = nullptr;
    if (UINT r = begin(client_ptr, s); r != NX_SUCCESS) return r;
    Driver d(client_ptr, s);
    // The status line only: mail_item_message_get() hands the body out.
    Exchange retr({Command::retr, mail_item}, {}, nullptr, Exchange::Part::status);
    if (UINT r = d.run(retr); r != NX_SUCCESS) return r;
    if (!octets(retr.text(), *item_size)) return d.fail(NX_POP3_SERVER_ERROR_STATUS);
    s->pending = {};
    s->broken = false;
    client_ptr->nx_pop3_client_maildrop_index = mail_item;
    client_ptr->nx_pop3_client_ready_to_download = NX_TRUE;
    return NX_SUCCESS;
  });
}

UINT nx_pop3_client_mail_item_message_get(NX_POP3_CLIENT* client_ptr, NX_PACKET** recv_packet_ptr,
                                          ULONG* bytes_retrieved, UINT* final_packet) {
  if (client_ptr == nullptr || recv_packet_ptr == nullptr || bytes_retrieved == nullptr ||
      final_packet == nullptr || !created(client_ptr)) {
    return NX_PTR_ERROR;
  }
  *recv_packet_ptr = nullptr;
  *bytes_retrieved = 0;
  *final_packet = NX_FALSE;
  Session* s = session_of(client_ptr);
  if (!s->transport) return NX_NOT_CONNECTED;
  if (!client_ptr->nx_pop3_client_ready_to_download) return NX_POP3_CLIENT_INVALID_STATE;
  Driver d(client_ptr, s);
  if (s->broken) return d.fail(NX_POP3_SERVER_ERROR_STATUS);

  NX_PACKET* packet = nullptr;
  if (UINT r = nx_packet_allocate(client_ptr->nx_pop3_client_packet_pool_ptr, &packet,
                                  NX_RECEIVE_PACKET, client_ptr->nx_pop3_client_packet_timeout);
      r != NX_SUCCESS) {
    return r;
  }
  UCHAR* const out = packet->nx_packet_prepend_ptr;
  const auto capacity = static_cast<std::size_t>(packet->nx_packet_data_end - out);
  std::size_t n = 0;
  bool final = false;
  UINT r = NX_SUCCESS;
  try {
    for (;;) {
      if (!s->pending.empty()) {
        const std::size_t k = std::min(capacity - n, s->pending.size());
        std::memcpy(out + n, s->pending.data(), k);
        n += k;
        s->pending.remove_prefix(k);
        if (n < capacity) continue;
        if (s->pending.empty()) {
          // Full: look (without reading) whether the message ends here, so
          // that this packet is the final one rather than an empty next one.
          proto::Event ev = s->engine.next_event();
          if (std::holds_alternative<proto::End>(ev)) {
            final = true;
          } else if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
            s->pending = chunk->data;
          } else if (!std::holds_alternative<proto::NeedData>(ev) &&
                     !std::holds_alternative<proto::Failed>(ev)) {
            s->broken = true;  // reported by the next call; Failed is sticky anyway
          }
        }
        break;
      }
      proto::Event ev = s->engine.next_event();
      if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
        s->pending = chunk->data;
      } else if (std::holds_alternative<proto::End>(ev)) {
        final = true;
        break;
      } else if (std::holds_alternative<proto::NeedData>(ev)) {
        if (n > 0) break;  // hand out what has arrived rather than wait
        if (!s->engine.wants_read()) {
          r = d.fail(NX_NOT_CONNECTED);
          break;
        }
        if (r = d.read(); r != NX_SUCCESS) break;
      } else if (const auto* f = std::get_if<proto::Failed>(&ev)) {
        r = d.fail(Driver::engine_failure(f->code));
        break;
      } else {
        r = d.fail(NX_POP3_SERVER_ERROR_STATUS);
        break;
      }
    }
  } catch (...) {
    r = d.fail(NX_NOT_SUCCESSFUL);
  }
  if (r != NX_SUCCESS) {
    nx_packet_release(packet);
    return r;
  }
  packet->nx_packet_append_ptr = out + n;
  packet->nx_packet_length = static_cast<ULONG>(n);
  *packet->nx_packet_append_ptr = 0;  // the spare byte after the payload area
  *recv_packet_ptr = packet;
  *bytes_retrieved = static_cast<ULONG>(n);
  if (final) {
    *final_packet = NX_TRUE;
    client_ptr->nx_pop3_client_ready_to_download = NX_FALSE;
  }
  return NX_SUCCESS;
}

UINT nx_pop3_client_mail_item_delete(NX_POP3_CLIENT* client_ptr, UINT mail_index) {
  if (client_ptr == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  if (UINT r = check_index(client_ptr, mail_index); r != NX_SUCCESS) return r;
  return status_only(client_ptr, {Command::dele, mail_index});
}

UINT nx_pop3_client_noop(NX_POP3_CLIENT* client_ptr) {
  if (client_ptr == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  return status_only(client_ptr, {Command::noop});
}

UINT nx_pop3_client_rset(NX_POP3_CLIENT* client_ptr) {
  if (client_ptr == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  return status_only(client_ptr, {Command::rset});
}

UINT nx_pop3_client_quit(NX_POP3_CLIENT* client_ptr) {
  if (client_ptr == nullptr || !created(client_ptr)) return NX_PTR_ERROR;
  return status_only(client_ptr, {Command::quit});
}

UINT nx_pop3_client_delete(NX_POP3_CLIENT* client_ptr) {
  if (client_ptr == nullptr) return NX_PTR_ERROR;
  if (!created(client_ptr)) return NX_SUCCESS;  // e.g. after a failed create
  destroy(client_ptr);
  return NX_SUCCESS;
}

}  // extern "C"
