// The blocking client's Dovecot interop cases through the async runner,
// with the same expectations: USER/PASS, APOP and every SASL mechanism in
// the clear, over implicit TLS and after STLS; the certificate policy
// (pins, a required STLS the server lacks); the pipelined bulk calls byte
// for byte. The fixture and helpers are the interop tests' (tests/interop).
#include <asio/io_context.hpp>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "interop/common.hpp"
#include "pop3kit/async.hpp"
#include "support/test_certs.hpp"
#include "sync.hpp"

namespace pop3kit::interop {
namespace {

using namespace std::chrono_literals;
using async::test::sync;
using pop3kit::test::DovecotServer;
using pop3kit::test::ServerCert;
using pop3kit::test::TestCerts;

constexpr const char* kHost = "localhost";
constexpr const char* kMessage = "Subject: async\r\n\r\nline one\r\n.dot\r\n";

async::ClientOptions options(async::Security security) {
  async::ClientOptions o;
  o.security = security;
  o.connect_timeout = 10s;
  o.io_timeout = 10s;
  return o;
}

auth::SaslCredentials credentials(const char* user, const char* password) {
  auth::SaslCredentials c;
  c.authcid = user;
  c.password = password;
  return c;
}

// Logs in with `method`: "USER" and "APOP" are login(), the rest SASL.
Result<void> log_in(asio::io_context& io, async::Client& c, const std::string& method,
                    const char* user, const char* password) {
  if (method == "USER") return sync(io, c.login(user, password));
  if (method == "APOP") return sync(io, c.login(user, password, {.method = LoginMethod::apop}));
  return sync(io, c.authenticate(method, credentials(user, password)));
}

// True once Dovecot logged `user` logging in with `method` (with ", TLS"
// when `tls`); the log process may write the line a moment late.
bool logged_login(const DovecotServer& server, const std::string& user, const std::string& method,
                  bool tls) {
  const std::string who = "Login: user=<" + user + ">, method=" + method + ",";
  for (int i = 0; i < 100; ++i) {
    std::istringstream log(server.log_tail(400));
    std::string line;
    while (std::getline(log, line)) {
      if (line.find(who) != std::string::npos &&
          (!tls || line.find(", TLS") != std::string::npos)) {
        return true;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// ---- In the clear: every login method ----------------------------------

class AsyncLoginTest : public DovecotTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(AsyncLoginTest, LogsInListsRetrievesQuits) {
  const std::string method = GetParam();
  server().add_message(kUser, kMessage);
  asio::io_context io;
  async::Client c(io.get_executor(), options(async::Security::plain));
  auto r = sync(io, c.connect("127.0.0.1", port()));
  ASSERT_TRUE(r.ok()) << describe(r.error());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  r = log_in(io, c, method, kUser, kPassword);
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c.state(), proto::State::transaction);
  auto entries = sync(io, c.list_with_uidl());
  ASSERT_TRUE(entries.ok()) << describe(entries.error());
  ASSERT_EQ(entries->size(), 1U);
  EXPECT_EQ((*entries)[0].size, test::dovecot_list_size(kMessage));
  EXPECT_EQ((*entries)[0].uid.size(), 16U);
  Collect body;
  auto n = sync(io, c.retrieve(1, body.sink()));
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(body.data, test::dovecot_retr_body(kMessage));
  EXPECT_TRUE(sync(io, c.quit()).ok());
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(logged_login(server(), kUser, method == "USER" ? "PLAIN" : method, false))
      << server().log_tail();
}

TEST_P(AsyncLoginTest, WrongPasswordIsAuthFailed) {
  const std::string method = GetParam();
  asio::io_context io;
  async::Client c(io.get_executor(), options(async::Security::plain));
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  auto r = log_in(io, c, method, kUser, "not-the-password");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::auth_failed)) << describe(r.error());
  EXPECT_NE(c.state(), proto::State::transaction);
}

TEST_P(AsyncLoginTest, PasswordWithSpaces) {
  asio::io_context io;
  async::Client c(io.get_executor(), options(async::Security::plain));
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", port())).ok());
  auto r = log_in(io, c, GetParam(), kUser2, kPassword2);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_TRUE(sync(io, c.stat()).ok());
}

INSTANTIATE_TEST_SUITE_P(Interop, AsyncLoginTest,
                         ::testing::Values("USER", "APOP", "PLAIN", "LOGIN", "CRAM-MD5",
                                           "SCRAM-SHA-1", "SCRAM-SHA-256"),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

using AsyncAutoTest = DovecotTest;

TEST_F(AsyncAutoTest, LoginAutoChoosesScramSha256) {
  asio::io_context io;
  async::Client c(io.get_executor(), options(async::Security::plain));
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256");
  auto r = sync(io, c.login_auto(kUser, kPassword));
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_TRUE(sync(io, c.quit()).ok());
  EXPECT_TRUE(logged_login(server(), kUser, "SCRAM-SHA-256", false)) << server().log_tail();
}

// Required STLS on a server without it: nothing but CAPA crosses.
TEST_F(AsyncAutoTest, RequiredStlsFailsBeforeAnyCredential) {
  std::vector<std::string> sent;
  async::ClientOptions o = options(async::Security::starttls);
  o.trace = [&sent](proto::TraceDirection d, std::string_view line) {
    if (d == proto::TraceDirection::sent) sent.emplace_back(line);
  };
  asio::io_context io;
  async::Client c(io.get_executor(), o);
  auto r = sync(io, c.connect("127.0.0.1", port()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::tls_unavailable)) << describe(r.error());
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(sent, std::vector<std::string>{"CAPA"});
}

// ---- Bulk ----------------------------------------------------------------

class Bodies : public MessageHandler {
 public:
  std::error_code begin(std::uint64_t number) override {
    bodies[number].clear();
    return {};
  }
  std::error_code data(std::uint64_t number, std::string_view chunk) override {
    bodies[number].append(chunk);
    return {};
  }
  std::error_code end(std::uint64_t number, std::uint64_t octets) override {
    EXPECT_EQ(octets, bodies[number].size());
    ended.push_back(number);
    return {};
  }
  void failed(std::uint64_t number, const Error& error) override { failures[number] = error; }
  std::map<std::uint64_t, std::string> bodies;
  std::vector<std::uint64_t> ended;
  std::map<std::uint64_t, Error> failures;
};

class AsyncBulkTest : public DovecotTest, public ::testing::WithParamInterface<bool> {};

TEST_P(AsyncBulkTest, RetrieveManyDeleManyQuit) {
  std::vector<std::string> messages;
  for (int i = 1; i <= 12; ++i) {
    messages.push_back(
        "Subject: " + std::to_string(i) + "\r\n\r\n" +
        std::string(static_cast<std::size_t>(i) * 1000, static_cast<char>('a' + i % 26)) + "\r\n");
    server().add_message(kUser, messages.back());
  }
  async::ClientOptions o = options(async::Security::plain);
  o.pipelining = GetParam();
  o.pipeline_window = 64;  // a few commands in flight at a time
  asio::io_context io;
  async::Client c(io.get_executor(), o);
  ASSERT_TRUE(sync(io, c.connect("127.0.0.1", port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  ASSERT_TRUE(sync(io, c.login(kUser, kPassword)).ok());
  EXPECT_EQ(c.pipelining(), GetParam());
  auto entries = sync(io, c.list_with_uidl());
  ASSERT_TRUE(entries.ok()) << describe(entries.error());
  ASSERT_EQ(entries->size(), 12U);
  std::vector<std::uint64_t> numbers;
  std::vector<std::uint64_t> sizes;
  for (const auto& e : *entries) {
    numbers.push_back(e.number);
    sizes.push_back(e.size);
  }
  numbers.push_back(99);  // refused: that message alone fails
  Bodies got;
  auto r = sync(io, c.retrieve_many(numbers, got, sizes));
  ASSERT_TRUE(r.ok()) << describe(r.error());
  ASSERT_EQ(got.ended.size(), 12U);
  for (std::uint64_t n = 1; n <= 12; ++n) {
    EXPECT_EQ(got.bodies[n], test::dovecot_retr_body(messages[n - 1])) << "message " << n;
  }
  ASSERT_EQ(got.failures.count(99), 1U);
  EXPECT_EQ(got.failures[99].code, make_error_code(errc::server_error));
  const std::vector<std::uint64_t> doomed = {2, 4, 6};
  auto deleted = sync(io, c.dele_many(doomed));
  ASSERT_TRUE(deleted.ok()) << describe(deleted.error());
  ASSERT_EQ(deleted->size(), 3U);
  for (const auto& d : *deleted)
    EXPECT_TRUE(d.ok());
  EXPECT_TRUE(sync(io, c.quit()).ok());
  EXPECT_EQ(server().message_files(kUser).size(), 9U);
}

INSTANTIATE_TEST_SUITE_P(Interop, AsyncBulkTest, ::testing::Values(true, false),
                         [](const auto& p) { return p.param ? "Pipelined" : "LockStep"; });

// ---- TLS -----------------------------------------------------------------

class AsyncTlsTest : public DovecotTest {
 protected:
  static void SetUpTestSuite() { start_server(ServerCert::good); }
  static async::ClientOptions tls_options(async::Security security) {
    async::ClientOptions o = options(security);
    o.tls.ca_file = server().ca_file().string();
    return o;
  }
  static std::uint16_t port_for(async::Security security) {
    return security == async::Security::tls ? server().tls_port() : server().port();
  }
};

using TlsCase = std::tuple<async::Security, const char*>;
class AsyncTlsLoginTest : public AsyncTlsTest, public ::testing::WithParamInterface<TlsCase> {};

TEST_P(AsyncTlsLoginTest, LogsInAndReadsOverTls) {
  const auto [security, method] = GetParam();
  server().add_message(kUser, kMessage);
  asio::io_context io;
  async::Client c(io.get_executor(), tls_options(security));
  auto r = sync(io, c.connect(kHost, port_for(security)));
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_TRUE(c.tls_active());
  ASSERT_NE(c.certificate(), nullptr);
  EXPECT_NE(c.certificate()->subject.find("CN=localhost"), std::string::npos);
  EXPECT_EQ(c.certificate()->sha256, TestCerts::sha256(server().cert_file().string()));
  if (security == async::Security::starttls) {
    EXPECT_TRUE(c.capabilities_before_tls().has("STLS"));
    EXPECT_FALSE(c.capabilities().has("STLS"));
  }
  auto caps = sync(io, c.capa());
  ASSERT_TRUE(caps.ok()) << describe(caps.error());
  EXPECT_FALSE(caps->has("STLS"));
  r = log_in(io, c, method, kUser, kPassword);
  ASSERT_TRUE(r.ok()) << describe(r.error()) << "\n" << server().log_tail();
  EXPECT_EQ(c.state(), proto::State::transaction);
  auto st = sync(io, c.stat());
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 1U);
  Collect body;
  auto n = sync(io, c.retrieve(1, body.sink()));
  ASSERT_TRUE(n.ok()) << describe(n.error());
  EXPECT_EQ(body.data, test::dovecot_retr_body(kMessage));
  EXPECT_TRUE(sync(io, c.quit()).ok());
  const std::string m = method;
  EXPECT_TRUE(logged_login(server(), kUser, m == "USER" ? "PLAIN" : m, true))
      << server().log_tail();
}

INSTANTIATE_TEST_SUITE_P(
    Interop, AsyncTlsLoginTest,
    ::testing::Combine(::testing::Values(async::Security::tls, async::Security::starttls),
                       ::testing::Values("USER", "APOP", "PLAIN", "LOGIN", "CRAM-MD5",
                                         "SCRAM-SHA-1", "SCRAM-SHA-256")),
    [](const auto& p) {
      std::string name =
          std::string(std::get<0>(p.param) == async::Security::tls ? "ImplicitTls" : "Stls") + "_" +
          std::get<1>(p.param);
      for (char& ch : name)
        if (ch == '-') ch = '_';
      return name;
    });

// The certificate policy is the blocking client's: a pin that names
// another certificate fails, with the certificate described, before any
// credential; a public-key pin stands in for an unknown authority.
TEST_F(AsyncTlsTest, PinsAsTheBlockingClient) {
  const std::string fingerprint = TestCerts::sha256(server().cert_file().string());
  for (async::Security security : {async::Security::tls, async::Security::starttls}) {
    asio::io_context io;
    async::ClientOptions o = tls_options(security);
    o.tls.pins = {"cert:" + std::string(64, 'a')};
    async::Client bad(io.get_executor(), o);
    auto r = sync(io, bad.connect(kHost, port_for(security)));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, make_error_code(errc::certificate_invalid)) << describe(r.error());
    EXPECT_NE(r.error().message.find("pin mismatch"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(fingerprint), std::string::npos) << r.error().message;
    EXPECT_FALSE(bad.connected());

    o = tls_options(security);
    o.tls.ca_file.clear();
    async::Client unknown(io.get_executor(), o);
    r = sync(io, unknown.connect(kHost, port_for(security)));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("unknown authority"), std::string::npos) << r.error().message;

    o.tls.pins = {"spki:" + TestCerts::spki_sha256(server().cert_file().string())};
    o.tls.pins_replace_ca = true;
    async::Client pinned(io.get_executor(), o);
    r = sync(io, pinned.connect(kHost, port_for(security)));
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_TRUE(sync(io, pinned.login(kUser, kPassword)).ok());
  }
}

// One context shared by many clients (TlsContext) gives the same checks.
TEST_F(AsyncTlsTest, SharedContext) {
  auto context = async::TlsContext::make(tls_options(async::Security::tls).tls);
  ASSERT_TRUE(context.ok()) << describe(context.error());
  asio::io_context io;
  for (int i = 0; i < 3; ++i) {
    async::ClientOptions o = options(async::Security::tls);
    o.tls_context = *context;
    async::Client c(io.get_executor(), o);
    auto r = sync(io, c.connect(kHost, server().tls_port()));
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_TRUE(sync(io, c.login(kUser, kPassword)).ok());
    EXPECT_TRUE(sync(io, c.quit()).ok());
  }
}

}  // namespace
}  // namespace pop3kit::interop
