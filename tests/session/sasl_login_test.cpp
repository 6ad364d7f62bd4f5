// SaslLogin: AUTH with its initial response inline or after the empty
// challenge, multi-step SCRAM, the client's "*", the server's refusals and
// the retry without channel binding, then the CAPA asked again. Each
// transcript runs at every split of the server's bytes.
#include <gtest/gtest.h>

#include "pop3kit/session_auth.hpp"
#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using Batches = std::vector<std::string>;
using auth::base64_encode;

struct SaslSetup {
  std::string mechanism = "PLAIN";
  auth::SaslCredentials credentials{.authcid = "u", .password = "p"};
  session::SaslLoginOptions options;
  Capabilities caps;
};

struct SaslSubject : Subject {
  explicit SaslSubject(SaslSetup s) : setup(std::move(s)) {}
  SaslSetup setup;
  session::Facts facts;
  std::optional<session::SaslLogin> login;

  session::Operation& make(std::string_view) override {
    facts.capabilities = &setup.caps;
    return login.emplace(setup.mechanism, setup.credentials, setup.options, facts);
  }
  std::string found() override {
    const SaslLoginInfo& info = login->info();
    std::string s = login->logged_in() ? "logged in" : "not logged in";
    if (login->channel_bound()) s += " bound";
    s += "; " + info.mechanism;
    if (!info.channel_binding.empty()) s += " " + info.channel_binding;
    if (info.refused) s += " refused";
    if (!info.refused_binding.empty()) s += "; after " + info.refused_binding;
    if (login->capabilities_after()) s += "; caps " + render(*login->capabilities_after());
    return s;
  }
};

SubjectFactory sasl_factory(const SaslSetup& setup) {
  return [setup] { return std::unique_ptr<Subject>(std::make_unique<SaslSubject>(setup)); };
}

std::string line(std::string_view text) {
  return std::string(text) + "\r\n";
}
std::string challenge(std::string_view data) {
  return "+ " + base64_encode(data) + "\r\n";
}

const std::string kPlain = base64_encode(std::string("\0u\0p", 4));

// RFC 7677's SCRAM-SHA-256 example.
constexpr std::string_view kNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
    "Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
const ChannelBinding kBinding{"tls-unique", "0123456789abcdef"};

SaslSetup scram(std::string mechanism = "SCRAM-SHA-256") {
  SaslSetup s;
  s.mechanism = std::move(mechanism);
  s.credentials = {.authcid = "user", .password = "pencil"};
  s.options.sasl.client_nonce_for_tests = std::string(kNonce);
  s.caps = caps_of({{"SASL", "SCRAM-SHA-256-PLUS SCRAM-SHA-256"}, {"PIPELINING", ""}});
  return s;
}

SaslSetup scram_plus(bool retry) {
  SaslSetup s = scram("SCRAM-SHA-256-PLUS");
  s.options.sasl.channel_binding = kBinding;
  s.options.unbound_retry = retry;
  return s;
}

// What the client sends after kServerFirst in a -PLUS exchange: its proof
// covers the binding data, so it is computed as the mechanism does.
std::string plus_client_final() {
  auth::SaslOptions o;
  o.client_nonce_for_tests = std::string(kNonce);
  o.channel_binding = kBinding;
  auto m =
      auth::make_sasl_mechanism("SCRAM-SHA-256-PLUS", {.authcid = "user", .password = "pencil"}, o);
  EXPECT_TRUE(m);
  (void)(*m)->initial_response();
  auto r = (*m)->step(kServerFirst);
  EXPECT_TRUE(r);
  return r ? *r : std::string();
}

// The unbound exchange after a refused -PLUS one, to the end.
std::vector<Turn> unbound_scram_turns() {
  return {{line("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=" + std::string(kNonce))),
           challenge(kServerFirst)},
          {line(base64_encode(kClientFinal)), challenge(kServerFinal)},
          {"\r\n", "+OK\r\n"}};
}

// SASL listed and the line short: the initial response rides on AUTH.
TEST(SessionSasl, PlainInitialResponseInline) {
  SaslSetup s;
  s.caps = caps_of({{"SASL", "PLAIN"}, {"PIPELINING", ""}});
  Script sc;
  sc.turns = {{line("AUTH PLAIN " + kPlain), "+OK welcome\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.batches, (Batches{line("AUTH PLAIN " + kPlain)}));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
  EXPECT_EQ(o.found, "logged in; PLAIN");
}

// No SASL in CAPA (RFC 5034 §4): the initial response waits for the
// empty challenge. No PIPELINING before login: CAPA again after it.
TEST(SessionSasl, PlainInitialResponseAfterEmptyChallengeWithoutSasl) {
  SaslSetup s;
  s.caps = caps_of({{"USER", ""}});
  Script sc;
  sc.turns = {{"AUTH PLAIN\r\n", "+ \r\n"},
              {line(kPlain), "+OK\r\n"},
              {"CAPA\r\n", "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.batches, (Batches{"AUTH PLAIN\r\n", line(kPlain), "CAPA\r\n"}));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "logged in; PLAIN; caps USER,PIPELINING");
}

// An AUTH line over the command limit: the initial response waits too.
TEST(SessionSasl, PlainInitialResponseAfterEmptyChallengeWhenTooLong) {
  SaslSetup s;
  s.caps = caps_of({{"SASL", "PLAIN"}, {"PIPELINING", ""}});
  Script sc;
  sc.limits.max_command = 20;  // "AUTH PLAIN AHUAcA==\r\n" is 21
  sc.turns = {{"AUTH PLAIN\r\n", "+ \r\n"}, {line(kPlain), "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.sent, "AUTH PLAIN\r\n" + line(kPlain));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found, "logged in; PLAIN");
}

// Within the limit exactly: inline.
TEST(SessionSasl, PlainInitialResponseInlineAtTheLimit) {
  SaslSetup s;
  s.caps = caps_of({{"SASL", "PLAIN"}, {"PIPELINING", ""}});
  Script sc;
  sc.limits.max_command = 21;
  sc.turns = {{line("AUTH PLAIN " + kPlain), "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.outcome, "ok");
}

TEST(SessionSasl, ScramMultiStepExchange) {
  Script sc;
  sc.turns = {{line("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=" + std::string(kNonce))),
               challenge(kServerFirst)},
              {line(base64_encode(kClientFinal)), challenge(kServerFinal)},
              {"\r\n", "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram()));
  EXPECT_EQ(o.batches.size(), 3u);
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found, "logged in; SCRAM-SHA-256");
}

// The server's signature is wrong: the client cancels with "*", and its
// own error is the outcome once the server's -ERR is read.
TEST(SessionSasl, ClientCancelsABadServerSignature) {
  Script sc;
  sc.turns = {{line("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=" + std::string(kNonce))),
               challenge(kServerFirst)},
              {line(base64_encode(kClientFinal)),
               challenge("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")},
              {"*\r\n", "-ERR cancelled\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram()));
  EXPECT_EQ(o.batches.back(), "*\r\n");
  EXPECT_EQ(o.outcome.rfind("error 301: ", 0), 0u) << o.outcome;
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found, "not logged in; SCRAM-SHA-256");
}

TEST(SessionSasl, ClientCancelsAChallengeThatIsNotBase64) {
  SaslSetup s;
  s.mechanism = "LOGIN";
  Script sc;
  sc.turns = {{"AUTH LOGIN\r\n", "+ not base64!\r\n"}, {"*\r\n", "-ERR cancelled\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.outcome, "error 203: AUTH LOGIN: the server's challenge is not valid base64");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found, "not logged in; LOGIN");
}

// +OK to a cancelled exchange: nothing the server says can be trusted.
TEST(SessionSasl, OkAfterCancelCloses) {
  SaslSetup s;
  s.mechanism = "LOGIN";
  Script sc;
  sc.turns = {{"AUTH LOGIN\r\n", "+ ***\r\n"}, {"*\r\n", "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.outcome, "error 301: AUTH LOGIN: the server accepted a cancelled exchange");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "not logged in; LOGIN");
}

// +OK before the server proved it knows the password: the mechanism
// disagrees, the connection is closed.
TEST(SessionSasl, OkBeforeServerSignatureCloses) {
  Script sc;
  sc.turns = {{line("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=" + std::string(kNonce))),
               challenge(kServerFirst)},
              {line(base64_encode(kClientFinal)), "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram()));
  EXPECT_EQ(o.outcome.rfind("error 301: AUTH SCRAM-SHA-256: ", 0), 0u) << o.outcome;
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "not logged in; SCRAM-SHA-256");
}

TEST(SessionSasl, RefusalsKeepTheResponseCode) {
  SaslSetup s;
  s.caps = caps_of({{"SASL", "PLAIN"}, {"PIPELINING", ""}});
  const std::pair<std::string, std::string> cases[] = {
      {"-ERR [AUTH] bad password\r\n",
       "error 301 [AUTH]: AUTH PLAIN refused: server says \"[AUTH] bad password\""},
      {"-ERR no\r\n", "error 301: AUTH PLAIN refused: server says \"no\""},
      {"-ERR [IN-USE] locked\r\n",
       "error 302 [IN-USE]: AUTH PLAIN refused: server says \"[IN-USE] locked\""},
      {"-ERR [SYS/PERM] broken\r\n",
       "error 303 [SYS/PERM]: AUTH PLAIN refused: server says \"[SYS/PERM] broken\""},
  };
  for (const auto& [answer, outcome] : cases) {
    Script sc;
    sc.turns = {{line("AUTH PLAIN " + kPlain), answer}};
    const auto o = run_session_all_splits(sc, sasl_factory(s));
    EXPECT_EQ(o.outcome, outcome);
    EXPECT_FALSE(o.closes);
    EXPECT_EQ(o.found, "not logged in; PLAIN refused");
  }
}

TEST(SessionSasl, PlusWithChannelBindingNoneSendsNothing) {
  SaslSetup s = scram_plus(false);
  s.options.channel_binding = ChannelBindingChoice::none;
  Script sc;
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.sent, "");
  EXPECT_EQ(o.outcome,
            "error 100: SCRAM-SHA-256-PLUS binds the login to the TLS channel, but channel "
            "binding is set to none");
}

const std::string kPlusAuth = line("AUTH SCRAM-SHA-256-PLUS " +
                                   base64_encode("p=tls-unique,,n=user,r=" + std::string(kNonce)));

// A refused -PLUS names the binding; without the retry that is the end.
TEST(SessionSasl, PlusRefusedNamesTheBinding) {
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [AUTH] bad protocol\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram_plus(false)));
  EXPECT_EQ(o.sent, kPlusAuth);
  EXPECT_EQ(o.outcome,
            "error 301 [AUTH]: AUTH SCRAM-SHA-256-PLUS with channel binding tls-unique refused: "
            "server says \"[AUTH] bad protocol\" (the server may not support channel binding "
            "tls-unique)");
  EXPECT_EQ(o.found, "not logged in; SCRAM-SHA-256-PLUS tls-unique refused");
}

// The retry: the same SCRAM without -PLUS, with the GS2 flag "n", once.
TEST(SessionSasl, PlusRefusedThenUnboundLogin) {
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [AUTH] bad protocol\r\n"}};
  for (const Turn& t : unbound_scram_turns())
    sc.turns.push_back(t);
  const auto o = run_session_all_splits(sc, sasl_factory(scram_plus(true)));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found,
            "logged in; SCRAM-SHA-256; after SCRAM-SHA-256-PLUS with channel binding tls-unique");
}

// The connection lost in the CAPA after the unbound login: the message
// still says the -PLUS attempt was refused before.
TEST(SessionSasl, PlusRefusedThenUnboundLoginThenConnectionLost) {
  SaslSetup s = scram_plus(true);
  s.caps = caps_of({{"SASL", "SCRAM-SHA-256-PLUS SCRAM-SHA-256"}});
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [AUTH] bad protocol\r\n"}};
  for (const Turn& t : unbound_scram_turns())
    sc.turns.push_back(t);
  sc.turns.push_back({"CAPA\r\n", ""});
  sc.close = true;
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.outcome,
            "error 403: connection closed while waiting for the response to CAPA "
            "(SCRAM-SHA-256-PLUS with channel binding tls-unique was refused before)");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found,
            "logged in; SCRAM-SHA-256; after SCRAM-SHA-256-PLUS with channel binding tls-unique");
}

TEST(SessionSasl, PlusRefusedThenUnboundRefusedToo) {
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [AUTH] bad protocol\r\n"},
              {line("AUTH SCRAM-SHA-256 " + base64_encode("n,,n=user,r=" + std::string(kNonce))),
               "-ERR [AUTH] wrong password\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram_plus(true)));
  EXPECT_EQ(o.outcome,
            "error 301 [AUTH]: AUTH SCRAM-SHA-256 refused: server says \"[AUTH] wrong password\" "
            "(SCRAM-SHA-256-PLUS with channel binding tls-unique was refused before)");
  EXPECT_EQ(o.found,
            "not logged in; SCRAM-SHA-256 refused; after SCRAM-SHA-256-PLUS with channel binding "
            "tls-unique");
}

// A refusal that says to wait is not the binding's fault: no retry.
TEST(SessionSasl, PlusRefusedTemporarilyIsNotRetried) {
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [IN-USE] locked\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(scram_plus(true)));
  EXPECT_EQ(o.sent, kPlusAuth);
  EXPECT_EQ(o.outcome.rfind("error 302 [IN-USE]: ", 0), 0u) << o.outcome;
}

// Not retried either when the server does not list the unbound SCRAM.
TEST(SessionSasl, PlusRefusedWithoutUnboundOfferIsNotRetried) {
  SaslSetup s = scram_plus(true);
  s.caps = caps_of({{"SASL", "SCRAM-SHA-256-PLUS"}, {"PIPELINING", ""}});
  Script sc;
  sc.turns = {{kPlusAuth, "-ERR [AUTH] bad protocol\r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_EQ(o.sent, kPlusAuth);
  EXPECT_EQ(o.outcome.rfind("error 301 [AUTH]: ", 0), 0u) << o.outcome;
}

// A SCRAM "e=" is the server's refusal in the mechanism's words: it
// counts as refused, so the unbound retry follows.
TEST(SessionSasl, ScramServerErrorIsARefusalAndIsRetried) {
  Script sc;
  sc.turns = {
      {kPlusAuth, challenge(kServerFirst)},
      {line(base64_encode(plus_client_final())), challenge("e=channel-bindings-dont-match")},
      {"*\r\n", "-ERR cancelled\r\n"}};
  for (const Turn& t : unbound_scram_turns())
    sc.turns.push_back(t);
  const auto o = run_session_all_splits(sc, sasl_factory(scram_plus(true)));
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_EQ(o.found,
            "logged in; SCRAM-SHA-256; after SCRAM-SHA-256-PLUS with channel binding tls-unique");

  Script alone = sc;
  alone.turns.resize(3);
  const auto r = run_session_all_splits(alone, sasl_factory(scram_plus(false)));
  EXPECT_NE(r.outcome.find("(with channel binding tls-unique)"), std::string::npos) << r.outcome;
  EXPECT_EQ(r.found, "not logged in; SCRAM-SHA-256-PLUS tls-unique refused");
}

// A server that answers "*" with another challenge breaks the exchange:
// the message says why the client had cancelled.
TEST(SessionSasl, ChallengeAfterCancelSaysWhy) {
  SaslSetup s;
  s.mechanism = "LOGIN";
  Script sc;
  sc.turns = {{"AUTH LOGIN\r\n", "+ ***\r\n"}, {"*\r\n", "+ \r\n"}};
  const auto o = run_session_all_splits(sc, sasl_factory(s));
  EXPECT_NE(o.outcome.find("(cancelled: AUTH LOGIN: the server's challenge is not valid base64)"),
            std::string::npos)
      << o.outcome;
  EXPECT_TRUE(o.closes);
}

}  // namespace
}  // namespace pop3kit::test
