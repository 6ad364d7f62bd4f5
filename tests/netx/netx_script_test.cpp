// The NetX Duo compatible API against a scripted loopback server: message
// splitting, dot-unstuffing, authentication paths, pool exhaustion, argument
// errors and connection failures.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "netx_server.hpp"
#include "nxd_pop3_client.h"
#include "pop3kit/apop.hpp"

namespace pop3kit::netx_test {
namespace {

using S = NetxServer;

constexpr ULONG kLoopback = IP_ADDRESS(127, 0, 0, 1);

const char* const kGreeting = "+OK POP3 ready\r\n";
const char* const kTimestamp = "<1896.697170952@dbc.mtview.ca.us>";

// USER/PASS login steps for user "user", password "secret".
std::vector<S::Step> login(std::vector<S::Step> rest = {}) {
  std::vector<S::Step> s{S::send(kGreeting), S::expect("USER user"), S::send("+OK\r\n"),
                         S::expect("PASS secret"), S::send("+OK logged in\r\n")};
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

std::vector<S::Step> quit() {
  return {S::expect("QUIT"), S::send("+OK bye\r\n"), S::expect_close()};
}

std::vector<S::Step> cat(std::vector<std::vector<S::Step>> parts) {
  std::vector<S::Step> out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Retrieved {
  UINT status = NX_SUCCESS;  // the first non-success status, if any
  std::string data;
  int packets = 0;
  int finals = 0;
  bool final_last = false;  // the final flag came on the last packet
  ULONG bytes = 0;          // sum of bytes_retrieved
  bool lengths_ok = true;   // bytes_retrieved == nx_packet_length == append - prepend
  bool nul_ok = true;       // a NUL follows the data
};

class NetxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nx_system_initialize();
    memory_.assign(64 * 1024, 0);
    ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("pool"), payload_, memory_.data(),
                                    static_cast<ULONG>(memory_.size())),
              NX_SUCCESS);
    ASSERT_EQ(nx_ip_create(&ip_, const_cast<CHAR*>("ip"), IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL,
                           &pool_, nullptr, nullptr, 0, 1),
              NX_SUCCESS);
    ASSERT_EQ(nx_tcp_enable(&ip_), NX_SUCCESS);
  }
  void TearDown() override {
    nx_pop3_client_delete(&client_);
    EXPECT_EQ(pool_.nx_packet_pool_available, pool_.nx_packet_pool_total) << "packets leaked";
    nx_ip_delete(&ip_);
    nx_packet_pool_delete(&pool_);
  }

  UINT create(const NetxServer& server, UINT apop = NX_FALSE, const char* user = "user",
              const char* password = "secret") {
    return nx_pop3_client_create(&client_, apop, &ip_, &pool_, kLoopback, server.port(),
                                 const_cast<CHAR*>(user), const_cast<CHAR*>(password));
  }

  // The message_get loop of the NetX demo, recording everything.
  Retrieved fetch() {
    Retrieved r;
    for (int guard = 0; guard < 100000; ++guard) {
      NX_PACKET* p = nullptr;
      ULONG bytes = 99;
      UINT final = 99;
      const UINT st = nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final);
      if (st != NX_SUCCESS) {
        r.status = st;
        EXPECT_EQ(p, nullptr);
        return r;
      }
      ++r.packets;
      r.bytes += bytes;
      if (bytes != p->nx_packet_length ||
          static_cast<ULONG>(p->nx_packet_append_ptr - p->nx_packet_prepend_ptr) != bytes ||
          p->nx_packet_next != nullptr) {
        r.lengths_ok = false;
      }
      if (*p->nx_packet_append_ptr != 0) r.nul_ok = false;
      r.data.append(reinterpret_cast<const char*>(p->nx_packet_prepend_ptr), bytes);
      EXPECT_EQ(nx_packet_release(p), NX_SUCCESS);
      if (final == NX_TRUE) {
        ++r.finals;
        r.final_last = true;
        return r;
      }
      EXPECT_EQ(final, NX_FALSE);
    }
    ADD_FAILURE() << "no final packet";
    return r;
  }

  void expect_whole(const Retrieved& r, const std::string& body) {
    EXPECT_EQ(r.status, NX_SUCCESS);
    EXPECT_EQ(r.data, body);
    EXPECT_EQ(r.bytes, body.size());
    EXPECT_EQ(r.finals, 1);
    EXPECT_TRUE(r.final_last);
    EXPECT_TRUE(r.lengths_ok);
    EXPECT_TRUE(r.nul_ok);
    // After the final packet there is nothing more to get.
    NX_PACKET* p = nullptr;
    ULONG bytes = 0;
    UINT final = 0;
    EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final),
              NX_POP3_CLIENT_INVALID_STATE);
  }

  ULONG payload_ = 1024;
  std::vector<unsigned char> memory_;
  NX_PACKET_POOL pool_{};
  NX_IP ip_{};
  NX_POP3_CLIENT client_{};
};

TEST_F(NetxTest, OneMailInThreeDataPackets) {
  const std::string body = "Subject: one\r\n\r\nfirst part, second part, third part\r\n";
  NetxServer server(
      cat({login({S::expect("STAT"), S::send("+OK 1 52\r\n"), S::expect("RETR 1"),
                  S::send("+OK 52 octets\r\n" + body.substr(0, 14)), S::pause(),
                  S::send(body.substr(14, 20)), S::pause(), S::send(body.substr(34) + ".\r\n")}),
           quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  EXPECT_EQ(items, 1u);
  EXPECT_EQ(total, 52u);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  EXPECT_EQ(size, 52u);
  const Retrieved r = fetch();
  expect_whole(r, body);
  EXPECT_GE(r.packets, 1);
  EXPECT_LE(r.packets, 4);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, TwoMailsWithSizeAndDelete) {
  const std::string m1 = "Subject: a\r\n\r\naaa\r\n";
  const std::string m2 = "Subject: b\r\n\r\nbbbb\r\n";
  NetxServer server(
      cat({login({S::expect("STAT"), S::send("+OK 2 40\r\n"), S::expect("LIST 2"),
                  S::send("+OK 2 21\r\n"), S::expect("RETR 1"),
                  S::send("+OK 19 octets\r\n" + m1 + ".\r\n"), S::expect("DELE 1"),
                  S::send("+OK marked\r\n"), S::expect("RETR 2"), S::send("+OK\r\n" + m2 + ".\r\n"),
                  S::expect("DELE 2"), S::send("+OK marked\r\n")}),
           quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  ASSERT_EQ(items, 2u);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_size_get(&client_, 2, &size), NX_SUCCESS);
  EXPECT_EQ(size, 21u);
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  EXPECT_EQ(size, 19u);
  expect_whole(fetch(), m1);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 1), NX_SUCCESS);
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 2, &size), NX_SUCCESS);
  EXPECT_EQ(size, 0u) << "no size in the reply";
  expect_whole(fetch(), m2);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 2), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, FinalDataPacketIsExactlyTheTerminator) {
  const std::string body = "Subject: t\r\n\r\nhello";
  NetxServer server(cat({login({S::expect("RETR 1"), S::send("+OK 21 octets\r\n" + body),
                                S::pause(), S::send("\r\n.\r\n")}),
                         quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  expect_whole(fetch(), body + "\r\n");
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, FinalPacketMayCarryZeroBytes) {
  const std::string body = "Subject: z\r\n\r\nhello\r\n";
  NetxServer server(
      cat({login({S::expect("RETR 1"), S::send("+OK\r\n" + body), S::pause(), S::send(".\r\n")}),
           quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  const Retrieved r = fetch();
  expect_whole(r, body);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

// The body's last CRLF and the ".CRLF" terminator, split at every position,
// also with the last body bytes in the same segment as the split.
TEST_F(NetxTest, TerminatorSplitAtEveryPosition) {
  const std::string body = "Subject: s\r\n\r\nline one\r\n.dotted\r\nend";
  const std::string wire = "Subject: s\r\n\r\nline one\r\n..dotted\r\nend\r\n.\r\n";
  const std::string tail = "\r\n.\r\n";
  for (std::size_t cut = wire.size() - tail.size() - 3; cut < wire.size(); ++cut) {
    SCOPED_TRACE("split at " + std::to_string(cut));
    NetxServer server(cat({login({S::expect("RETR 1"), S::send("+OK\r\n" + wire.substr(0, cut)),
                                  S::pause(30), S::send(wire.substr(cut))}),
                           quit()}));
    ASSERT_EQ(create(server), NX_SUCCESS);
    ULONG size = 0;
    ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
    expect_whole(fetch(), body + "\r\n");
    EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
    EXPECT_EQ(server.finish(), "");
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  }
}

// Every byte in its own segment, with packets of 1 and of 3 bytes.
TEST_F(NetxTest, OneByteSegmentsAndTinyPackets) {
  for (ULONG payload : {1UL, 3UL}) {
    SCOPED_TRACE("payload " + std::to_string(payload));
    nx_packet_pool_delete(&pool_);
    ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("tiny"), payload, memory_.data(),
                                    static_cast<ULONG>(memory_.size())),
              NX_SUCCESS);
    const std::string wire = "+OK 9 octets\r\nab\r\n..\r\n.c\r\n.\r\n";
    std::vector<S::Step> steps;
    for (char ch : wire) {
      steps.push_back(S::send(std::string(1, ch)));
      steps.push_back(S::pause(2));
    }
    NetxServer server(cat({login({S::expect("RETR 1")}), steps, quit()}));
    ASSERT_EQ(create(server), NX_SUCCESS);
    ULONG size = 0;
    ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
    EXPECT_EQ(size, 9u);
    const Retrieved r = fetch();
    expect_whole(r, "ab\r\n.\r\nc\r\n");
    EXPECT_GE(static_cast<ULONG>(r.packets), 10u / payload);
    EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
    EXPECT_EQ(server.finish(), "");
    EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  }
}

TEST_F(NetxTest, StatusLinesSplitAcrossReads) {
  const std::string body = "x\r\n";
  NetxServer server(cat({{S::send("+OK PO"),
                          S::pause(),
                          S::send("P3 ready\r"),
                          S::pause(),
                          S::send("\n"),
                          S::expect("USER user"),
                          S::send("+"),
                          S::pause(),
                          S::send("OK\r\n"),
                          S::expect("PASS secret"),
                          S::send("+OK\r"),
                          S::pause(),
                          S::send("\n"),
                          S::expect("STAT"),
                          S::send("+OK 3 1"),
                          S::pause(),
                          S::send("23\r\n"),
                          S::expect("RETR 3"),
                          S::send("+OK 12"),
                          S::pause(),
                          S::send("3 oct"),
                          S::pause(),
                          S::send("ets\r"),
                          S::pause(),
                          S::send("\n" + body + ".\r\n")},
                         quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  EXPECT_EQ(items, 3u);
  EXPECT_EQ(total, 123u);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 3, &size), NX_SUCCESS);
  EXPECT_EQ(size, 123u);
  expect_whole(fetch(), body);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, DotStuffedLinesAreUnstuffed) {
  const std::string wire = "..\r\n...\r\n..leading dot\r\nmiddle..dots\r\n. \r\n";
  const std::string body = ".\r\n..\r\n.leading dot\r\nmiddle..dots\r\n \r\n";
  NetxServer server(
      cat({login({S::expect("RETR 1"), S::send("+OK\r\n" + wire + ".\r\n")}), quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  expect_whole(fetch(), body);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, ApopWhenTheGreetingHasATimestamp) {
  const std::string digest = auth::apop_digest(kTimestamp, "secret");
  NetxServer server(cat(
      {{S::send(std::string("+OK ready ") + kTimestamp + "\r\n"), S::expect("APOP user " + digest),
        S::send("+OK welcome\r\n"), S::expect("NOOP"), S::send("+OK\r\n")},
       quit()}));
  ASSERT_EQ(create(server, NX_TRUE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_TRUE);
  EXPECT_STREQ(client_.nx_pop3_server_process_id, kTimestamp);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, UserPassWhenTheGreetingHasNoTimestamp) {
  NetxServer server(cat({login(), quit()}));
  ASSERT_EQ(create(server, NX_TRUE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  EXPECT_STREQ(client_.nx_pop3_server_process_id, "");
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, UserPassWithATimestampWhenApopIsNotAsked) {
  NetxServer server(
      cat({{S::send(std::string("+OK ready ") + kTimestamp + "\r\n"), S::expect("USER user"),
            S::send("+OK\r\n"), S::expect("PASS secret"), S::send("+OK\r\n")},
           quit()}));
  ASSERT_EQ(create(server, NX_FALSE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, ApopRejectedThenUserPass) {
  NetxServer server(
      cat({{S::send(std::string("+OK ready ") + kTimestamp + "\r\n"), S::expect("APOP user "),
            S::send("-ERR [AUTH] no APOP here\r\n"), S::expect("USER user"), S::send("+OK\r\n"),
            S::expect("PASS secret"), S::send("+OK\r\n")},
           quit()}));
  ASSERT_EQ(create(server, NX_TRUE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, PassRejectedIsAnErrorAndLeavesNothingOpen) {
  NetxServer server({S::send(kGreeting), S::expect("USER user"), S::send("+OK\r\n"),
                     S::expect("PASS secret"), S::send("-ERR [AUTH] wrong password\r\n"),
                     S::expect_close()});
  EXPECT_EQ(create(server), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(server.finish(), "");
  EXPECT_EQ(client_.nx_pop3_client_session, nullptr);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
}

TEST_F(NetxTest, UserRejectedIsAnError) {
  NetxServer server(
      {S::send(kGreeting), S::expect("USER user"), S::send("-ERR who?\r\n"), S::expect_close()});
  EXPECT_EQ(create(server), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, GreetingErrIsAnError) {
  NetxServer server({S::send("-ERR too busy\r\n"), S::expect_close()});
  EXPECT_EQ(create(server), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, RetrErrLeavesTheSessionUsable) {
  NetxServer server(cat({login({S::expect("RETR 7"), S::send("-ERR no such message\r\n"),
                                S::expect("RSET"), S::send("+OK\r\n")}),
                         quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 5;
  EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 7, &size), NX_POP3_SERVER_ERROR_STATUS);
  NX_PACKET* p = nullptr;
  ULONG bytes = 0;
  UINT final = 0;
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final),
            NX_POP3_CLIENT_INVALID_STATE);
  EXPECT_EQ(nx_pop3_client_rset(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, OtherErrAnswers) {
  NetxServer server(cat(
      {login({S::expect("STAT"), S::send("-ERR no\r\n"), S::expect("LIST 1"),
              S::send("-ERR no\r\n"), S::expect("DELE 1"), S::send("-ERR no\r\n"),
              S::expect("NOOP"), S::send("-ERR no\r\n"), S::expect("RSET"), S::send("-ERR no\r\n"),
              S::expect("QUIT"), S::send("-ERR no\r\n"), S::expect_close()})}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  UINT items = 0;
  ULONG size = 0;
  EXPECT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &size), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(&client_, 1, &size), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 1), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_rset(&client_), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(server.finish(), "");
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
}

TEST_F(NetxTest, PoolExhaustionWaitsThenNoPacket) {
  nx_packet_pool_delete(&pool_);
  // Room for exactly two packets.
  ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("two"), 64, memory_.data(), 400),
            NX_SUCCESS);
  ASSERT_EQ(pool_.nx_packet_pool_total, 2u);
  const std::string body = "Subject: p\r\n\r\npool\r\n";
  NetxServer server(
      cat({login({S::expect("RETR 1"), S::send("+OK\r\n" + body + ".\r\n")}), quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_packet_timeout, ULONG{NX_POP3_CLIENT_PACKET_TIMEOUT});
  client_.nx_pop3_client_packet_timeout = 20;  // 200 ms
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  NX_PACKET* held[2] = {};
  ASSERT_EQ(nx_packet_allocate(&pool_, &held[0], NX_RECEIVE_PACKET, NX_NO_WAIT), NX_SUCCESS);
  ASSERT_EQ(nx_packet_allocate(&pool_, &held[1], NX_RECEIVE_PACKET, NX_NO_WAIT), NX_SUCCESS);

  NX_PACKET* p = nullptr;
  ULONG bytes = 0;
  UINT final = 0;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final), NX_NO_PACKET);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(180));
  EXPECT_LT(waited, std::chrono::milliseconds(5000));
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(client_.nx_pop3_client_ready_to_download, NX_TRUE) << "the download can resume";

  // A packet released by another thread while message_get waits is used.
  client_.nx_pop3_client_packet_timeout = 10 * NX_IP_PERIODIC_RATE;
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    nx_packet_release(held[0]);
  });
  const Retrieved r = fetch();
  releaser.join();
  expect_whole(r, body);
  EXPECT_EQ(nx_packet_release(held[1]), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, CommandDuringADownloadReadsTheRestFirst) {
  const std::string body(5000, 'x');
  NetxServer server(cat({login({S::expect("RETR 1"), S::send("+OK\r\n" + body + "\r\n.\r\n"),
                                S::expect("NOOP"), S::send("+OK\r\n")}),
                         quit()}));
  payload_ = 100;
  nx_packet_pool_delete(&pool_);
  ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("small"), payload_, memory_.data(),
                                  static_cast<ULONG>(memory_.size())),
            NX_SUCCESS);
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  NX_PACKET* p = nullptr;
  ULONG bytes = 0;
  UINT final = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final), NX_SUCCESS);
  EXPECT_EQ(final, NX_FALSE);
  EXPECT_LE(bytes, 100u);
  nx_packet_release(p);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_ready_to_download, NX_FALSE);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, IndexChecks) {
  NetxServer server(cat({login({S::expect("STAT"), S::send("+OK 2 100\r\n")}), quit()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(&client_, 0, &size), NX_POP3_CLIENT_INVALID_INDEX);
  EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 0, &size), NX_POP3_CLIENT_INVALID_INDEX);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 0), NX_POP3_CLIENT_INVALID_INDEX);
  UINT items = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &size), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_maildrop_items, 2u);
  EXPECT_EQ(client_.nx_pop3_client_total_message_size, 100u);
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(&client_, 3, &size), NX_POP3_INVALID_MAIL_ITEM);
  EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, 3, &size), NX_POP3_INVALID_MAIL_ITEM);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 3), NX_POP3_INVALID_MAIL_ITEM);
  NX_PACKET* p = nullptr;
  ULONG bytes = 0;
  UINT final = 0;
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final),
            NX_POP3_CLIENT_INVALID_STATE);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, NullPointersAndBadParameters) {
  CHAR user[] = "user";
  CHAR pass[] = "secret";
  NX_POP3_CLIENT c{};
  NXD_ADDRESS a{};
  a.nxd_ip_version = NX_IP_VERSION_V4;
  a.nxd_ip_address.v4 = kLoopback;
  // create: every pointer.
  EXPECT_EQ(nx_pop3_client_create(nullptr, 0, &ip_, &pool_, kLoopback, 110, user, pass),
            NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, nullptr, &pool_, kLoopback, 110, user, pass),
            NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, nullptr, kLoopback, 110, user, pass), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 110, nullptr, pass),
            NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 110, user, nullptr),
            NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(nullptr, 0, &ip_, &pool_, &a, 110, user, pass), NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, nullptr, &pool_, &a, 110, user, pass), NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, nullptr, &a, 110, user, pass), NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, nullptr, 110, user, pass), NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, &a, 110, nullptr, pass), NX_PTR_ERROR);
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, &a, 110, user, nullptr), NX_PTR_ERROR);
  // create: parameters (rejected before any connection attempt: port 1 has no server, so
  // reaching the network would give NX_NOT_CONNECTED).
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 0, user, pass),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 65536, user, pass),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, 0, 1, user, pass), NX_POP3_PARAM_ERROR);
  a.nxd_ip_address.v4 = 0;
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, &a, 1, user, pass), NX_POP3_PARAM_ERROR);
  a.nxd_ip_version = NX_IP_VERSION_V6;
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, &a, 1, user, pass), NX_POP3_PARAM_ERROR);
  a.nxd_ip_version = 5;
  a.nxd_ip_address.v4 = kLoopback;
  EXPECT_EQ(nxd_pop3_client_create(&c, 0, &ip_, &pool_, &a, 1, user, pass), NX_POP3_PARAM_ERROR);
  std::string long_name(NX_POP3_MAX_USERNAME + 1, 'n');
  std::string long_pass(NX_POP3_MAX_PASSWORD + 1, 'p');
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 1, long_name.data(), pass),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 1, user, long_pass.data()),
            NX_POP3_PARAM_ERROR);
  CHAR empty[] = "";
  CHAR crlf[] = "us\r\ner";
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 1, empty, pass),
            NX_POP3_PARAM_ERROR);
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 1, crlf, pass),
            NX_POP3_PARAM_ERROR);
  NX_IP not_created{};
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &not_created, &pool_, kLoopback, 1, user, pass),
            NX_POP3_PARAM_ERROR);
  NX_PACKET_POOL pool_not_created{};
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_not_created, kLoopback, 1, user, pass),
            NX_PTR_ERROR);
  // Nothing listens on port 1: a connection failure, and the client is left deleted.
  EXPECT_EQ(nx_pop3_client_create(&c, 0, &ip_, &pool_, kLoopback, 1, user, pass), NX_NOT_CONNECTED);
  EXPECT_EQ(c.nx_pop3_client_session, nullptr);
  EXPECT_EQ(nx_pop3_client_delete(&c), NX_SUCCESS);

  // The other services: NULL pointers, and a client that does not exist.
  UINT items = 0;
  ULONG size = 0;
  NX_PACKET* p = nullptr;
  UINT final = 0;
  EXPECT_EQ(nx_pop3_client_mail_items_get(nullptr, &items, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_items_get(&c, nullptr, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_items_get(&c, &items, nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_items_get(&c, &items, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(nullptr, 1, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(&c, 1, nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_size_get(&c, 1, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_get(nullptr, 1, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_get(&c, 1, nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_get(&c, 1, &size), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(nullptr, &p, &size, &final), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&c, nullptr, &size, &final), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&c, &p, nullptr, &final), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&c, &p, &size, nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_message_get(&c, &p, &size, &final), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(nullptr, 1), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&c, 1), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_noop(nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_noop(&c), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_rset(nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_rset(&c), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_quit(nullptr), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_quit(&c), NX_PTR_ERROR);
  EXPECT_EQ(nx_pop3_client_delete(nullptr), NX_PTR_ERROR);
}

TEST_F(NetxTest, LongestNameAndPasswordAreAccepted) {
  const std::string name(NX_POP3_MAX_USERNAME, 'n');
  const std::string pass(NX_POP3_MAX_PASSWORD, 'p');
  NetxServer server(cat({{S::send(kGreeting), S::expect("USER " + name), S::send("+OK\r\n"),
                          S::expect("PASS " + pass), S::send("+OK\r\n")},
                         quit()}));
  ASSERT_EQ(create(server, NX_FALSE, name.c_str(), pass.c_str()), NX_SUCCESS);
  EXPECT_EQ(std::string(client_.nx_pop3_client_name), name);
  EXPECT_STREQ(client_.nx_pop3_client_password, "") << "the password is not kept";
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, PacketPoolCalls) {
  std::vector<unsigned char> mem(1000);
  NX_PACKET_POOL pool{};
  EXPECT_EQ(nx_packet_pool_create(nullptr, nullptr, 100, mem.data(), 1000), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_pool_create(&pool, nullptr, 100, nullptr, 1000), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_pool_create(&pool, nullptr, 0, mem.data(), 1000), NX_SIZE_ERROR);
  EXPECT_EQ(nx_packet_pool_create(&pool, nullptr, 2000, mem.data(), 1000), NX_SIZE_ERROR);
  ASSERT_EQ(nx_packet_pool_create(&pool, const_cast<CHAR*>("p"), 100, mem.data(), 1000),
            NX_SUCCESS);
  const ULONG total = pool.nx_packet_pool_total;
  EXPECT_GE(total, 4u);
  std::vector<NX_PACKET*> got;
  NX_PACKET* p = nullptr;
  while (nx_packet_allocate(&pool, &p, NX_RECEIVE_PACKET, NX_NO_WAIT) == NX_SUCCESS) {
    // Inside the caller's memory, payload inside too.
    EXPECT_GE(reinterpret_cast<unsigned char*>(p), mem.data());
    EXPECT_LE(p->nx_packet_data_end + 1, mem.data() + mem.size());
    EXPECT_EQ(p->nx_packet_data_end - p->nx_packet_data_start, 100);
    std::memset(p->nx_packet_data_start, 0xAB, 101);
    got.push_back(p);
  }
  EXPECT_EQ(got.size(), total);
  EXPECT_EQ(pool.nx_packet_pool_available, 0u);
  EXPECT_EQ(nx_packet_allocate(&pool, &p, NX_RECEIVE_PACKET, 5), NX_NO_PACKET);
  EXPECT_EQ(nx_packet_allocate(&pool, &p, 101, NX_NO_WAIT), NX_INVALID_PARAMETERS);
  // A chain of two, retrieved and released together.
  std::memcpy(got[0]->nx_packet_prepend_ptr, "abc", 3);
  got[0]->nx_packet_append_ptr = got[0]->nx_packet_prepend_ptr + 3;
  std::memcpy(got[1]->nx_packet_prepend_ptr, "de", 2);
  got[1]->nx_packet_append_ptr = got[1]->nx_packet_prepend_ptr + 2;
  got[0]->nx_packet_next = got[1];
  got[0]->nx_packet_length = 5;
  char buf[16] = {};
  ULONG copied = 0;
  EXPECT_EQ(nx_packet_data_retrieve(got[0], buf, &copied), NX_SUCCESS);
  EXPECT_EQ(copied, 5u);
  EXPECT_STREQ(buf, "abcde");
  EXPECT_EQ(nx_packet_data_retrieve(nullptr, buf, &copied), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_release(got[0]), NX_SUCCESS);
  EXPECT_EQ(pool.nx_packet_pool_available, 2u);
  EXPECT_EQ(nx_packet_release(got[1]), NX_PTR_ERROR) << "already released";
  EXPECT_EQ(nx_packet_release(nullptr), NX_PTR_ERROR);
  for (std::size_t i = 2; i < got.size(); ++i)
    EXPECT_EQ(nx_packet_release(got[i]), NX_SUCCESS);
  EXPECT_EQ(pool.nx_packet_pool_available, total);
  EXPECT_EQ(nx_packet_pool_delete(&pool), NX_SUCCESS);
  EXPECT_EQ(nx_packet_pool_delete(&pool), NX_PTR_ERROR);
  EXPECT_EQ(nx_packet_allocate(&pool, &p, NX_RECEIVE_PACKET, NX_NO_WAIT), NX_PTR_ERROR);

  NX_IP ip{};
  EXPECT_EQ(nx_ip_create(nullptr, nullptr, 0, 0, &pool_, nullptr, nullptr, 0, 0), NX_PTR_ERROR);
  EXPECT_EQ(nx_ip_create(&ip, nullptr, 0, 0, nullptr, nullptr, nullptr, 0, 0), NX_PTR_ERROR);
  ASSERT_EQ(nx_ip_create(&ip, const_cast<CHAR*>("ip"), IP_ADDRESS(10, 0, 0, 1), 0xFF000000UL,
                         &pool_, nullptr, nullptr, 0, 1),
            NX_SUCCESS);
  EXPECT_EQ(ip.nx_ip_address, 0x0A000001UL);
  EXPECT_EQ(nx_arp_enable(&ip, nullptr, 0), NX_SUCCESS);
  EXPECT_EQ(nx_icmp_enable(&ip), NX_SUCCESS);
  EXPECT_EQ(nx_tcp_enable(&ip), NX_SUCCESS);
  EXPECT_EQ(nx_tcp_enable(&ip), NX_ALREADY_ENABLED);
  EXPECT_EQ(nx_ip_delete(&ip), NX_SUCCESS);
  EXPECT_EQ(nx_tcp_enable(&ip), NX_PTR_ERROR);
}

TEST_F(NetxTest, ServerClosesInTheMiddleOfAMessage) {
  NetxServer server(login(
      {S::expect("RETR 1"), S::send("+OK\r\npartial line\r\nmore"), S::pause(50), S::close()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  ULONG size = 0;
  ASSERT_EQ(nx_pop3_client_mail_item_get(&client_, 1, &size), NX_SUCCESS);
  const Retrieved r = fetch();
  EXPECT_EQ(r.status, NX_NOT_CONNECTED);
  EXPECT_EQ(r.finals, 0);
  EXPECT_EQ(client_.nx_pop3_client_ready_to_download, NX_FALSE);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, SilentServerTimesOutWithNoPacket) {
  NetxServer server(cat({login({S::expect("NOOP"), S::pause(600), S::send("+OK late\r\n")})}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_server_reply_timeout, ULONG{NX_POP3_SERVER_REPLY_TIMEOUT});
  client_.nx_pop3_client_server_reply_timeout = 20;  // 200 ms
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NO_PACKET);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, MalformedReplyIsAServerErrorAndCloses) {
  NetxServer server(login({S::expect("STAT"), S::send("+OK lots\r\n"), S::expect_close()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  UINT items = 0;
  ULONG size = 0;
  EXPECT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &size), NX_POP3_SERVER_ERROR_STATUS);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_NOT_CONNECTED);
  EXPECT_EQ(server.finish(), "");
}

TEST_F(NetxTest, DeleteWithoutQuitClosesTheConnection) {
  NetxServer server(login({S::expect_close()}));
  ASSERT_EQ(create(server), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
  EXPECT_EQ(nx_pop3_client_delete(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_PTR_ERROR);
}

TEST_F(NetxTest, Ipv6Loopback) {
  NetxServer server(cat({login(), quit()}), /*ipv6=*/true);
  NXD_ADDRESS a{};
  a.nxd_ip_version = NX_IP_VERSION_V6;
  a.nxd_ip_address.v6[3] = 1;
  ASSERT_EQ(nxd_pop3_client_create(&client_, NX_TRUE, &ip_, &pool_, &a, server.port(),
                                   const_cast<CHAR*>("user"), const_cast<CHAR*>("secret")),
            NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server.finish(), "");
}

}  // namespace
}  // namespace pop3kit::netx_test
