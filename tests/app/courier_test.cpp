// The command against a server that behaves as Courier does (the model
// server's courier mode): it drops whatever came behind the command that
// completed the login, lists "UTF8 USER", and until the client sends UTF8
// wraps a message with a UTF-8 header in a generated "Cannot display
// Unicode content" multipart whose boundary changes on every retrieval.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "run_pop3kit.hpp"
#include "support/model_server.hpp"

namespace fs = std::filesystem;
using pop3kit::test::ModelMessage;
using pop3kit::test::ModelOptions;
using pop3kit::test::ModelServer;
using pop3kit::test::run_pop3kit;
using pop3kit::test::RunOptions;
using pop3kit::test::RunResult;

namespace {

const std::string kUtf8Message =
    "From: J\xc3\xbcrgen <j@example.net>\r\nSubject: Gr\xc3\xbc\xc3\x9f"
    "e aus K\xc3\xb6ln\r\n\r\nHallo!\r\n";
const std::string kAsciiMessage = "From: a@example.net\r\nSubject: plain\r\n\r\nbody\r\n";

std::string lf(std::string s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out += s[i];
  }
  return out;
}

class CourierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelOptions o;
    o.courier = true;
    server_ = std::make_unique<ModelServer>(
        std::vector<ModelMessage>{{"uid-utf8", kUtf8Message}, {"uid-ascii", kAsciiMessage}}, o);
    std::string templ = (fs::temp_directory_path() / "pop3kit-courier-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string url() const { return "pop://u@127.0.0.1:" + std::to_string(server_->port()); }

  // A lost command shows as a read timeout: 5 s, not the default minute.
  RunResult run(std::vector<std::string> args) {
    args.insert(args.end(), {"--plaintext", "--allow-plaintext-password", "--timeout", "5"});
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "p";
    o.timeout_seconds = 30;
    RunResult r = run_pop3kit(args, o);
    server_->wait_idle();
    return r;
  }

  std::unique_ptr<ModelServer> server_;
  fs::path dir_;
};

// STAT and LIST+UIDL follow the login only once it is answered: nothing is
// lost when the server starts its mail process.
TEST_F(CourierTest, StatAndListAfterTheLogin) {
  RunResult r = run({"stat", url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(2) + " " +
                       std::to_string(kUtf8Message.size() + kAsciiMessage.size()) + "\n");
  r = run({"list", url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("uid-ascii"), std::string::npos) << r.out;
}

// UTF8 is sent before login, so the message comes as it is, byte for byte.
TEST_F(CourierTest, RetrGivesTheMessageNotAWrapper) {
  const RunResult r = run({"retr", url(), "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kUtf8Message);
}

// --no-utf8 (and the config key utf8 = false) keep UTF8 unsent: the
// server's wrapper is what comes, which shows the server model is the one
// the other tests pass against.
TEST_F(CourierTest, NoUtf8GetsTheWrapper) {
  const RunResult r = run({"retr", url(), "1", "--no-utf8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Cannot display Unicode content"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kUtf8Message), std::string::npos);
}

// fetch delivers the original into the Maildir, and deletes it only then.
TEST_F(CourierTest, FetchDeliversTheOriginal) {
  const fs::path maildir = dir_ / "Maildir";
  const RunResult r = run({"fetch", url(), "--to", "maildir:" + maildir.string(), "--state",
                           (dir_ / "state.db").string(), "--delete"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> texts;
  for (const auto& e : fs::directory_iterator(maildir / "new")) {
    std::ifstream in(e.path(), std::ios::binary);
    texts.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::sort(texts.begin(), texts.end());
  std::vector<std::string> expected{lf(kUtf8Message), lf(kAsciiMessage)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(texts, expected);
  EXPECT_TRUE(server_->maildrop().empty());
}

// The config file's utf8 = false is --no-utf8.
TEST_F(CourierTest, ConfigUtf8False) {
  const fs::path config = dir_ / "config.toml";
  const fs::path maildir = dir_ / "Maildir";
  std::ofstream(config) << "[account.courier]\nurl = \"" << url()
                        << "\"\nto = \"maildir:" << maildir.string()
                        << "\"\nplaintext = true\nallow_plaintext_password = true\n"
                           "utf8 = false\n";
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  const RunResult r = run({"fetch", "-c", config.string(), "--state", (dir_ / "s.db").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool wrapped = false;
  for (const auto& e : fs::directory_iterator(maildir / "new")) {
    std::ifstream in(e.path(), std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    wrapped = wrapped || text.find("Cannot display Unicode content") != std::string::npos;
  }
  EXPECT_TRUE(wrapped);
}

}  // namespace
