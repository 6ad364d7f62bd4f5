// Shared bits of the interop tests: a suite fixture owning one Dovecot, and
// helpers to log in and collect messages.
#pragma once

#include <chrono>
#include <thread>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "pop3kit/client.hpp"
#include "pop3kit/error.hpp"
#include "support/dovecot.hpp"

namespace pop3kit::interop {

inline constexpr const char* kUser = "alice";
inline constexpr const char* kPassword = "alice-secret";
inline constexpr const char* kUser2 = "bob";
inline constexpr const char* kPassword2 = "pass with spaces";

/// "errc (message)" for assertion output.
inline std::string describe(const Error& e) {
  return e.code.message() + " [" + std::to_string(e.code.value()) + "]: " + e.message;
}

/// One Dovecot per test suite (ctest runs each test in its own process, so
/// there it is one per test).
class DovecotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { start_server(); }
  /// Starts the suite's server; a suite that wants TLS calls it from its own
  /// SetUpTestSuite with the certificate to serve.
  static void start_server(test::ServerCert tls = test::ServerCert::none) {
    server_ = test::DovecotServer::start({{kUser, kPassword}, {kUser2, kPassword2}}, &error_, tls)
                  .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  // Never skip: a test that cannot get its server fails with the reason.
  // Every test starts from empty maildrops, also when several tests share
  // the server (the binary run directly, without ctest).
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    server_->clear_messages(kUser);
    server_->clear_messages(kUser2);
  }

  static test::DovecotServer& server() { return *server_; }

  /// True once Dovecot's log shows `needle`. Its login process writes through
  /// a separate log process, so a line can come a moment after the session
  /// it describes ended: look for up to 5 s.
  static bool log_shows(const std::string& needle) {
    for (int i = 0; i < 100; ++i) {
      if (server_->log_tail(200).find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  static std::uint16_t port() { return server_->port(); }

  /// Options for the sandbox's plain TCP listener (the library's default is
  /// starttls).
  static ClientOptions plain_options() {
    ClientOptions o;
    o.security = Security::plain;
    return o;
  }

  /// A client connected to the sandbox; fails the test if it cannot connect.
  static std::unique_ptr<Client> connect(ClientOptions options = plain_options()) {
    auto c = std::make_unique<Client>(std::move(options));
    auto r = c->connect("127.0.0.1", port());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error()));
    if (!r.ok()) return nullptr;
    return c;
  }

  /// Connected and logged in with USER/PASS (or nullptr after a failure).
  static std::unique_ptr<Client> login(const std::string& user = kUser,
                                       const std::string& password = kPassword,
                                       LoginOptions options = {}) {
    auto c = connect();
    if (!c) return nullptr;
    auto r = c->login(user, password, options);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : describe(r.error())) << "\n" << server_->log_tail();
    if (!r.ok()) return nullptr;
    return c;
  }

  inline static test::DovecotServer* server_ = nullptr;
  inline static std::string error_;
};

/// A sink that appends every chunk to `out` and counts the calls.
struct Collect {
  std::string data;
  std::size_t chunks = 0;
  Sink sink() {
    return [this](std::string_view chunk) -> std::error_code {
      data.append(chunk);
      ++chunks;
      return {};
    };
  }
};

/// Index of the first differing byte, for readable failures on big bodies.
inline std::string first_difference(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  if (i == a.size() && i == b.size()) return "identical";
  auto around = [i](std::string_view s) {
    const std::size_t from = i < 20 ? 0 : i - 20;
    std::string out;
    for (char c : s.substr(from, 40)) {
      if (c == '\r') {
        out += "\\r";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  };
  return "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
         ", first difference at byte " + std::to_string(i) + ": got \"" + around(a) +
         "\" expected \"" + around(b) + "\"";
}

}  // namespace pop3kit::interop
