// The NetX Duo compatible API against a real Dovecot (tests/support): APOP
// and USER/PASS over IPv4 (nx_pop3_client_create) and IPv6 ::1
// (nxd_pop3_client_create), byte-exact retrieval up to 10 MB, DELE + QUIT,
// and the C demo program.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nxd_pop3_client.h"
#include "support/dovecot.hpp"

namespace pop3kit::netx_test {
namespace {

namespace fs = std::filesystem;
using test::DovecotServer;

constexpr const char* kUser = "netx";
constexpr const char* kPassword = "netx-secret-20chars";  // 19 octets: within NX_POP3_MAX_PASSWORD

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A message of about `size` bytes whose lines exercise dot-stuffing, long
// lines, bare LFs and binary-ish octets.
std::string make_message(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string m =
      "From: a@example.org\nTo: b@example.org\nSubject: netx " + std::to_string(size) + "\n\n";
  while (m.size() < size) {
    switch (rng() % 6) {
      case 0:
        m += ".\n";  // a line of a single dot: stuffed on the wire
        break;
      case 1:
        m += "..two dots and text\r\n";
        break;
      case 2:
        m += std::string(1 + rng() % 3000, 'L') + "\n";  // long line
        break;
      case 3: {
        std::string line;
        for (auto i = rng() % 80; i > 0; --i) {
          line += static_cast<char>(0x20 + rng() % 0x5F);
        }
        m += line + "\r\n";
        break;
      }
      case 4:
        m += ".leading dot\n";
        break;
      default:
        m += "\xC3\xA9t\xC3\xA9 \x80\xFF octets\n";
        break;
    }
  }
  m.resize(size);
  return m;
}

class NetxDovecotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = DovecotServer::start({{kUser, kPassword}}, &error_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    // Each test starts with an empty maildrop.
    for (const auto& f : server_->message_files(kUser))
      fs::remove(f);
    memory_.assign(256 * 1024, 0);
    ASSERT_EQ(nx_packet_pool_create(&pool_, const_cast<CHAR*>("pool"), 1460, memory_.data(),
                                    static_cast<ULONG>(memory_.size())),
              NX_SUCCESS);
    ASSERT_EQ(nx_ip_create(&ip_, const_cast<CHAR*>("ip"), IP_ADDRESS(127, 0, 0, 1), 0xFF000000UL,
                           &pool_, nullptr, nullptr, 0, 1),
              NX_SUCCESS);
  }
  void TearDown() override {
    nx_pop3_client_delete(&client_);
    EXPECT_EQ(pool_.nx_packet_pool_available, pool_.nx_packet_pool_total) << "packets leaked";
    nx_ip_delete(&ip_);
    nx_packet_pool_delete(&pool_);
  }

  UINT create_v4(UINT apop) {
    return nx_pop3_client_create(&client_, apop, &ip_, &pool_, IP_ADDRESS(127, 0, 0, 1),
                                 server_->port(), const_cast<CHAR*>(kUser),
                                 const_cast<CHAR*>(kPassword));
  }
  UINT create_v6(UINT apop) {
    NXD_ADDRESS a{};
    a.nxd_ip_version = NX_IP_VERSION_V6;
    a.nxd_ip_address.v6[3] = 1;  // ::1
    return nxd_pop3_client_create(&client_, apop, &ip_, &pool_, &a, server_->port(),
                                  const_cast<CHAR*>(kUser), const_cast<CHAR*>(kPassword));
  }

  // RETR n through message_get; checks the packet invariants on the way.
  std::string retrieve(UINT n, ULONG* item_size) {
    EXPECT_EQ(nx_pop3_client_mail_item_get(&client_, n, item_size), NX_SUCCESS);
    std::string data;
    int finals = 0;
    for (;;) {
      NX_PACKET* p = nullptr;
      ULONG bytes = 0;
      UINT final = NX_FALSE;
      const UINT st = nx_pop3_client_mail_item_message_get(&client_, &p, &bytes, &final);
      if (st != NX_SUCCESS) {
        ADD_FAILURE() << "message_get: 0x" << std::hex << st;
        break;
      }
      EXPECT_EQ(bytes, p->nx_packet_length);
      EXPECT_LE(bytes, 1460u);
      data.append(reinterpret_cast<const char*>(p->nx_packet_prepend_ptr), bytes);
      nx_packet_release(p);
      if (final) {
        ++finals;
        break;
      }
    }
    EXPECT_EQ(finals, 1);
    return data;
  }

  static DovecotServer* server_;
  static std::string error_;
  std::vector<unsigned char> memory_;
  NX_PACKET_POOL pool_{};
  NX_IP ip_{};
  NX_POP3_CLIENT client_{};
};

DovecotServer* NetxDovecotTest::server_ = nullptr;
std::string NetxDovecotTest::error_;

TEST_F(NetxDovecotTest, ApopOverIpv4) {
  const std::string m = "Subject: apop\n\nhello\n";
  server_->add_message(kUser, m);
  ASSERT_EQ(create_v4(NX_TRUE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_TRUE) << "Dovecot offers APOP";
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  EXPECT_EQ(items, 1u);
  ULONG size = 0;
  EXPECT_EQ(retrieve(1, &size), test::dovecot_retr_body(m));
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
}

TEST_F(NetxDovecotTest, UserPassOverIpv4) {
  const std::string m = "Subject: user\n\nhello\n";
  server_->add_message(kUser, m);
  ASSERT_EQ(create_v4(NX_FALSE), NX_SUCCESS);
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  ULONG size = 0;
  EXPECT_EQ(retrieve(1, &size), test::dovecot_retr_body(m));
  EXPECT_EQ(nx_pop3_client_noop(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
}

TEST_F(NetxDovecotTest, ApopOverIpv6) {
  const std::string m = "Subject: v6\n\nhello over ::1\n";
  server_->add_message(kUser, m);
  ASSERT_EQ(create_v6(NX_TRUE), NX_SUCCESS) << "does the sandbox listen on ::1? log:\n"
                                            << server_->log_tail();
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_TRUE);
  ULONG size = 0;
  EXPECT_EQ(retrieve(1, &size), test::dovecot_retr_body(m));
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
}

TEST_F(NetxDovecotTest, UserPassOverIpv6) {
  ASSERT_EQ(create_v6(NX_FALSE), NX_SUCCESS) << server_->log_tail();
  EXPECT_EQ(client_.nx_pop3_client_APOP_used, NX_FALSE);
  UINT items = 9;
  ULONG total = 9;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  EXPECT_EQ(items, 0u);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
}

TEST_F(NetxDovecotTest, WrongPasswordIsRefused) {
  CHAR wrong[] = "not-the-password";
  EXPECT_EQ(nx_pop3_client_create(&client_, NX_FALSE, &ip_, &pool_, IP_ADDRESS(127, 0, 0, 1),
                                  server_->port(), const_cast<CHAR*>(kUser), wrong),
            NX_POP3_SERVER_ERROR_STATUS);
  // With APOP asked for: the APOP digest is refused, then PASS is refused.
  EXPECT_EQ(nx_pop3_client_create(&client_, NX_TRUE, &ip_, &pool_, IP_ADDRESS(127, 0, 0, 1),
                                  server_->port(), const_cast<CHAR*>(kUser), wrong),
            NX_POP3_SERVER_ERROR_STATUS);
}

TEST_F(NetxDovecotTest, ByteExactRetrievalUpTo10MB) {
  const std::vector<std::size_t> sizes{0, 1, 1459, 1460, 1461, 65536 + 3, 1 << 20, 10 << 20};
  // Kept here: Dovecot renames the files (new/ to cur/) once a session opens.
  std::vector<std::string> messages;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    messages.push_back(make_message(sizes[i], static_cast<unsigned>(i)));
    server_->add_message(kUser, messages.back());
  }
  ASSERT_EQ(create_v4(NX_TRUE), NX_SUCCESS);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  ASSERT_EQ(items, sizes.size());
  for (UINT n = 1; n <= items; ++n) {
    SCOPED_TRACE("item " + std::to_string(n) + " of " + std::to_string(sizes[n - 1]) + " bytes");
    const std::string& stored = messages[n - 1];
    ULONG listed = 0;
    ASSERT_EQ(nx_pop3_client_mail_item_size_get(&client_, n, &listed), NX_SUCCESS);
    EXPECT_EQ(listed, test::dovecot_list_size(stored));
    ULONG item_size = 0;
    const std::string got = retrieve(n, &item_size);
    EXPECT_EQ(item_size, listed) << "size from +OK n octets";
    const std::string want = test::dovecot_retr_body(stored);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "content differs";
  }
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
}

TEST_F(NetxDovecotTest, DeleteAndQuitRemoves) {
  server_->add_message(kUser, "Subject: one\n\n1\n");
  server_->add_message(kUser, "Subject: two\n\n2\n");
  server_->add_message(kUser, "Subject: three\n\n3\n");
  ASSERT_EQ(create_v4(NX_TRUE), NX_SUCCESS);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  ASSERT_EQ(items, 3u);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 1), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 3), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 3), NX_POP3_SERVER_ERROR_STATUS)
      << "already deleted";
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 4), NX_POP3_INVALID_MAIL_ITEM);
  EXPECT_EQ(server_->message_files(kUser).size(), 3u) << "nothing removed before QUIT";
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  const auto left = server_->message_files(kUser);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(read_file(left[0]).find("Subject: two"), std::string::npos);
}

TEST_F(NetxDovecotTest, RsetUndeletes) {
  server_->add_message(kUser, "Subject: keep\n\nk\n");
  ASSERT_EQ(create_v4(NX_FALSE), NX_SUCCESS);
  UINT items = 0;
  ULONG total = 0;
  ASSERT_EQ(nx_pop3_client_mail_items_get(&client_, &items, &total), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_mail_item_delete(&client_, 1), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_rset(&client_), NX_SUCCESS);
  EXPECT_EQ(nx_pop3_client_quit(&client_), NX_SUCCESS);
  EXPECT_EQ(server_->message_files(kUser).size(), 1u);
}

// The C demo, as a separate process, fetches and deletes everything.
void run_demo(const std::string& host, std::uint16_t port, bool apop, const fs::path& out,
              std::string* output, int* status) {
  // POP3KIT_NETX_DEMO_WRAPPER runs the demo under a tool, e.g.
  // "valgrind --leak-check=full --error-exitcode=1".
  const char* wrapper = std::getenv("POP3KIT_NETX_DEMO_WRAPPER");
  const std::string cmd = std::string(apop ? "" : "POP3KIT_NETX_APOP=0 ") +
                          (wrapper != nullptr ? std::string(wrapper) + " " : std::string()) + "'" +
                          POP3KIT_NETX_DEMO + "' " + host + " " + std::to_string(port) + " " +
                          kUser + " " + kPassword + " '" + out.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    output->append(buf, n);
  *status = ::pclose(p);
}

TEST_F(NetxDovecotTest, DemoProgramFetchesAndDeletes) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "::1, USER/PASS" : "127.0.0.1, APOP");
    std::vector<std::string> stored;
    for (unsigned i = 0; i < 3; ++i) {
      stored.push_back(make_message(1000u + 70000u * i, 100u + i));
      server_->add_message(kUser, stored.back());
    }
    const fs::path out = server_->dir() / (v6 ? "demo-out-6" : "demo-out-4");
    fs::create_directories(out);
    std::string output;
    int status = -1;
    run_demo(v6 ? "::1" : "127.0.0.1", server_->port(), !v6, out, &output, &status);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
    EXPECT_NE(output.find(v6 ? "USER/PASS" : "APOP"), std::string::npos) << output;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      EXPECT_TRUE(read_file(out / (std::to_string(i + 1) + ".eml")) ==
                  test::dovecot_retr_body(stored[i]))
          << "item " << i + 1;
    }
    EXPECT_TRUE(server_->message_files(kUser).empty()) << output;
  }
}

}  // namespace
}  // namespace pop3kit::netx_test
