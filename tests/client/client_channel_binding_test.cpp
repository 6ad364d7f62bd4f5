// Channel binding of SCRAM -PLUS against a scripted server that, like Cyrus
// SASL, binds with tls-unique only and answers any other type with
// "-ERR [AUTH] authenticating: bad protocol / cancel": the automatic choice
// still logs in (TLS 1.3: SCRAM without binding, after one refused -PLUS;
// TLS 1.2: tls-unique), a -PLUS named or a binding type asked for never
// falls back, and a refused -PLUS login never blames the password.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "pop3kit/account.hpp"
#include "pop3kit/client.hpp"
#include "support/scram_server.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

const char* kCapa =
    "+OK\r\nUSER\r\nSASL SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS\r\n.\r\n";

struct Setup {
  int exchange = 0;      // SCRAM lines the server answers after CAPA
  bool logs_in = false;  // then the CAPA after a login
  int tls_max = 0;       // TLS1_2_VERSION; 0: TLS 1.3
  bool no_ems = false;   // refuse the extended master secret
  ScramServer::Policy policy{};
};

// A TLS server that plays the SCRAM exchange, then waits for the client to close.
struct CyrusLike {
  explicit CyrusLike(Setup setup)
      : scram(std::move(setup.policy),
              [this](const std::string& type) { return server->channel_binding(type); }) {
    const auto& certs = TestCerts::get();
    std::vector<S::Step> script = {S::start_tls(), S::send("+OK Cyrus-like\r\n"), S::expect("CAPA"),
                                   S::send(kCapa)};
    for (int i = 0; i < setup.exchange; ++i)
      script.push_back(S::respond(scram.step()));
    if (setup.logs_in) {
      script.push_back(S::expect("CAPA"));
      script.push_back(S::send(kCapa));
    }
    script.push_back(S::wait_close());
    server = std::make_unique<ScriptServer>(std::move(script), certs.cert(certs.good),
                                            certs.key(certs.good));
    if (setup.tls_max != 0) server->set_tls_max_version(setup.tls_max);
    if (setup.no_ems) server->disable_extended_master_secret();
  }

  Client connect(ChannelBindingChoice choice = ChannelBindingChoice::automatic) const {
    ClientOptions o;
    o.io_timeout = 5s;
    o.security = Security::tls;
    o.tls.ca_file = TestCerts::get().ca;
    o.channel_binding = choice;
    Client c(o);
    auto r = c.connect("localhost", server->port());
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(c.capa().ok());
    return c;
  }

  // The AUTH lines the client sent.
  std::size_t auth_lines() {
    std::size_t n = 0;
    for (const auto& line : server->finish())
      n += line.starts_with("AUTH ") ? 1 : 0;
    return n;
  }

  ScramServer scram;
  std::unique_ptr<ScriptServer> server;
};

auth::SaslCredentials creds() {
  auth::SaslCredentials c;
  c.authcid = "user";
  c.password = "pencil";
  return c;
}

bool blames_credentials(const std::string& message) {
  return message.find("credential") != std::string::npos ||
         message.find("password") != std::string::npos;
}

TEST(ChannelBinding, AutomaticOverTls13FallsBackOnceWithoutBinding) {
  // AUTH -PLUS (refused), AUTH SCRAM-SHA-256, client-final, the empty answer,
  // then the CAPA after login.
  CyrusLike cyrus({.exchange = 4, .logs_in = true});
  Client c = cyrus.connect();
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256-PLUS");
  auto r = c.login_auto("user", "pencil");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(c.state(), proto::State::transaction);
  EXPECT_FALSE(c.channel_bound());
  EXPECT_EQ(c.sasl_login().mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(c.sasl_login().refused_binding, "SCRAM-SHA-256-PLUS with channel binding tls-exporter");
  c.close();
  EXPECT_EQ(cyrus.scram.mechanisms(),
            (std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
  // The retry says "n": the server listed -PLUS, so "y" would fail it.
  EXPECT_EQ(cyrus.scram.gs2_headers(), (std::vector<std::string>{"p=tls-exporter,,", "n,,"}));
  EXPECT_EQ(cyrus.scram.accepted(), 1);
}

TEST(ChannelBinding, AutomaticOverTls12BindsWithTlsUnique) {
  CyrusLike cyrus({.exchange = 3, .logs_in = true, .tls_max = TLS1_2_VERSION});
  Client c = cyrus.connect();
  auto r = c.login_auto("user", "pencil");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.channel_bound());
  EXPECT_EQ(c.sasl_login().channel_binding, "tls-unique");
  EXPECT_TRUE(c.sasl_login().refused_binding.empty());
  c.close();
  EXPECT_TRUE(cyrus.server->extended_master_secret());
  EXPECT_EQ(cyrus.scram.gs2_headers(), std::vector<std::string>{"p=tls-unique,,"});
  EXPECT_EQ(cyrus.scram.accepted(), 1);
  EXPECT_EQ(cyrus.server->problem(), "");
}

// Without the extended master secret tls-unique is open to the
// triple-handshake attack: not offered, asked for or not.
TEST(ChannelBinding, Tls12WithoutExtendedMasterSecretNeverUsesTlsUnique) {
  CyrusLike automatic({.exchange = 4, .logs_in = true, .tls_max = TLS1_2_VERSION, .no_ems = true});
  Client c = automatic.connect();
  auto r = c.login_auto("user", "pencil");
  ASSERT_TRUE(r.ok()) << r.error().message;
  c.close();
  EXPECT_FALSE(automatic.server->extended_master_secret());
  EXPECT_EQ(automatic.scram.gs2_headers(),
            (std::vector<std::string>{"p=tls-server-end-point,,", "n,,"}));

  CyrusLike asked({.tls_max = TLS1_2_VERSION, .no_ems = true});
  Client u = asked.connect(ChannelBindingChoice::tls_unique);
  auto refused = u.login_auto("user", "pencil");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::unsupported);
  EXPECT_NE(refused.error().message.find("extended master secret"), std::string::npos)
      << refused.error().message;
  u.close();
  EXPECT_EQ(asked.auth_lines(), 0U);
}

TEST(ChannelBinding, NamedPlusIsNeverReplaced) {
  CyrusLike cyrus({.exchange = 1});  // TLS 1.3: tls-exporter, which the server refuses
  Client c = cyrus.connect();
  auto r = c.authenticate("SCRAM-SHA-256-PLUS", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  EXPECT_FALSE(blames_credentials(r.error().message)) << r.error().message;
  EXPECT_NE(r.error().message.find("may not support channel binding tls-exporter"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(c.state(), proto::State::authorization);
  c.close();
  EXPECT_EQ(cyrus.auth_lines(), 1U);
}

TEST(ChannelBinding, AskedForTypeNeverFallsBack) {
  // tls-exporter asked for by name, over TLS 1.3: refused, and that is all.
  CyrusLike exporter({.exchange = 1});
  Client c = exporter.connect(ChannelBindingChoice::tls_exporter);
  auto r = c.login_auto("user", "pencil");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(blames_credentials(r.error().message)) << r.error().message;
  c.close();
  EXPECT_EQ(exporter.auth_lines(), 1U);

  // tls-unique over TLS 1.3 does not exist: refused before anything is sent.
  CyrusLike unique13({});
  Client u = unique13.connect(ChannelBindingChoice::tls_unique);
  auto undefined = u.login_auto("user", "pencil");
  ASSERT_FALSE(undefined.ok());
  EXPECT_EQ(undefined.error().code, errc::unsupported);
  EXPECT_NE(undefined.error().message.find("TLS 1.3"), std::string::npos)
      << undefined.error().message;
  u.close();
  EXPECT_EQ(unique13.auth_lines(), 0U);
}

TEST(ChannelBinding, AskedForTlsUniqueOverTls12LogsIn) {
  CyrusLike cyrus({.exchange = 3, .logs_in = true, .tls_max = TLS1_2_VERSION});
  Client c = cyrus.connect(ChannelBindingChoice::tls_unique);
  auto r = c.login_auto("user", "pencil");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.channel_bound());
  c.close();
  EXPECT_EQ(cyrus.scram.gs2_headers(), std::vector<std::string>{"p=tls-unique,,"});
}

TEST(ChannelBinding, NoneLogsInWithoutBindingAndRefusesPlus) {
  CyrusLike cyrus({.exchange = 3, .logs_in = true});
  Client c = cyrus.connect(ChannelBindingChoice::none);
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256");
  auto plus = c.authenticate("SCRAM-SHA-256-PLUS", creds());
  ASSERT_FALSE(plus.ok());
  EXPECT_EQ(plus.error().code, errc::invalid_argument);
  auto r = c.login_auto("user", "pencil");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(c.channel_bound());
  c.close();
  EXPECT_EQ(cyrus.scram.gs2_headers(), std::vector<std::string>{"n,,"});
}

TEST(ChannelBinding, FallbackRefusedTooIsACredentialFailure) {
  ScramServer::Policy wrong;
  wrong.password = "not-the-password";
  CyrusLike cyrus(
      {.exchange = 3, .policy = wrong});  // -PLUS refused; SCRAM-SHA-256 and its final, refused
  Client c = cyrus.connect();
  auto r = c.login_auto("user", "pencil");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  EXPECT_NE(r.error().message.find("SCRAM-SHA-256-PLUS with channel binding tls-exporter was "
                                   "refused before"),
            std::string::npos)
      << r.error().message;
  c.close();
  EXPECT_EQ(cyrus.auth_lines(), 2U);  // one retry, no more
}

TEST(ChannelBinding, TemporaryRefusalIsNotRetried) {
  ScramServer::Policy busy;
  busy.refusal = "-ERR [IN-USE] mailbox locked\r\n";
  CyrusLike cyrus({.exchange = 1, .policy = busy});
  Client c = cyrus.connect();
  auto r = c.login_auto("user", "pencil");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::temporary_failure);
  c.close();
  EXPECT_EQ(cyrus.auth_lines(), 1U);
}

// Through open_account, as the pop3kit command logs in: the message of a
// refused -PLUS names the way out and does not blame the password.
TEST(ChannelBinding, OpenAccountNamesTheWayOut) {
  CyrusLike cyrus({.exchange = 1});
  Account a;
  a.url = *parse_pop_url("pops://user;auth=SCRAM-SHA-256-PLUS@localhost:" +
                         std::to_string(cyrus.server->port()));
  a.tls.ca_file = TestCerts::get().ca;
  a.io_timeout = 5s;
  a.password = [] { return Result<std::string>(std::string("pencil")); };
  auto plan = plan_account(a);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto s = open_account(a, *plan);
  ASSERT_FALSE(s.ok());
  const std::string& m = s.error().message;
  EXPECT_EQ(s.error().code, errc::auth_failed);
  EXPECT_FALSE(blames_credentials(m)) << m;
  EXPECT_NE(m.find("login with SCRAM-SHA-256-PLUS failed"), std::string::npos) << m;
  EXPECT_NE(m.find("channel_binding"), std::string::npos) << m;
  EXPECT_NE(m.find(";auth=SCRAM-SHA-256"), std::string::npos) << m;
  EXPECT_EQ(cyrus.auth_lines(), 1U);

  // The automatic choice logs in, and says with which method.
  CyrusLike again({.exchange = 4, .logs_in = true});
  a.url = *parse_pop_url("pops://user@localhost:" + std::to_string(again.server->port()));
  plan = plan_account(a);
  ASSERT_TRUE(plan.ok());
  auto ok = open_account(a, *plan);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->method, "SCRAM-SHA-256");
  EXPECT_FALSE(ok->client.channel_bound());
}

TEST(ChannelBinding, PlanningRefusesContradictions) {
  Account a;
  a.url = *parse_pop_url("pops://user;auth=SCRAM-SHA-256-PLUS@example.org");
  a.channel_binding = ChannelBindingChoice::none;
  auto plan = plan_account(a);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, account_errc::conflicting_options);
  EXPECT_NE(plan.error().message.find("channel_binding=none"), std::string::npos)
      << plan.error().message;

  a.url = *parse_pop_url("pop://user@example.org");
  a.allow_plaintext = true;
  a.channel_binding = ChannelBindingChoice::tls_unique;
  plan = plan_account(a);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, account_errc::conflicting_options);

  a.channel_binding = ChannelBindingChoice::none;  // harmless without TLS
  EXPECT_TRUE(plan_account(a).ok());
}

TEST(ChannelBinding, ChoiceNames) {
  for (auto c : {ChannelBindingChoice::automatic, ChannelBindingChoice::tls_exporter,
                 ChannelBindingChoice::tls_unique, ChannelBindingChoice::tls_server_end_point,
                 ChannelBindingChoice::none}) {
    EXPECT_EQ(parse_channel_binding(to_string(c)), c);
  }
  EXPECT_EQ(to_string(ChannelBindingChoice::automatic), "auto");
  EXPECT_FALSE(parse_channel_binding("tls-unique-for-telnet").has_value());
}

// What the TLS transport gives is what a SASL mechanism takes: one struct
// (pop3kit/channel_binding.hpp), no conversion between two look-alikes.
static_assert(std::is_same_v<net::TlsTransport::ChannelBinding, pop3kit::ChannelBinding>);
static_assert(std::is_same_v<net::ChannelBinding, auth::ChannelBinding>);

}  // namespace
}  // namespace pop3kit::test
