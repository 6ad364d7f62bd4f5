// libFuzzer driver for the NetX Duo compatible API (pop3kit::netx): fuzzed
// packet pool sizes, a fuzzed sequence of calls (in any order, repeated,
// after delete) and fuzzed server bytes, served from memory in fuzzed chunk
// sizes through the library's connector seam (no socket, no waiting).
//
// Input: the pool's payload and memory sizes, options, the calls, then the
// server's bytes. Besides ASan/UBSan, every packet handed out must lie in the
// pool's memory with its length consistent and a NUL after it, no call may
// return a code outside its documented set, and every packet must be back in
// the pool at the end.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "netx_internal.hpp"
#include "nxd_pop3_client.h"

namespace {

namespace net = pop3kit::net;

// What the fuzzed server says, shared by every connection of one input
// (a create after a delete reads on where the last connection stopped).
struct Feed {
  std::string bytes;
  std::size_t at = 0;
  std::size_t chunk = 1;  // most bytes per read
  int end = 0;            // at the end: 0 orderly close, 1 reset, 2 timeout
  bool refuse = false;    // the connect itself fails
};
Feed g_feed;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_netx: %s\n", what);
  std::abort();
}

class FeedTransport final : public net::Transport {
 public:
  pop3kit::Result<std::size_t> read_some(std::span<char> buf, std::chrono::milliseconds) override {
    if (closed_) return pop3kit::Error(pop3kit::errc::not_connected, "closed");
    if (g_feed.at == g_feed.bytes.size()) {
      if (g_feed.end == 1) return pop3kit::Error(pop3kit::errc::connection_closed, "reset");
      if (g_feed.end == 2) return pop3kit::Error(pop3kit::errc::timed_out, "silent");
      return std::size_t{0};
    }
    const std::size_t n = std::min({buf.size(), g_feed.chunk, g_feed.bytes.size() - g_feed.at});
    std::memcpy(buf.data(), g_feed.bytes.data() + g_feed.at, n);
    g_feed.at += n;
    return n;
  }
  pop3kit::Result<std::size_t> write_some(std::string_view data,
                                          std::chrono::milliseconds) override {
    if (closed_) return pop3kit::Error(pop3kit::errc::not_connected, "closed");
    if (data.empty()) fail("empty write");
    return data.size();
  }
  void close() noexcept override { closed_ = true; }
  std::string peer() const override { return "fuzz:110"; }

 private:
  bool closed_ = false;
};

pop3kit::Result<std::unique_ptr<net::Transport>> connect_feed(const std::string&, std::uint16_t,
                                                              std::chrono::milliseconds,
                                                              net::Family) {
  if (g_feed.refuse) return pop3kit::Error(pop3kit::errc::connect_failed, "refused");
  return std::unique_ptr<net::Transport>(std::make_unique<FeedTransport>());
}

alignas(16) unsigned char g_memory[8192];
NX_PACKET_POOL g_pool;
NX_IP g_ip;
NX_POP3_CLIENT g_client;

bool one_of(UINT r, std::initializer_list<UINT> codes) {
  return std::find(codes.begin(), codes.end(), r) != codes.end();
}

// Codes any client call may return once the client exists.
bool session_code(UINT r) {
  return one_of(r, {NX_SUCCESS, NX_PTR_ERROR, NX_NOT_CONNECTED, NX_NO_PACKET, NX_WINDOW_OVERFLOW,
                    NX_POP3_SERVER_ERROR_STATUS, NX_POP3_INVALID_MAIL_ITEM,
                    NX_POP3_CLIENT_INVALID_INDEX, NX_POP3_CLIENT_INVALID_STATE, NX_POP3_PARAM_ERROR,
                    NX_NOT_SUCCESSFUL, NX_POP3_APOP_FAILED_MD5_DIGEST});
}

// A packet from the pool (inside its memory, data inside the packet); one
// from message_get also has consistent lengths and a NUL after its data.
void check_packet(const NX_PACKET* p, ULONG bytes, bool from_message_get = true) {
  const auto* lo = reinterpret_cast<const UCHAR*>(g_memory);
  const UCHAR* hi = lo + sizeof g_memory;
  if (p == nullptr) fail("success without a packet");
  if (reinterpret_cast<const UCHAR*>(p) < lo || p->nx_packet_data_end + 1 > hi) {
    fail("packet outside the pool's memory");
  }
  if (p->nx_packet_prepend_ptr < p->nx_packet_data_start ||
      p->nx_packet_append_ptr > p->nx_packet_data_end) {
    fail("data outside the packet");
  }
  if (!from_message_get) return;
  if (static_cast<ULONG>(p->nx_packet_append_ptr - p->nx_packet_prepend_ptr) != bytes ||
      p->nx_packet_length != bytes) {
    fail("inconsistent packet length");
  }
  if (bytes > g_pool.nx_packet_pool_payload_size) fail("more bytes than the payload");
  if (*p->nx_packet_append_ptr != 0) fail("no NUL after the data");
}

// Payload and memory sizes, ordinary or at the edges (0, 1, header-sized,
// near ULONG_MAX, beyond the memory).
ULONG pick_size(FuzzedDataProvider& in, ULONG ordinary_max) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      return in.ConsumeIntegralInRange<ULONG>(1, ordinary_max);
    case 1:
      return in.ConsumeIntegralInRange<ULONG>(0, 2 * sizeof(NX_PACKET) + 2);
    case 2:
      return ULONG_MAX - in.ConsumeIntegralInRange<ULONG>(0, 2 * sizeof(NX_PACKET) + 2);
    case 3:
      return in.ConsumeIntegral<ULONG>();
    default:
      return ordinary_max;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pop3kit::netx::set_connector(connect_feed);
  FuzzedDataProvider in(data, size);

  // The pool: fuzzed sizes must give NX_SUCCESS with every packet inside the
  // memory, or NX_SIZE_ERROR; then a usable pool for the session.
  const ULONG payload = pick_size(in, 1024);
  ULONG memory_size = pick_size(in, sizeof g_memory);
  // A memory size larger than the memory is a lie the library cannot see,
  // except when the area would wrap the address space.
  std::uintptr_t end = 0;
  if (memory_size > sizeof g_memory &&
      !__builtin_add_overflow(reinterpret_cast<std::uintptr_t>(g_memory), memory_size, &end)) {
    memory_size = sizeof g_memory;
  }
  std::memset(&g_pool, 0, sizeof g_pool);
  UINT r = nx_packet_pool_create(&g_pool, nullptr, payload, g_memory, memory_size);
  if (r == NX_SUCCESS) {
    if (memory_size > sizeof g_memory) fail("a pool past the end of the address space");
    if (nx_packet_pool_create(&g_pool, nullptr, payload, g_memory, memory_size) != NX_PTR_ERROR) {
      fail("pool created twice");
    }
    std::vector<NX_PACKET*> all;
    NX_PACKET* p = nullptr;
    while (nx_packet_allocate(&g_pool, &p, NX_RECEIVE_PACKET, NX_NO_WAIT) == NX_SUCCESS) {
      if (static_cast<ULONG>(p->nx_packet_data_end - p->nx_packet_data_start) != payload) {
        fail("payload size");
      }
      check_packet(p, 0, false);
      all.push_back(p);
    }
    if (all.size() != g_pool.nx_packet_pool_total) fail("pool count");
    for (NX_PACKET* q : all)
      if (nx_packet_release(q) != NX_SUCCESS) fail("release");
  } else if (r != NX_SIZE_ERROR) {
    fail("pool create: unexpected code");
  } else if (nx_packet_pool_create(&g_pool, nullptr, 256, g_memory, sizeof g_memory) !=
             NX_SUCCESS) {
    fail("fallback pool");
  }

  std::memset(&g_ip, 0, sizeof g_ip);
  if (nx_ip_create(&g_ip, nullptr, IP_ADDRESS(127, 0, 0, 1), 0xFF000000UL, &g_pool, nullptr,
                   nullptr, 0, 1) != NX_SUCCESS) {
    fail("ip create");
  }

  const UINT apop = in.ConsumeBool() ? NX_TRUE : NX_FALSE;
  g_feed = Feed{};
  g_feed.chunk = in.ConsumeIntegralInRange<std::size_t>(1, 600);
  g_feed.end = in.ConsumeIntegralInRange<int>(0, 2);
  g_feed.refuse = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  const std::vector<std::uint8_t> calls =
      in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange<std::size_t>(0, 24));
  g_feed.bytes = in.ConsumeRemainingBytesAsString();

  CHAR user[] = "user";
  CHAR pass[] = "secret";
  auto create = [&]() {
    const UINT c = nx_pop3_client_create(&g_client, apop, &g_ip, &g_pool, IP_ADDRESS(127, 0, 0, 1),
                                         110, user, pass);
    if (!session_code(c)) fail("create: unexpected code");
    g_client.nx_pop3_client_packet_timeout = NX_NO_WAIT;  // never wait for the pool
    return c;
  };
  std::memset(&g_client, 0, sizeof g_client);
  create();

  std::vector<NX_PACKET*> held;
  for (const std::uint8_t b : calls) {
    const UINT index = b / 13;  // 0..19: 0 is the invalid index
    UINT items = 0;
    ULONG n = 0;
    switch (b % 13) {
      case 0:
        r = nx_pop3_client_mail_items_get(&g_client, &items, &n);
        break;
      case 1:
        r = nx_pop3_client_mail_item_size_get(&g_client, index, &n);
        break;
      case 2:
        r = nx_pop3_client_mail_item_get(&g_client, index, &n);
        break;
      case 3:
      case 4: {  // one packet, kept (the pool may run dry) or released
        NX_PACKET* p = nullptr;
        UINT final = 7;
        r = nx_pop3_client_mail_item_message_get(&g_client, &p, &n, &final);
        if (r == NX_SUCCESS) {
          check_packet(p, n);
          if (final != NX_TRUE && final != NX_FALSE) fail("final flag");
          if (b % 13 == 3) {
            held.push_back(p);
          } else if (nx_packet_release(p) != NX_SUCCESS) {
            fail("release");
          }
        } else if (p != nullptr) {
          fail("a packet with an error");
        }
        break;
      }
      case 5: {  // the whole message, as the NetX demo loops
        for (int guard = 0; guard < 1 << 16; ++guard) {
          NX_PACKET* p = nullptr;
          UINT final = 7;
          r = nx_pop3_client_mail_item_message_get(&g_client, &p, &n, &final);
          if (r != NX_SUCCESS) break;
          check_packet(p, n);
          if (nx_packet_release(p) != NX_SUCCESS) fail("release");
          if (final == NX_TRUE) break;
          if (final != NX_FALSE) fail("final flag");
        }
        break;
      }
      case 6:
        r = nx_pop3_client_mail_item_delete(&g_client, index);
        break;
      case 7:
        r = nx_pop3_client_noop(&g_client);
        break;
      case 8:
        r = nx_pop3_client_rset(&g_client);
        break;
      case 9:
        r = nx_pop3_client_quit(&g_client);
        break;
      case 10:
        r = nx_pop3_client_delete(&g_client);
        if (r != NX_SUCCESS) fail("delete");
        break;
      case 11:
        r = create();  // NX_PTR_ERROR on a live client
        break;
      default:
        r = NX_SUCCESS;
        for (NX_PACKET* p : held)
          if (nx_packet_release(p) != NX_SUCCESS) fail("release held");
        held.clear();
        break;
    }
    if (!session_code(r)) {
      std::fprintf(stderr, "fuzz_netx: call %d returned 0x%x\n", b % 13, r);
      fail("unexpected code");
    }
  }

  for (NX_PACKET* p : held)
    if (nx_packet_release(p) != NX_SUCCESS) fail("release held");
  if (nx_pop3_client_delete(&g_client) != NX_SUCCESS) fail("final delete");
  if (g_pool.nx_packet_pool_available != g_pool.nx_packet_pool_total) fail("packets leaked");
  if (nx_ip_delete(&g_ip) != NX_SUCCESS || nx_packet_pool_delete(&g_pool) != NX_SUCCESS) {
    fail("teardown");
  }
  return 0;
}
