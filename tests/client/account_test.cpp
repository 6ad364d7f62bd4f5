// pop3kit::Account: the plan decided from the account alone (security, login
// method, which secret), its two kinds of refusal, and open_account() against
// scripted servers: secrets read only when needed and before connecting, the
// method chosen from CAPA, the listing sent with the login, the OAuth error
// challenge handed over.
#include "pop3kit/account.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include <string>
#include <vector>

#include "pop3kit/sasl.hpp"
#include "support/script_server.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

Account account(const std::string& url) {
  Account a;
  auto u = parse_pop_url(url);
  EXPECT_TRUE(u.ok()) << url;
  if (u) a.url = *u;
  return a;
}

Account plaintext(const std::string& url, bool password_too) {
  Account a = account(url);
  a.allow_plaintext = true;
  a.allow_plaintext_password = password_too;
  return a;
}

AccountPlan planned(const Account& a) {
  auto p = plan_account(a);
  EXPECT_TRUE(p.ok()) << (p ? "" : p.error().message);
  return p ? *p : AccountPlan{};
}

// The refusal's message; expects the code `code`.
std::string refused(const Account& a, account_errc code) {
  auto p = plan_account(a);
  if (p) {
    ADD_FAILURE() << a.url.user << ";auth=" << a.url.auth << " was planned";
    return {};
  }
  EXPECT_EQ(p.error().code, code) << p.error().message;
  return p.error().message;
}

TEST(AccountErrc, OwnCategoryTellsUsageFromConfiguration) {
  const std::error_code usage = account_errc::conflicting_options;
  const std::error_code config = account_errc::unusable_configuration;
  EXPECT_STREQ(usage.category().name(), "pop3kit.account");
  EXPECT_NE(usage, config);
  EXPECT_NE(usage.category(), pop3kit::category());
  EXPECT_FALSE(usage.message().empty());
  EXPECT_NE(usage.message(), config.message());
}

TEST(AccountPlan, SecurityFromSchemeAndOption) {
  EXPECT_EQ(planned(account("pop://u@h")).security, Security::starttls);
  EXPECT_EQ(planned(account("pops://u@h")).security, Security::tls);
  EXPECT_EQ(planned(plaintext("pop://u@h", false)).security, Security::plain);
}

TEST(AccountPlan, NoUserNoLogin) {
  const AccountPlan p = planned(account("pop://h"));
  EXPECT_EQ(p.login, LoginChoice::none);
  EXPECT_FALSE(p.needs_password);
  EXPECT_FALSE(p.needs_token);
}

TEST(AccountPlan, ContradictionsAreConflictingOptionsNamedByTheCallersWords) {
  EXPECT_EQ(refused(plaintext("pops://u@h", false), account_errc::conflicting_options),
            "allow_plaintext contradicts the pops:// URL, which means TLS from the first byte "
            "(use pop:// for plain TCP)");
  Account second_only = account("pop://u@h");
  second_only.allow_plaintext_password = true;
  EXPECT_EQ(refused(second_only, account_errc::conflicting_options),
            "allow_plaintext_password only applies with allow_plaintext (over TLS the password "
            "is protected anyway)");
  // Any TLS option with plain TCP, the minimum version included.
  Account tls_min = plaintext("pop://u@h", false);
  tls_min.tls.min_version = net::TlsVersion::tls1_3;
  refused(tls_min, account_errc::conflicting_options);
  Account bad_pin = account("pops://u@h");
  bad_pin.tls.pins = {"cert:abc\x1b"};
  const std::string m = refused(bad_pin, account_errc::conflicting_options);
  EXPECT_EQ(m.find('\x1b'), std::string::npos) << m;  // echoed sanitised
  Account pin_only = account("pops://u@h");
  pin_only.tls.pins_replace_ca = true;
  refused(pin_only, account_errc::conflicting_options);
  Account key_only = account("pops://u@h");
  key_only.tls.client_key_file = "k.pem";
  key_only.names.client_key = "--key";
  key_only.names.client_cert = "--cert";
  EXPECT_EQ(refused(key_only, account_errc::conflicting_options), "--key needs --cert");
}

TEST(AccountPlan, AutomaticTakesThePasswordOrTheToken) {
  const AccountPlan p = planned(account("pop://u;auth=*@h"));
  EXPECT_EQ(p.login, LoginChoice::automatic);
  EXPECT_TRUE(p.needs_password);
  EXPECT_FALSE(p.needs_token);
  Account with_token = account("pops://u@h");
  with_token.token_available = true;
  const AccountPlan t = planned(with_token);
  EXPECT_EQ(t.login, LoginChoice::automatic);
  EXPECT_TRUE(t.needs_token);
  EXPECT_FALSE(t.needs_password);
  // A token is reusable: over plain TCP it needs the second opt-in.
  Account plain_token = plaintext("pop://u@h", false);
  plain_token.token_available = true;
  const std::string m = refused(plain_token, account_errc::unusable_configuration);
  EXPECT_NE(m.find("refusing to send the OAuth token in clear text to h:110"), std::string::npos)
      << m;
  plain_token.allow_plaintext_password = true;
  EXPECT_TRUE(planned(plain_token).needs_token);
}

TEST(AccountPlan, ReusableSecretsFollowTheMechanismInfo) {
  // Whatever sasl_mechanism_info() calls reusable needs the second opt-in
  // over plain TCP; the rest only allow_plaintext.
  for (const auto name : auth::sasl_mechanism_names()) {
    const auth::SaslMechanismInfo* info = auth::sasl_mechanism_info(name);
    if (info->channel_binding || info->secret == auth::SaslSecret::client_certificate) continue;
    const std::string url = "pop://u;auth=" + std::string(name) + "@h";
    if (info->sends_reusable_secret) {
      const std::string m = refused(plaintext(url, false), account_errc::unusable_configuration);
      EXPECT_NE(m.find(info->secret == auth::SaslSecret::token ? "OAuth token" : "password"),
                std::string::npos)
          << m;
      EXPECT_NE(m.find("with " + std::string(name)), std::string::npos) << m;
      EXPECT_EQ(planned(plaintext(url, true)).login, LoginChoice::sasl);
    } else {
      EXPECT_EQ(planned(plaintext(url, false)).login, LoginChoice::sasl) << name;
    }
    const AccountPlan tls = planned(account(url));
    EXPECT_EQ(tls.mechanism, name);
    EXPECT_EQ(tls.needs_token, info->secret == auth::SaslSecret::token) << name;
    EXPECT_EQ(tls.needs_password, info->secret == auth::SaslSecret::password) << name;
  }
  // USER/PASS by name sends the password itself.
  refused(plaintext("pop://u;auth=USER@h", false), account_errc::unusable_configuration);
  const AccountPlan user = planned(plaintext("pop://u;auth=USER@h", true));
  EXPECT_EQ(user.login, LoginChoice::user_pass);
  EXPECT_TRUE(user.needs_password);
  EXPECT_EQ(user.mechanism, "");
  // APOP sends a digest: plain TCP is enough.
  EXPECT_EQ(planned(plaintext("pop://u;auth=+APOP@h", false)).login, LoginChoice::apop);
}

TEST(AccountPlan, UnusableSetups) {
  const std::string unknown =
      refused(account("pop://u;auth=GSSAPI@h"), account_errc::unusable_configuration);
  EXPECT_NE(unknown.find("SASL mechanism GSSAPI is not supported"), std::string::npos);
  EXPECT_NE(unknown.find(" XOAUTH2"), std::string::npos) << unknown;
  const std::string plus = refused(plaintext("pop://u;auth=SCRAM-SHA-256-PLUS@h", true),
                                   account_errc::unusable_configuration);
  EXPECT_NE(plus.find("needs TLS"), std::string::npos) << plus;
  refused(plaintext("pop://u;auth=EXTERNAL@h", true), account_errc::unusable_configuration);
  refused(account("pops://u;auth=EXTERNAL@h"), account_errc::unusable_configuration);
  Account cert = account("pops://u;auth=EXTERNAL@h");
  cert.tls.client_cert_file = "me.pem";
  const AccountPlan ext = planned(cert);
  EXPECT_EQ(ext.login, LoginChoice::sasl);
  EXPECT_FALSE(ext.needs_password);
  EXPECT_FALSE(ext.needs_token);
}

TEST(AccountClientOptions, FromTheAccountAndThePlan) {
  Account a = account("pops://u@h");
  a.tls.client_cert_file = "me.pem";
  a.io_timeout = 2500ms;
  a.connect_timeout = 250ms;
  a.family = net::Family::ipv6;
  const ClientOptions o = client_options(a, planned(a));
  EXPECT_EQ(o.security, Security::tls);
  EXPECT_EQ(o.tls.client_key_file, "me.pem");  // the key may sit in the certificate's file
  EXPECT_EQ(o.io_timeout, 2500ms);
  EXPECT_EQ(o.connect_timeout, 250ms);
  EXPECT_EQ(o.family, net::Family::ipv6);
  EXPECT_FALSE(o.allow_plaintext_password);
}

// --- open_account against scripted servers --------------------------------

// A plain-TCP account on the scripted server, with counting sources.
struct Fixture {
  Account a;
  int password_reads = 0;
  int token_reads = 0;
  Fixture(const ScriptServer& server, const std::string& userinfo) {
    a = plaintext("pop://" + userinfo + "@127.0.0.1:" + std::to_string(server.port()), true);
    a.io_timeout = 5s;
    a.password = [this] {
      ++password_reads;
      return Result<std::string>(std::string("p"));
    };
    a.token = [this] {
      ++token_reads;
      return Result<std::string>(std::string("tok"));
    };
  }
};

const std::string kCapaPipelining = "+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n";

// USER and PASS in one write; LIST and UIDL in the next, once PASS is
// answered (never behind it: Courier drops what came with the login).
TEST(OpenAccount, UserPassThenTheListingInTheNextWrite) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapaPipelining),
                       S::expect("USER u"), S::expect("PASS p"), S::discard(),
                       S::send("+OK\r\n+OK\r\n"), S::expect("LIST"), S::expect("UIDL"),
                       S::send("+OK\r\n1 10\r\n.\r\n+OK\r\n1 aaa\r\n.\r\n"), S::expect("QUIT"),
                       S::send("+OK\r\n")});
  Fixture f(server, "u");
  bool connected_before_login = false;
  f.a.on_connected = [&](const Client& c) {
    connected_before_login = c.state() == proto::State::authorization;
  };
  Query listing(Query::Kind::listing);
  auto s = open_account(f.a, planned(f.a), &listing);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(connected_before_login);
  EXPECT_EQ(s->method, "USER");
  ASSERT_EQ(listing.entries().size(), 1U);
  EXPECT_EQ(listing.entries()[0].uid, "aaa");
  EXPECT_EQ(f.password_reads, 1);
  EXPECT_EQ(f.token_reads, 0);
  EXPECT_TRUE(s->client.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

TEST(OpenAccount, ASourceErrorStopsBeforeConnecting) {
  // Port 1 on loopback: connecting would fail with connect_failed.
  Account a = plaintext("pop://u@127.0.0.1:1", true);
  int reads = 0;
  a.password = [&reads] {
    ++reads;
    return Result<std::string>(Error(errc::invalid_argument, "no password today"));
  };
  auto s = open_account(a, planned(a));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().message, "no password today");
  EXPECT_EQ(reads, 1);
  a.password = nullptr;
  auto none = open_account(a, planned(a));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, account_errc::unusable_configuration);
}

TEST(OpenAccount, RefusedLoginNamesTheMethodAndKeepsTheCode) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send("-ERR no\r\n"),
                       S::expect("USER u"), S::send("+OK\r\n"), S::expect("PASS p"),
                       S::send("-ERR [AUTH] bad password\r\n"), S::wait_close()});
  Fixture f(server, "u;auth=USER");
  Query stat(Query::Kind::stat);
  auto s = open_account(f.a, planned(f.a), &stat);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::auth_failed);
  EXPECT_EQ(s.error().response_code, ResponseCode::auth);
  EXPECT_EQ(s.error().message.rfind("login with USER/PASS failed: ", 0), 0U) << s.error().message;
  EXPECT_NE(s.error().message.find("(the server refused the credentials)"), std::string::npos);
}

TEST(OpenAccount, LoginDelaySaysWhenToTryAgain) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nLOGIN-DELAY 300\r\n.\r\n"), S::expect("USER u"),
                       S::send("+OK\r\n"), S::expect("PASS p"),
                       S::send("-ERR [LOGIN-DELAY] too soon\r\n"), S::wait_close()});
  Fixture f(server, "u;auth=USER");
  const std::time_t before = std::time(nullptr);
  auto s = open_account(f.a, planned(f.a));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::temporary_failure);
  EXPECT_EQ(s.error().response_code, ResponseCode::login_delay);
  const std::string& m = s.error().message;
  EXPECT_NE(m.find("the server allows one login every 300 seconds (LOGIN-DELAY); try again after "),
            std::string::npos)
      << m;
  // The time named is 300 s from now (to the second, allowing for a slow run).
  const auto at = m.find("try again after ") + 16;
  std::tm tm{};
  ASSERT_NE(strptime(m.substr(at, 19).c_str(), "%Y-%m-%d %H:%M:%S", &tm), nullptr) << m;
  const std::time_t when = timegm(&tm);
  EXPECT_GE(when, before + 300);
  EXPECT_LE(when, std::time(nullptr) + 300);
}

TEST(OpenAccount, TokenChoosesOauthbearer) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n"),
                       S::expect("AUTH OAUTHBEARER "), S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\n.\r\n"), S::wait_close()});
  Fixture f(server, "u");
  f.a.token_available = true;
  auto s = open_account(f.a, planned(f.a));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->method, "OAUTHBEARER");
  EXPECT_EQ(f.token_reads, 1);
  EXPECT_EQ(f.password_reads, 0);
}

TEST(OpenAccount, TokenWithoutOauthMechanismIsAConfigurationError) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"), S::wait_close()});
  Fixture f(server, "u");
  f.a.token_available = true;
  auto s = open_account(f.a, planned(f.a));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, account_errc::unusable_configuration);
  EXPECT_NE(s.error().message.find("offers neither OAUTHBEARER nor XOAUTH2"), std::string::npos)
      << s.error().message;
}

TEST(OpenAccount, NoMethodOffThePlainConnection) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"), S::wait_close()});
  Fixture f(server, "u");
  f.a.allow_plaintext_password = false;
  auto s = open_account(f.a, planned(f.a));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, account_errc::unusable_configuration);
  EXPECT_NE(s.error().message.find("keeps the password off this unencrypted connection"),
            std::string::npos)
      << s.error().message;
  for (const std::string& line : server.finish()) {
    EXPECT_FALSE(line.starts_with("USER") || line.starts_with("AUTH")) << line;
  }
}

TEST(OpenAccount, OauthErrorChallengeIsHandedOverRaw) {
  const std::string json =
      R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})";
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nSASL XOAUTH2\r\n.\r\n"), S::expect("AUTH XOAUTH2 "),
                       S::send("+ " + auth::base64_encode(json) + "\r\n"), S::expect(""),
                       S::send("-ERR [AUTH] invalid token\r\n"), S::wait_close()});
  Fixture f(server, "u;auth=XOAUTH2");
  std::vector<std::string> seen;
  f.a.on_oauth_error = [&seen](std::string_view mechanism, std::string_view challenge) {
    seen.push_back(std::string(mechanism) + " " + std::string(challenge));
  };
  auto s = open_account(f.a, planned(f.a));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::auth_failed);
  EXPECT_EQ(s.error().message.rfind("login with XOAUTH2 failed: ", 0), 0U) << s.error().message;
  EXPECT_EQ(seen, std::vector<std::string>{"XOAUTH2 " + json});
}

// RFC 6856: UTF8 goes out after CAPA and before the login when the server
// lists it (Courier wraps messages with UTF-8 headers otherwise).
TEST(OpenAccount, Utf8BeforeTheLoginWhenOffered) {
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\nUTF8 USER\r\n.\r\n"),
       S::expect("UTF8"), S::send("+OK UTF8 enabled\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
       S::expect("PASS p"), S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"),
       S::expect("STAT"), S::send("+OK 0 0\r\n"), S::expect("QUIT"), S::send("+OK\r\n")});
  Fixture f(server, "u");
  Query stat(Query::Kind::stat);
  auto s = open_account(f.a, planned(f.a), &stat);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->client.quit().ok());
  EXPECT_EQ(server.problem(), "");
}

// Turned off, or not offered: never sent. Refused: the login goes on.
TEST(OpenAccount, Utf8OffOrRefused) {
  ScriptServer off({S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\nUTF8\r\n.\r\n"),
                    S::expect("USER u"), S::send("+OK\r\n"), S::expect("PASS p"),
                    S::send("+OK\r\n"), S::expect("CAPA"), S::send("+OK\r\nUSER\r\n.\r\n"),
                    S::expect("QUIT"), S::send("+OK\r\n")});
  Fixture f(off, "u");
  f.a.utf8 = false;
  auto s = open_account(f.a, planned(f.a));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->client.quit().ok());
  EXPECT_EQ(off.problem(), "");

  ScriptServer refused({S::send("+OK\r\n"), S::expect("CAPA"),
                        S::send("+OK\r\nUSER\r\nUTF8\r\n.\r\n"), S::expect("UTF8"),
                        S::send("-ERR not today\r\n"), S::expect("USER u"), S::send("+OK\r\n"),
                        S::expect("PASS p"), S::send("+OK\r\n"), S::expect("CAPA"),
                        S::send("+OK\r\nUSER\r\n.\r\n"), S::expect("QUIT"), S::send("+OK\r\n")});
  Fixture g(refused, "u");
  auto t = open_account(g.a, planned(g.a));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->client.quit().ok());
  EXPECT_EQ(refused.problem(), "");
}

}  // namespace
}  // namespace pop3kit::test
