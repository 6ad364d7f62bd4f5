// SCRAM -PLUS through the async client over asio::ssl, against a scripted
// TLS server that checks the binding data against its own end of the
// channel: the data the async client computes (tls::channel_binding() on
// the asio::ssl stream's SSL*) is the server's, for tls-exporter with
// TLS 1.3 and tls-unique with TLS 1.2; the automatic choice falls back once
// without binding when the server refuses the type, as the blocking
// client does.
#include <openssl/ssl.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/scram_server.hpp"
#include "support/script_server.hpp"
#include "support/test_certs.hpp"
#include "sync.hpp"

namespace pop3kit::async {
namespace {

using namespace std::chrono_literals;
using pop3kit::test::ScramServer;
using pop3kit::test::TestCerts;
using S = pop3kit::test::ScriptServer;
using test::sync;

const char* kCapa =
    "+OK\r\nUSER\r\nSASL SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS\r\n.\r\n";

// An implicit-TLS server that plays `exchange` SCRAM lines after CAPA, then
// the CAPA after login.
struct PlusServer {
  PlusServer(std::vector<std::string> types, int exchange, int tls_max = 0)
      : scram(ScramServer::Policy{.binding_types = std::move(types)},
              [this](const std::string& type) { return server->channel_binding(type); }) {
    const auto& certs = TestCerts::get();
    std::vector<S::Step> script = {S::start_tls(), S::send("+OK ready\r\n"), S::expect("CAPA"),
                                   S::send(kCapa)};
    for (int i = 0; i < exchange; ++i)
      script.push_back(S::respond(scram.step()));
    script.push_back(S::expect("CAPA"));
    script.push_back(S::send(kCapa));
    script.push_back(S::wait_close());
    server = std::make_unique<S>(std::move(script), certs.cert(certs.good), certs.key(certs.good));
    if (tls_max != 0) server->set_tls_max_version(tls_max);
  }
  ScramServer scram;
  std::unique_ptr<S> server;
};

ClientOptions tls_options() {
  ClientOptions o;
  o.security = Security::tls;
  o.io_timeout = 5s;
  o.tls.ca_file = TestCerts::get().ca;
  return o;
}

TEST(AsyncChannelBinding, Tls13BindsWithTlsExporter) {
  PlusServer plus({"tls-exporter"}, 3);
  asio::io_context io;
  Client c(io.get_executor(), tls_options());
  ASSERT_TRUE(sync(io, c.connect("localhost", plus.server->port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  EXPECT_EQ(c.choose_mechanism(), "SCRAM-SHA-256-PLUS");
  auto r = sync(io, c.login_auto("user", "pencil"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.channel_bound());
  EXPECT_EQ(c.sasl_login().channel_binding, "tls-exporter");
  c.close();
  EXPECT_EQ(plus.scram.gs2_headers(), std::vector<std::string>{"p=tls-exporter,,"});
  EXPECT_EQ(plus.scram.accepted(), 1);
}

TEST(AsyncChannelBinding, Tls12BindsWithTlsUnique) {
  PlusServer plus({"tls-unique"}, 3, TLS1_2_VERSION);
  asio::io_context io;
  Client c(io.get_executor(), tls_options());
  ASSERT_TRUE(sync(io, c.connect("localhost", plus.server->port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  auto r = sync(io, c.login_auto("user", "pencil"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(c.channel_bound());
  EXPECT_EQ(c.sasl_login().channel_binding, "tls-unique");
  c.close();
  EXPECT_EQ(plus.scram.gs2_headers(), std::vector<std::string>{"p=tls-unique,,"});
  EXPECT_EQ(plus.scram.accepted(), 1);
}

// The server binds with tls-unique only, which TLS 1.3 lacks: the -PLUS
// attempt is refused and SCRAM without binding ("n") logs in.
TEST(AsyncChannelBinding, AutomaticFallsBackOnceWithoutBinding) {
  PlusServer plus({"tls-unique"}, 4);
  asio::io_context io;
  Client c(io.get_executor(), tls_options());
  ASSERT_TRUE(sync(io, c.connect("localhost", plus.server->port())).ok());
  ASSERT_TRUE(sync(io, c.capa()).ok());
  auto r = sync(io, c.login_auto("user", "pencil"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(c.channel_bound());
  EXPECT_EQ(c.sasl_login().refused_binding, "SCRAM-SHA-256-PLUS with channel binding tls-exporter");
  c.close();
  EXPECT_EQ(plus.scram.gs2_headers(), (std::vector<std::string>{"p=tls-exporter,,", "n,,"}));
}

}  // namespace
}  // namespace pop3kit::async
