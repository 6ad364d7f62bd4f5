// StartTls: CAPA, STLS, the driver's handshake (Want::start_tls), CAPA
// again over TLS; every refusal before TLS closes the connection. Each
// transcript runs at every split of the server's bytes.
#include <gtest/gtest.h>

#include "pop3kit/session_auth.hpp"
#include "session_subjects.hpp"

namespace pop3kit::test {
namespace {

using Batches = std::vector<std::string>;

struct StartTlsSubject : Subject {
  std::optional<session::StartTls> stls;

  session::Operation& make(std::string_view) override { return stls.emplace(); }
  std::string found() override {
    std::string s;
    if (stls->capabilities_before()) s += "before " + render(*stls->capabilities_before());
    if (stls->accepted()) s += "; accepted";
    if (stls->capabilities_after()) s += "; after " + render(*stls->capabilities_after());
    return s;
  }
};

SubjectFactory starttls_factory() {
  return [] { return std::unique_ptr<Subject>(std::make_unique<StartTlsSubject>()); };
}

const std::string kCapaWithStls = "+OK\r\nSTLS\r\nUSER\r\n.\r\n";

// The handshake is asked for once, after STLS's +OK; the CAPA after it
// replaces what was learnt in the clear.
TEST(SessionStartTls, UpgradesThenAsksCapaAgain) {
  Script sc;
  sc.turns = {{"CAPA\r\n", kCapaWithStls},
              {"STLS\r\n", "+OK Begin TLS\r\n"},
              {"CAPA\r\n", "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n"}};
  sc.tls_handshake_works = true;
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.batches, (Batches{"CAPA\r\n", "STLS\r\n", "CAPA\r\n"}));
  EXPECT_EQ(o.tls_asked, 1);
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_FALSE(o.stalled);
  EXPECT_EQ(o.found, "before STLS,USER; accepted; after USER,SASL PLAIN");
}

// Over TLS a -ERR to CAPA leaves the capabilities unknown: still a success.
TEST(SessionStartTls, CapaRefusedOverTlsIsStillSuccess) {
  Script sc;
  sc.turns = {{"CAPA\r\n", kCapaWithStls}, {"STLS\r\n", "+OK\r\n"}, {"CAPA\r\n", "-ERR no\r\n"}};
  sc.tls_handshake_works = true;
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.tls_asked, 1);
  EXPECT_EQ(o.outcome, "ok");
  EXPECT_FALSE(o.closes);
  EXPECT_EQ(o.found, "before STLS,USER; accepted");
}

TEST(SessionStartTls, MissingStlsClosesBeforeAnything) {
  Script sc;
  sc.turns = {{"CAPA\r\n", "+OK\r\nUSER\r\n.\r\n"}};
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.sent, "CAPA\r\n");
  EXPECT_EQ(o.tls_asked, 0);
  EXPECT_EQ(o.outcome,
            "error 305: TLS is required, but the server does not offer STLS (someone may have "
            "removed it)");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "before USER");
}

TEST(SessionStartTls, CapaRefusedIsTlsUnavailable) {
  Script sc;
  sc.turns = {{"CAPA\r\n", "-ERR [SYS/TEMP] not now\r\n"}};
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.tls_asked, 0);
  EXPECT_EQ(o.outcome,
            "error 305: TLS is required, but the server refused CAPA (CAPA: server says "
            "\"[SYS/TEMP] not now\"), so STLS cannot be used");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "");
}

// The -ERR's response code is kept; the capabilities seen before stay known.
TEST(SessionStartTls, StlsRefusedIsTlsUnavailable) {
  Script sc;
  sc.turns = {{"CAPA\r\n", kCapaWithStls}, {"STLS\r\n", "-ERR [SYS/PERM] no TLS today\r\n"}};
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.sent, "CAPA\r\nSTLS\r\n");
  EXPECT_EQ(o.tls_asked, 0);
  EXPECT_EQ(o.outcome,
            "error 305 [SYS/PERM]: TLS is required, but STLS: server says \"[SYS/PERM] no TLS "
            "today\"");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "before STLS,USER");
}

// The driver reports a failed handshake through transport_failed(): that
// is the outcome, and nothing more is sent.
TEST(SessionStartTls, HandshakeFailureIsTheOutcome) {
  Script sc;
  sc.turns = {{"CAPA\r\n", kCapaWithStls}, {"STLS\r\n", "+OK\r\n"}};
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.sent, "CAPA\r\nSTLS\r\n");
  EXPECT_EQ(o.tls_asked, 1);
  EXPECT_EQ(o.outcome, "error 405: no TLS in this test");
  EXPECT_TRUE(o.closes);
  EXPECT_EQ(o.found, "before STLS,USER; accepted");
}

// Bytes read with STLS's +OK (response injection): the engine fails, TLS
// is never asked for. (Only when they arrive with the +OK: bytes that come
// later are the TLS layer's to reject, so this runs unsplit.)
TEST(SessionStartTls, InjectedBytesAfterStlsNeverReachTls) {
  Script sc;
  sc.turns = {{"CAPA\r\n", kCapaWithStls}, {"STLS\r\n", "+OK\r\n+OK injected\r\n"}};
  sc.tls_handshake_works = true;
  const auto o = run_session(sc, starttls_factory(), 0);
  EXPECT_EQ(o.tls_asked, 0);
  EXPECT_EQ(o.outcome.rfind("error 206: ", 0), 0u) << o.outcome;
  EXPECT_TRUE(o.closes);
}

// An answer out of step with CAPA is a protocol error.
TEST(SessionStartTls, GarbageInsteadOfCapaCloses) {
  Script sc;
  sc.turns = {{"CAPA\r\n", "* nonsense\r\n"}};
  const auto o = run_session_all_splits(sc, starttls_factory());
  EXPECT_EQ(o.tls_asked, 0);
  EXPECT_EQ(o.outcome.rfind("error 200: ", 0), 0u) << o.outcome;
  EXPECT_TRUE(o.closes);
}

}  // namespace
}  // namespace pop3kit::test
