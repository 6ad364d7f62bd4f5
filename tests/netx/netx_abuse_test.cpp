// The NetX Duo compatible API abused on purpose: pool and IP edge sizes that
// would wrap a size computation, objects created or deleted twice, calls in
// the wrong order or after delete, structures never created (zeroed or
// garbage), server numbers too large for their fields. Every call must give
// its documented code and leak nothing (no socket, no memory: run under
// ASan/LSan, and under valgrind by the ctest labelled "valgrind").
#include <dirent.h>

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "netx_server.hpp"
#include "nxd_pop3_client.h"

namespace pop3kit::netx_test {
namespace {

using S = NetxServer;

constexpr ULONG kLoopback = IP_ADDRESS(127, 0, 0, 1);

// Open file descriptors of this process: a leaked socket shows here.
int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr)
      ++n;
    closedir(d);
  }
  return n;
}

std::vector<S::Step> login(std::vector<S::Step> rest = {}) {
  std::vector<S::Step> s{S::send("+OK ready\r\n"), S::expect("USER user"), S::send("+OK\r\n"),
                         S::expect("PASS secret"), S::send("+OK\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

class NetxAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_ = open_fds();
    memory_.assign(16 * 1024, 0);
    ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("pool"), 512, memory_.data(),
                                    static_cast<ULONG>(memory_.size())),
              NX_SUCCESS);
    ASSERT_EQ(nx_ip_create(&ip_, const_cast<CHAR*>("ip"), kLoopback, 0xFF000000UL, &pool_, nullptr,
                           nullptr, 0, 1),
              NX_SUCCESS);
  }
  void TearDown() override {
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
    EXPECT_EQ(pool_.nx_packet_pool_available, pool_.nx_packet_pool_total) << "packets leaked";
    nx_ip_delete(&ip_);
    nx_packet_pool_delete(&pool_);
    EXPECT_EQ(open_fds(), fds_) << "a socket leaked";
  }

  UINT create(const NetxServer& server, NX_POP3_CLIENT* c = nullptr) {
    return nx_pop3_client_create(c != nullptr ? c : &client_, NX_FALSE, &ip_, &pool_, kLoopback,
                                 server.port(), user_, pass_);
  }

  int fds_ = 0;
  CHAR user_[5] = "user";
  CHAR pass_[7] = "secret";
  std::vector<unsigned char> memory_;
  NX_PACKET_POOL pool_{};
  NX_IP ip_{};
  NX_POP3_CLIENT client_{};
};

// A header-sized quantity: what a packet costs besides its payload.
constexpr ULONG kHeader = sizeof(NX_PACKET);

TEST_F(NetxAbuseTest, PayloadSizesThatWouldWrapAreSizeErrors) {
  alignas(16) static unsigned char small[512];
  // header + payload + 1 (and its rounding) wraps for each of these; before
  // the checks some made a "successful" pool whose packets ran past `small`.
  for (ULONG payload :
       {ULONG_MAX, static_cast<ULONG>(SIZE_MAX), ULONG_MAX - kHeader, ULONG_MAX - kHeader + 1,
        ULONG_MAX - kHeader - 1, ULONG_MAX - 15, ULONG_MAX / 2 + 1}) {
    SCOPED_TRACE(payload);
    NX_PACKET_POOL pool{};
    EXPECT_EQ(nx_packet_pool_create(&pool, nullptr, payload, small, sizeof small), NX_SIZE_ERROR);
    EXPECT_EQ(pool.nx_packet_pool_id, 0u) << "not created";
    NX_PACKET* p = nullptr;
    EXPECT_EQ(nx_packet_allocate(&pool, &p, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_PTR_ERROR);
  }
}

TEST_F(NetxAbuseTest, PoolEdgeSizes) {
  alignas(16) static unsigned char mem[4096];
  struct Case {
    ULONG payload;
    ULONG memory;
    UINT expected;
  };
  const Case cases[] = {
      {0, sizeof mem, NX_SIZE_ERROR},
      {1, sizeof mem, NX_SUCCESS},
      {kHeader, sizeof mem, NX_SUCCESS},
      {sizeof mem, sizeof mem, NX_SIZE_ERROR},  // the header does not fit beside it
      {1, 0, NX_SIZE_ERROR},
      {1, 1, NX_SIZE_ERROR},
      {1, kHeader, NX_SIZE_ERROR},    // the header alone; no room for the payload
      {1, ULONG_MAX, NX_SIZE_ERROR},  // would end past the address space
      {1, static_cast<ULONG>(SIZE_MAX), NX_SIZE_ERROR},
      {ULONG_MAX, ULONG_MAX, NX_SIZE_ERROR},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("payload " + std::to_string(c.payload) + " memory " + std::to_string(c.memory));
    NX_PACKET_POOL pool{};
    ASSERT_EQ(nx_packet_pool_create(&pool, nullptr, c.payload, mem, c.memory), c.expected);
    if (c.expected != NX_SUCCESS) continue;
    // Every packet lies inside the memory, the spare byte included.
    std::vector<NX_PACKET*> got;
    NX_PACKET* p = nullptr;
    while (nx_packet_allocate(&pool, &p, NX_RECEIVE_PACKET, NX_NO_WAIT) == NX_SUCCESS) {
      EXPECT_GE(reinterpret_cast<unsigned char*>(p), mem);
      EXPECT_LE(p->nx_packet_data_end + 1, mem + c.memory);
      EXPECT_EQ(static_cast<ULONG>(p->nx_packet_data_end - p->nx_packet_data_start), c.payload);
      std::memset(p->nx_packet_data_start, 0x5A, c.payload + 1);
      got.push_back(p);
    }
    EXPECT_EQ(got.size(), pool.nx_packet_pool_total);
    EXPECT_EQ(nx_packet_allocate(&pool, &p, c.payload + 1, NX_NO_WAIT), NX_INVALID_PARAMETERS);
    for (NX_PACKET* q : got)
      EXPECT_EQ(nx_packet_release(q), NX_SUCCESS);
    EXPECT_EQ(nx_packet_pool_delete(&pool), NX_SUCCESS);
  }
}

TEST_F(NetxAbuseTest, PoolAndIpCreatedTwiceOrUsedAfterDelete) {
  // A second create of a live pool would hand its packets out twice.
  NX_PACKET* held = nullptr;
  ASSERT_EQ(nx_packet_allocate(&pool_, &held, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_SUCCESS);
  const ULONG available = pool_.nx_packet_pool_available;
  EXPECT_EQ(nx_packet_pool_create(&pool_, nullptr, 64, memory_.data(),
                                  static_cast<ULONG>(memory_.size())),
            NX_PTR_ERROR);
  EXPECT_EQ(pool_.nx_packet_pool_available, available) << "the live pool is untouched";
  EXPECT_EQ(pool_.nx_packet_pool_payload_size, 512u);
  EXPECT_EQ(nx_packet_release(held), NX_SUCCESS);
  EXPECT_EQ(nx_packet_release(held), NX_PTR_ERROR);
  EXPECT_EQ(pool_.nx_packet_pool_invalid_releases, 1u);

  // Retrieve: reversed pointers copy nothing.
  ASSERT_EQ(nx_packet_allocate(&pool_, &held, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_SUCCESS);
  held->nx_packet_append_ptr = held->nx_packet_prepend_ptr - 1;
  char buf[8] = {};
  ULONG copied = 7;
  EXPECT_EQ(nx_packet_data_retrieve(held, buf, &copied), NX_INVALID_PACKET);
  EXPECT_EQ(copied, 7u);
  EXPECT_EQ(nx_packet_data_retrieve(held, nullptr, &copied), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_data_retrieve(held, buf, nullptr), NX_PTR_ERROR);
  held->nx_packet_append_ptr = held->nx_packet_prepend_ptr;
  EXPECT_EQ(nx_packet_data_retrieve(held, buf, &copied), NX_SUCCESS);
  EXPECT_EQ(copied, 0u);
  EXPECT_EQ(nx_packet_release(held), NX_SUCCESS);
  EXPECT_EQ(nx_packet_allocate(&pool_, nullptr, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_allocate(nullptr, &held, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_PTR_ERROR);

  // A wait far beyond a century is served when a packet comes back.
  std::vector<NX_PACKET*> all;
  NX_PACKET* p = nullptr;
  while (nx_packet_allocate(&pool_, &p, NX_RECEIVE_PACKET, NX_NO_WAIT) == NX_SUCCESS)
    all.push_back(p);
  ASSERT_FALSE(all.empty());
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    nx_packet_release(all.back());
  });
  EXPECT_EQ(nx_packet_allocate(&pool_, &p, NX_RECEIVE_PACKET, ULONG_MAX - 1), NX_SUCCESS);
  releaser.join();
  all.back() = p;
  for (NX_PACKET* q : all)
    EXPECT_EQ(nx_packet_release(q), NX_SUCCESS);

  // IP instance: twice, a pool not created, after delete.
  EXPECT_EQ(nx_ip_create(&ip_, nullptr, 0, 0, &pool_, nullptr, nullptr, 0, 0), NX_PTR_ERROR);
  EXPECT_EQ(ip_.nx_ip_address, kLoopback) << "the live instance is untouched";
  NX_IP other{};
  NX_PACKET_POOL never{};
  EXPECT_EQ(nx_ip_create(&other, nullptr, 0, 0, &never, nullptr, nullptr, 0, 0), NX_PTR_ERROR);
  EXPECT_EQ(nx_tcp_enable(&ip_), NX_SUCCESS);
  EXPECT_EQ(nx_tcp_enable(&ip_), NX_ALREADY_ENABLED);
  EXPECT_EQ(nx_ip_delete(&ip_), NX_SUCCESS);
  EXPECT_EQ(nx_ip_delete(&ip_), NX_PTR_ERROR);
  EXPECT_EQ(nx_icmp_enable(&ip_), NX_PTR_ERROR);
  EXPECT_EQ(nx_arp_enable(&ip_, nullptr, 0), NX_PTR_ERROR);
  EXPECT_EQ(nx_ip_create(&ip_, nullptr, kLoopback, 0, &pool_, nullptr, nullptr, 0, 0), NX_SUCCESS);

  // The pool after delete: nothing works, and delete again is an error.
  NX_PACKET* out = nullptr;
  ASSERT_EQ(nx_packet_allocate(&pool_, &out, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_SUCCESS);
  EXPECT_EQ(nx_packet_pool_delete(&pool_), NX_SUCCESS);
  EXPECT_EQ(nx_packet_pool_delete(&pool_), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_release(out), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_allocate(&pool_, &out, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_PTR_ERROR);
  ASSERT_EQ(nx_packet_pool_create(&pool_, nullptr, 512, memory_.data(),
                                  static_cast<ULONG>(memory_.size())),
            NX_SUCCESS);
}

// Every service on a structure never created: zeroed, and full of garbage
// that even carries the right id (the library keeps which clients are live).
TEST_F(NetxAbuseTest, ClientsNeverCreated) {
  NX_POP3_CLIENT zero{};
  NX_POP3_CLIENT garbage;
  std::memset(&garbage, 0xA5, sizeof garbage);
  garbage.nx_pop3_client_id = 0x504B5033UL;  // the library's id, but never created
  for (NX_POP3_CLIENT* c : {&zero, &garbage}) {
    UINT items = 0;
    ULONG size = 0;
    NX_PACKET* p = nullptr;
    UINT final = 0;
    EXPECT_EQ(nx_pop3_client_mail_items_get(c, &items, &size), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_mail_item_size_get(c, 1, &size), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_mail_item_get(c, 1, &size), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_mail_item_message_get(c, &p, &size, &final), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_mail_item_delete(c, 1), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_noop(c), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_rset(c), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_quit(c), NX_PTR_ERROR);
    EXPECT_EQ(nx_pop3_client_delete(c), NX_SUCCESS) << "a no-op";
    EXPECT_EQ(nx_pop3_client_delete(c), NX_SUCCESS);
  }
  // A failed create leaves a client that is not live either.
  EXPECT_EQ(nx_pop3_client_create(&garbage, NX_FALSE, &ip_, &pool_, kLoopback, 0, user_, pass_),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_noop(&garbage), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_delete(&garbage), NX_SUCCESS);
}

// Create on a live client: an error, the live client keeps working, and
// nothing leaks (the fixture counts descriptors; LSan/valgrind the memory).
TEST_F(NetxAbuseTest, CreateOnALiveClientIsAnError) {
  NetxServer server(login({S::expect("NOOP"), S::send("+OK\r\n"), S::expect("QUIT"),
                           S::send("+OK bye\r\n"), S::expect_close()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  const int connected = open_fds();
  EXPECT_EQ(create(server), NX_PTR_ERROR);
  NXD_ADDRESS a{};
  a.nxd_ip_version = NX_IP_VERSION_V4;
  a.nxd_ip_address.v4 = kLoopback;
  EXPECT_EQ(
      nxd_pop3_client_create(&client_, NX_FALSE, &ip_, &pool_, &a, server.port(), user_, pass_),
      NX_PTR_ERROR);
  // Even with bad arguments the live client is left alone.
  EXPECT_EQ(nx_pop3_client_create(&client_, NX_FALSE, nullptr, nullptr, 0, 0, nullptr, nullptr),
            NX_PTR_ERROR);
  EXPECT_EQ(open_fds(), connected);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
  // Quit closed the connection; the client is still live until delete.
  EXPECT_EQ(create(server), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_PTR_ERROR);
}

// A caller that wipes a live client and creates it again: the old
// connection is closed and freed by the new create, not leaked.
TEST_F(NetxAbuseTest, CreateOverAWipedLiveClientFreesTheOldOne) {
  NetxServer first(login({S::expect_close()}));
  ASSERT_EQ(create(first), NX_SUCCESS);
  std::memset(&client_, 0, sizeof client_);
  NetxServer second(login({S::expect("QUIT"), S::send("+OK\r\n"), S::expect_close()}));
  ASSERT_EQ(create(second), NX_SUCCESS);
  EXPECT_EQ(first.finish(), "");
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(second.finish(), "");
}

TEST_F(NetxAbuseTest, WrongCallOrder) {
  const std::string body = "Subject: x\r\n\r\nhi\r\n";
  NetxServer server(login({S::expect("RETR 1"), S::send("+OK 18 octets\r\n" + body + ".\r\n"),
                           S::expect("QUIT"), S::send("+OK\r\n"), S::expect_close()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  NX_PACKET* p = nullptr;
  ULONG bytes = 0;
  UINT final = 0;
  // message_get before any RETR, and index 0.
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final),
            NX_POP3_CLIENT_INVALID_STATE);
  ULONG size = 0;
  EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 0, &size), NX_POP3_CLIENT_INVALID_INDEX);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 0), NX_POP3_CLIENT_INVALID_INDEX);
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  EXPECT_EQ(size, 18u);
  std::string got;
  for (int i = 0; i < 100 && final != NX_TRUE; ++i) {
    ASSERT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final), NX_SUCCESS);
    got.append(reinterpret_cast<const char*>(p->nx_packet_prepend_ptr), bytes);
    EXPECT_EQ(nx_packet_release(p), NX_SUCCESS);
  }
  EXPECT_EQ(got, body);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final),
            NX_POP3_CLIENT_INVALID_STATE);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  // After quit: not connected, whatever the call.
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_NOT_CONNECTED);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final), NX_NOT_CONNECTED);
  EXPECT_EQ(server.finish(), "");
}

// "+OK n octets" with n too large for a ULONG: a protocol error that closes
// the connection, never a wrapped size; ULONG_MAX itself is fine.
TEST_F(NetxAbuseTest, RetrSizeThatOverflowsIsAProtocolError) {
  for (const char* number : {"99999999999999999999", "18446744073709551616"}) {
    SCOPED_TRACE(number);
    NetxServer server(login({S::expect("RETR 1"),
                             S::send(std::string("+OK ") + number + " octets\r\nbody\r\n.\r\n"),
                             S::expect_close()}));
    ASSERT_EQ(create(server), NX_SUCCESS);
    ULONG size = 7;
    EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_POP3_SERVER_ERROR_STATUS);
    EXPECT_EQ(client_.nx_pop3_client_ready_to_download, NX_FALSE);
    NX_PACKET* p = nullptr;
    ULONG bytes = 0;
    UINT final = 0;
    EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final), NX_NOT_CONNECTED);
    EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
    EXPECT_EQ(server.finish(), "");
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  }
  if (sizeof(ULONG) == 8) {
    NetxServer server(
        login({S::expect("RETR 1"), S::send("+OK 18446744073709551615 octets\r\nb\r\n.\r\n"),
               S::expect_close()}));
    ASSERT_EQ(create(server), NX_SUCCESS);
    ULONG size = 0;
    EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
    EXPECT_EQ(size, ULONG_MAX);
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
    EXPECT_EQ(server.finish(), "");
  }
}

// STAT's count above UINT_MAX, and numbers the engine already refuses.
TEST_F(NetxAbuseTest, StatAndListNumbersThatOverflow) {
  struct Case {
    const char* command;
    const char* reply;
  };
  const Case cases[] = {
      {"STAT", "+OK 4294967296 10\r\n"},
      {"STAT", "+OK 1 99999999999999999999\r\n"},
      {"LIST 1", "+OK 1 18446744073709551616\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reply);
    NetxServer server(login({S::expect(c.command), S::send(c.reply), S::expect_close()}));
    ASSERT_EQ(create(server), NX_SUCCESS);
    UINT items = 7;
    ULONG size = 7;
    const UINT r = std::string(c.command) == "STAT"
                       ? nx_pop3_client_mail_items_get(&client_, &items, &size)
                       : nx_pop3_client_mail_item_size_get(&client_, 1, &size);
    EXPECT_EQ(r, NX_POP3_SERVER_ERROR_STATUS);
    EXPECT_EQ(items, 7u);
    EXPECT_EQ(client_.nx_pop3_client_maildrop_items_valid, NX_FALSE);
    EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
    EXPECT_EQ(server.finish(), "");
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  }
}

TEST_F(NetxAbuseTest, LinkLocalAddressIsAParameterError) {
  NXD_ADDRESS a{};
  a.nxd_ip_version = NX_IP_VERSION_V6;
  a.nxd_ip_address.v6[0] = 0xFE800000UL;
  a.nxd_ip_address.v6[3] = 1;
  EXPECT_EQ(nxd_pop3_client_create(&client_, NX_FALSE, &ip_, &pool_, &a, 110, user_, pass_),
            NX_POP3_PARAM_ERROR);
  a.nxd_ip_address.v6[0] = 0xFEBF0000UL;  // still fe80::/10
  EXPECT_EQ(nxd_pop3_client_create(&client_, NX_FALSE, &ip_, &pool_, &a, 110, user_, pass_),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_PTR_ERROR);
}

}  // namespace
}  // namespace pop3kit::netx_test
