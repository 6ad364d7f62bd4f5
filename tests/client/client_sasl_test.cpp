// SASL through the Client against scripted servers: the exchanges a real
// server will not produce on demand (a forged SCRAM signature, bad base64,
// OAuth failures, long tokens).
#include <gtest/gtest.h>

#include "pop3kit/client.hpp"
#include "pop3kit/sasl.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

using namespace std::chrono_literals;
using S = ScriptServer;

const char* kCapa = "+OK\r\nUSER\r\nSASL PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER\r\n.\r\n";

Client connected(const ScriptServer& server, bool plaintext_ok = true) {
  ClientOptions o;
  o.security = Security::plain;
  o.io_timeout = 5s;
  o.allow_plaintext_password = plaintext_ok;
  Client c(o);
  auto r = c.connect("127.0.0.1", server.port());
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.capa().ok());
  return c;
}

std::string b64(std::string_view s) {
  return auth::base64_encode(s);
}

std::string decode_arg(const std::string& line, std::size_t word) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < word; ++i)
    pos = line.find(' ', pos) + 1;
  return auth::base64_decode(line.substr(pos)).value_or("?");
}

auth::SaslCredentials creds(std::string token = {}) {
  auth::SaslCredentials c;
  c.authcid = "user";
  c.password = "pencil";
  c.token = std::move(token);
  c.host = "127.0.0.1";
  return c;
}

TEST(ClientSasl, PlainInitialResponseOnTheAuthLine) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH PLAIN " + b64(std::string("\0user\0pencil", 12))),
                       S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("PLAIN", creds());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(c.state(), proto::State::transaction);
  c.close();
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientSasl, ScramForgedServerSignatureIsRejected) {
  std::string client_nonce;
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
       S::respond([&](const std::string& line) {
         // AUTH SCRAM-SHA-256 <base64 of "n,,n=user,r=NONCE">
         const std::string first = decode_arg(line, 2);
         client_nonce = first.substr(first.find("r=") + 2);
         return "+ " + b64("r=" + client_nonce + "srv,s=" + b64("salt") + ",i=4096") + "\r\n";
       }),
       S::respond([&](const std::string&) {
         return "+ " + b64("v=" + b64(std::string(32, 'x'))) + "\r\n";  // not the real proof
       }),
       S::expect("*"), S::send("-ERR [AUTH] cancelled\r\n"), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("SCRAM-SHA-256", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("signature"), std::string::npos) << r.error().message;
  EXPECT_EQ(c.state(), proto::State::authorization);
}

TEST(ClientSasl, ScramOkWithoutServerProofIsRejected) {
  ScriptServer server(
      {S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
       S::respond([&](const std::string& line) {
         const std::string first = decode_arg(line, 2);
         const std::string nonce = first.substr(first.find("r=") + 2);
         return "+ " + b64("r=" + nonce + "srv,s=" + b64("salt") + ",i=4096") + "\r\n";
       }),
       S::respond([](const std::string&) { return std::string("+OK trust me\r\n"); }),
       S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("SCRAM-SHA-256", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  EXPECT_FALSE(c.connected());  // a server that skipped its proof is not talked to further
}

// SCRAM-SHA-256-PLUS over TLS: the c= the client sends must carry the
// channel-binding data the server computes on its side of the same channel.
TEST(ClientSasl, PlusBindsToTheTlsChannel) {
  const auto& certs = TestCerts::get();
  std::string expected_c, got_c;
  ScriptServer* srv = nullptr;
  ScriptServer server(
      {S::start_tls(), S::send("+OK\r\n"), S::expect("CAPA"),
       S::send("+OK\r\nUSER\r\nSASL SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN\r\n.\r\n"),
       S::respond([&](const std::string& line) {
         const std::string first = decode_arg(line, 2);
         const std::string nonce = first.substr(first.find("r=") + 2);
         expected_c = b64("p=tls-exporter,," + srv->channel_binding());
         return "+ " + b64("r=" + nonce + "srv,s=" + b64("salt") + ",i=4096") + "\r\n";
       }),
       S::respond([&](const std::string& line) {
         const std::string final_msg = auth::base64_decode(line).value_or("");
         const auto at = final_msg.find("c=");
         got_c = final_msg.substr(at + 2, final_msg.find(',', at) - at - 2);
         return std::string("-ERR [AUTH] stop here\r\n");
       }),
       S::wait_close()},
      certs.cert(certs.good), certs.key(certs.good));
  srv = &server;
  ClientOptions o;
  o.io_timeout = 5s;
  o.security = Security::tls;
  o.tls.ca_file = certs.ca;
  Client c(o);
  ASSERT_TRUE(c.connect("localhost", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256-PLUS");
  auto r = c.authenticate("SCRAM-SHA-256-PLUS", creds());
  ASSERT_FALSE(r.ok());
  c.close();
  EXPECT_EQ(server.problem(), "");
  EXPECT_FALSE(expected_c.empty());
  EXPECT_EQ(got_c, expected_c);
}

// Plain SCRAM over TLS says in its GS2 flag whether the client could have
// bound to the channel: "y" when the server lists no -PLUS variant (a man in
// the middle who removed it is then caught), "n" when it does and the caller
// chose not to bind (RFC 5802 §6: "y" to a server that can bind must fail).
std::string scram_gs2_flag_over_tls(const std::string& sasl_list) {
  const auto& certs = TestCerts::get();
  std::string first;
  ScriptServer server({S::start_tls(), S::send("+OK\r\n"), S::expect("CAPA"),
                       S::send("+OK\r\nUSER\r\nSASL " + sasl_list + "\r\n.\r\n"),
                       S::respond([&](const std::string& line) {
                         first = decode_arg(line, 2);
                         return std::string("-ERR [AUTH] stop here\r\n");
                       }),
                       S::wait_close()},
                      certs.cert(certs.good), certs.key(certs.good));
  ClientOptions o;
  o.io_timeout = 5s;
  o.security = Security::tls;
  o.tls.ca_file = certs.ca;
  Client c(o);
  EXPECT_TRUE(c.connect("localhost", server.port()).ok());
  EXPECT_TRUE(c.capa().ok());
  EXPECT_FALSE(c.authenticate("SCRAM-SHA-256", creds()).ok());
  c.close();
  EXPECT_EQ(server.problem(), "");
  return first.substr(0, 3);
}

TEST(ClientSasl, ScramGs2FlagFollowsTheServersPlusOffer) {
  EXPECT_EQ(scram_gs2_flag_over_tls("SCRAM-SHA-256"), "y,,");
  EXPECT_EQ(scram_gs2_flag_over_tls("scram-sha-256 scram-sha-256-plus"), "n,,");
}

TEST(ClientSasl, PlusWithoutTlsIsRefusedBeforeSending) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("SCRAM-SHA-256-PLUS", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unsupported);
  c.close();
  EXPECT_EQ(server.finish().size(), 1U);
}

TEST(ClientSasl, BadBase64ChallengeIsCancelled) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH LOGIN"), S::send("+ VXNlcm5h!!!\r\n"), S::expect("*"),
                       S::send("-ERR cancelled\r\n"), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("LOGIN", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not valid base64"), std::string::npos) << r.error().message;
  c.close();
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientSasl, LongXoauth2TokenGoesAfterTheEmptyChallenge) {
  const std::string token(2048, 't');
  const std::string ir =
      b64("user=user\x01"
          "auth=Bearer " +
          token + "\x01\x01");
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH XOAUTH2"), S::send("+ \r\n"), S::expect(ir),
                       S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("XOAUTH2", creds(token));
  ASSERT_TRUE(r.ok()) << r.error().message;
  c.close();
  const auto lines = server.finish();
  EXPECT_EQ(lines[1], "AUTH XOAUTH2");  // nothing else on the AUTH line
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientSasl, Xoauth2FailureAnswersJsonWithEmptyLine) {
  const std::string json = R"({"status":"401","schemes":"bearer","scope":"https://mail.example"})";
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH XOAUTH2 "), S::send("+ " + b64(json) + "\r\n"),
                       S::expect(""), S::send("-ERR [AUTH] invalid token\r\n"), S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("XOAUTH2", creds("short-token"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  c.close();
  const auto lines = server.finish();
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[2], "");
}

TEST(ClientSasl, OauthbearerFailureAnswersWithAQ) {
  const std::string json = R"({"status":"invalid_token"})";
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH OAUTHBEARER "), S::send("+ " + b64(json) + "\r\n"),
                       S::expect("AQ=="), S::send("-ERR [AUTH] invalid token\r\n"),
                       S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("OAUTHBEARER", creds("short-token"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::auth_failed);
  c.close();
  EXPECT_EQ(server.problem(), "");
}

TEST(ClientSasl, TemporaryRefusalIsTemporary) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa),
                       S::expect("AUTH PLAIN"), S::send("-ERR [IN-USE] locked\r\n"),
                       S::wait_close()});
  Client c = connected(server);
  auto r = c.authenticate("PLAIN", creds());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::temporary_failure);
  EXPECT_NE(r.error().message.find("AUTH PLAIN refused"), std::string::npos);
}

TEST(ClientSasl, ChoiceFollowsCapaAndPolicy) {
  ScriptServer server({S::send("+OK\r\n"), S::expect("CAPA"), S::send(kCapa), S::wait_close()});
  Client c = connected(server, false);
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256");
  c.close();

  ScriptServer plain_only({S::send("+OK\r\n"), S::expect("CAPA"),
                           S::send("+OK\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\n.\r\n"),
                           S::wait_close()});
  Client p = connected(plain_only, false);
  EXPECT_EQ(p.choose_mechanism(), "");  // no TLS, no opt-in: no reusable password
  auto r = p.login_auto("user", "pencil");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::unsupported);
  p.close();
  EXPECT_EQ(plain_only.finish().size(), 1U);  // CAPA only: the password never crossed

  ScriptServer opted({S::send("+OK\r\n"), S::expect("CAPA"),
                      S::send("+OK\r\nUSER\r\nSASL LOGIN CRAM-MD5\r\n.\r\n"), S::wait_close()});
  Client o = connected(opted, true);
  EXPECT_EQ(o.choose_mechanism(), "LOGIN");  // CRAM-MD5 only when named
  o.close();
}

}  // namespace
}  // namespace pop3kit::test
