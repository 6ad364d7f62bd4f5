// The pop3kit binary against a scripted TLS server that, like Cyrus SASL,
// binds SCRAM -PLUS with tls-unique only and answers any other type with
// "-ERR [AUTH] authenticating: bad protocol / cancel".
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "support/scram_server.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"

namespace pop3kit::test {
namespace {

using S = ScriptServer;

const char* kCapa =
    "+OK\r\nUSER\r\nSASL SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS\r\n.\r\n";

// `exchange` SCRAM lines; when `logs_in`, the CAPA after the login, STAT and QUIT.
struct CyrusLike {
  CyrusLike(int exchange, bool logs_in, int tls_max = 0)
      : scram({}, [this](const std::string& type) { return server->channel_binding(type); }) {
    const auto& certs = TestCerts::get();
    std::vector<S::Step> script = {S::start_tls(), S::send("+OK Cyrus-like\r\n"), S::expect("CAPA"),
                                   S::send(kCapa)};
    for (int i = 0; i < exchange; ++i)
      script.push_back(S::respond(scram.step()));
    if (logs_in) {
      for (auto step : {S::expect("CAPA"), S::send(kCapa), S::expect("STAT"),
                        S::send("+OK 2 320\r\n"), S::expect("QUIT"), S::send("+OK bye\r\n")})
        script.push_back(std::move(step));
    }
    script.push_back(S::wait_close());
    server = std::make_unique<ScriptServer>(std::move(script), certs.cert(certs.good),
                                            certs.key(certs.good));
    if (tls_max != 0) server->set_tls_max_version(tls_max);
  }

  std::string url(const std::string& user = "user") const {
    return "pops://" + user + "@localhost:" + std::to_string(server->port());
  }

  RunResult run(std::vector<std::string> args) const {
    args.push_back("--ca-file");
    args.push_back(TestCerts::get().ca);
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "pencil";
    o.timeout_seconds = 30;
    return run_pop3kit(args, o);
  }

  std::size_t auth_lines() {
    const auto lines = server->finish();
    return static_cast<std::size_t>(std::count_if(
        lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("AUTH "); }));
  }

  ScramServer scram;
  std::unique_ptr<ScriptServer> server;
};

TEST(ChannelBindingCommand, DefaultLoginWorksOverTls13) {
  CyrusLike cyrus(4, true);
  const RunResult r = cyrus.run({"-v", "stat", cyrus.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2 320\n");
  // -v says the login is not bound, and why.
  EXPECT_NE(r.err.find("* the server refused SCRAM-SHA-256-PLUS with channel binding "
                       "tls-exporter; logged in with SCRAM-SHA-256, not bound"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(cyrus.scram.gs2_headers(), (std::vector<std::string>{"p=tls-exporter,,", "n,,"}));
  EXPECT_EQ(cyrus.server->problem(), "");
}

TEST(ChannelBindingCommand, DefaultLoginBindsWithTlsUniqueOverTls12) {
  CyrusLike cyrus(3, true, TLS1_2_VERSION);
  const RunResult r = cyrus.run({"stat", cyrus.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2 320\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(cyrus.scram.gs2_headers(), std::vector<std::string>{"p=tls-unique,,"});
}

TEST(ChannelBindingCommand, NamedPlusDoesNotBlameTheCredentials) {
  CyrusLike cyrus(1, false);
  const RunResult r = cyrus.run({"stat", cyrus.url("user;auth=SCRAM-SHA-256-PLUS")});
  EXPECT_EQ(r.exit_code, 77) << r.err;
  EXPECT_EQ(r.err.find("refused the credentials"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("password"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("channel binding tls-exporter"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--channel-binding"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(";auth=SCRAM-SHA-256"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(cyrus.auth_lines(), 1U);  // never replaced by SCRAM-SHA-256
}

TEST(ChannelBindingCommand, OptionChoosesTheType) {
  CyrusLike unique(3, true, TLS1_2_VERSION);
  RunResult r = unique.run({"stat", unique.url(), "--channel-binding=tls-unique"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(unique.scram.gs2_headers(), std::vector<std::string>{"p=tls-unique,,"});

  // A type the server lacks: that type or no login (no second AUTH).
  CyrusLike exporter(1, false);
  r = exporter.run({"stat", exporter.url(), "--channel-binding", "tls-exporter"});
  EXPECT_EQ(r.exit_code, 77) << r.err;
  EXPECT_EQ(r.err.find("refused the credentials"), std::string::npos) << r.err;
  EXPECT_EQ(exporter.auth_lines(), 1U);

  CyrusLike none(3, true);
  r = none.run({"stat", none.url(), "--channel-binding=none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(none.scram.mechanisms(), std::vector<std::string>{"SCRAM-SHA-256"});
  EXPECT_EQ(none.scram.gs2_headers(), std::vector<std::string>{"n,,"});
}

TEST(ChannelBindingCommand, ContradictionsAreUsageErrors) {
  RunOptions o;
  o.env["POP3KIT_PASSWORD"] = "pencil";
  RunResult r = run_pop3kit(
      {"stat", "pops://u;auth=SCRAM-SHA-256-PLUS@127.0.0.1:1", "--channel-binding=none"}, o);
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("--channel-binding=none contradicts"), std::string::npos) << r.err;
  r = run_pop3kit({"stat", "pop://u@127.0.0.1:1", "--plaintext", "--channel-binding=tls-unique"},
                  o);
  EXPECT_EQ(r.exit_code, 64) << r.err;
  r = run_pop3kit({"stat", "pops://u@127.0.0.1:1", "--channel-binding=tls-unique-ish"}, o);
  EXPECT_EQ(r.exit_code, 64) << r.err;
}

}  // namespace
}  // namespace pop3kit::test
