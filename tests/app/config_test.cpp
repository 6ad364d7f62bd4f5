// The config file of `pop3kit fetch`: what it accepts, and that every error
// names the file, the line and the key, with exit 78.
#include "config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "exit_codes.hpp"
#include "fetch.hpp"

namespace pop3kit::cli {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pop3kit-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& text,
                    fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) {
    const fs::path p = dir_ / "config.toml";
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    fs::permissions(p, perms);
    return p.string();
  }

  // The Failure load_config throws, as "CODE: message".
  std::string failure(const std::string& text,
                      fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) {
    const std::string path = write(text, perms);
    try {
      (void)load_config(path);
    } catch (const Failure& f) {
      return std::to_string(f.code()) + ": " + f.what();
    }
    return "no error";
  }

  fs::path dir_;
};

TEST_F(ConfigTest, ReadsAccountsWithDefaultsInFileOrder) {
  const std::string path = write(R"(
[defaults]
keep = false
max_size = "20M"
password_command = "pass show mail"

[account.zeta]
url = "pops://z@mail.example.net"
to = "maildir:/tmp/z"

[account.alpha]
url = "pop://a@127.0.0.1:1110"
to = "mbox:/tmp/a.mbox"
keep = true
pin = ["cert:00", "spki:11"]
timeout = 2.5
mda_crlf = true
)");
  const Config c = load_config(path);
  ASSERT_EQ(c.accounts.size(), 2U);
  EXPECT_EQ(c.accounts[0].name, "zeta");
  EXPECT_EQ(c.accounts[0].keep, false);
  EXPECT_EQ(c.accounts[0].max_size, 20U * 1024 * 1024);
  EXPECT_EQ(c.accounts[0].password_command, "pass show mail");
  EXPECT_EQ(c.accounts[1].name, "alpha");
  EXPECT_EQ(c.accounts[1].keep, true);
  EXPECT_EQ(c.accounts[1].pins.size(), 2U);
  EXPECT_EQ(c.accounts[1].timeout, std::chrono::milliseconds(2500));
  EXPECT_TRUE(c.accounts[1].mda_crlf);
  EXPECT_EQ(c.accounts[1].password_command, "pass show mail");
}

TEST_F(ConfigTest, ChannelBindingKey) {
  const Config c = load_config(write(R"(
[defaults]
channel_binding = "tls-unique"

[account.a]
url = "pops://a@mail.example.net"
to = "maildir:/tmp/a"

[account.b]
url = "pops://b@mail.example.net"
to = "maildir:/tmp/b"
channel_binding = "none"
)"));
  ASSERT_EQ(c.accounts.size(), 2U);
  EXPECT_EQ(c.accounts[0].channel_binding, "tls-unique");
  EXPECT_EQ(c.accounts[1].channel_binding, "none");
  const std::string e = failure("[defaults]\nchannel_binding = \"tls-unique-ish\"\n");
  EXPECT_EQ(e.rfind("78: ", 0), 0U) << e;
  EXPECT_NE(e.find("config.toml:2: 'channel_binding' must be"), std::string::npos) << e;
}

TEST_F(ConfigTest, SyntaxErrorNamesFileAndLine) {
  const std::string e = failure("[account.a]\nurl = \"pop://a@h\"\nto = maildir:/x\n");
  EXPECT_EQ(e.rfind("78: ", 0), 0U) << e;
  EXPECT_NE(e.find("config.toml:3:"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownKeyNamesIt) {
  const std::string e =
      failure("[account.a]\nurl = \"pop://a@h\"\nto = \"maildir:/x\"\nkeeep = true\n");
  EXPECT_EQ(e.rfind("78: ", 0), 0U) << e;
  EXPECT_NE(e.find("config.toml:4: unknown key 'keeep' in [account.a]"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownTableNamesIt) {
  const std::string e = failure("[acount.a]\nurl = \"pop://a@h\"\n");
  EXPECT_NE(e.find("config.toml:1: unknown table or key 'acount'"), std::string::npos) << e;
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndLine) {
  std::string e =
      failure("[account.a]\nurl = \"pop://a@h\"\nto = \"maildir:/x\"\nkeep = \"yes\"\n");
  EXPECT_EQ(e.rfind("78: ", 0), 0U) << e;
  EXPECT_NE(e.find("config.toml:4: 'keep' must be true or false"), std::string::npos) << e;
  e = failure("[defaults]\nmax_size = \"12 MB\"\n");
  EXPECT_NE(e.find("config.toml:2: 'max_size' must be a size"), std::string::npos) << e;
  e = failure("[account.a]\nurl = 42\n");
  EXPECT_NE(e.find("config.toml:2: 'url' must be a string"), std::string::npos) << e;
}

TEST_F(ConfigTest, MissingOrBadUrlAndDestination) {
  std::string e = failure("[account.a]\nto = \"maildir:/x\"\n");
  EXPECT_NE(e.find("[account.a] has no 'url'"), std::string::npos) << e;
  e = failure("[account.a]\nurl = \"http://a@h\"\nto = \"maildir:/x\"\n");
  EXPECT_NE(e.find("config.toml:2: [account.a] url:"), std::string::npos) << e;
  e = failure("[account.a]\nurl = \"pop://a@h\"\n");
  EXPECT_NE(e.find("[account.a] has no 'to'"), std::string::npos) << e;
  e = failure("[account.a]\nurl = \"pop://a@h\"\nto = \"imap:/x\"\n");
  EXPECT_NE(e.find("config.toml:3: [account.a] to:"), std::string::npos) << e;
}

TEST_F(ConfigTest, PasswordNeedsAPrivateFile) {
  const char* text =
      "[account.a]\nurl = \"pop://a@h\"\nto = \"maildir:/x\"\npassword = \"s3cret\"\n";
  const std::string e = failure(text, fs::perms::owner_read | fs::perms::owner_write |
                                          fs::perms::group_read | fs::perms::others_read);
  EXPECT_EQ(e.rfind("78: ", 0), 0U) << e;
  EXPECT_NE(e.find("other users can read it"), std::string::npos) << e;
  EXPECT_NE(e.find("chmod 600"), std::string::npos) << e;
  EXPECT_EQ(e.find("s3cret"), std::string::npos) << "the password must never be printed: " << e;
  // The same file readable by its owner only is fine.
  const Config c = load_config(write(text));
  ASSERT_EQ(c.accounts.size(), 1U);
  EXPECT_EQ(c.accounts[0].password, "s3cret");
}

TEST_F(ConfigTest, GroupReadableWithoutPasswordIsFine) {
  const Config c = load_config(write("[account.a]\nurl = \"pop://a@h\"\nto = \"maildir:/x\"\n",
                                     fs::perms::owner_read | fs::perms::owner_write |
                                         fs::perms::group_read | fs::perms::others_read));
  EXPECT_EQ(c.accounts.size(), 1U);
}

TEST_F(ConfigTest, MissingFileIsAConfigError) {
  try {
    (void)load_config((dir_ / "nope.toml").string());
    FAIL() << "no error";
  } catch (const Failure& f) {
    EXPECT_EQ(f.code(), exit_code::config);
    EXPECT_NE(std::string(f.what()).find("nope.toml"), std::string::npos);
  }
}

// Every numeric key goes through the options' checks (numbers.hpp): what
// TOML calls a number (nan, inf, -0.0, 1e9) is still refused when out of
// range, with the file, the line and the key.
TEST_F(ConfigTest, NumericKeysAreRangeChecked) {
  for (const char* key : {"timeout", "connect_timeout", "deadline"}) {
    for (const char* value :
         {"nan", "+nan", "-nan", "inf", "-inf", "-1", "0", "0.0", "-0.0", "0.0004", "1e7",
          "1000001", "9223372036854775807", "\"5\"", "true", "[1]"}) {
      const std::string e = failure(std::string("[defaults]\n") + key + " = " + value + "\n");
      EXPECT_EQ(e.rfind("78: ", 0), 0u) << key << " = " << value << ": " << e;
      EXPECT_NE(e.find(std::string("config.toml:2: '") + key + "'"), std::string::npos)
          << key << " = " << value << ": " << e;
    }
  }
  for (const char* value : {"0", "-1", "\"0\"", "\"0k\"", "\"-1\"", "\"1e3\"", "\"1.5M\"", "1.5",
                            "nan", "\"nan\"", "\"17179869184G\"", "true"}) {
    const std::string e = failure(std::string("[defaults]\nmax_size = ") + value + "\n");
    EXPECT_NE(e.find("78: "), std::string::npos) << value << ": " << e;
    EXPECT_NE(e.find("config.toml:2: 'max_size' must be a size"), std::string::npos)
        << value << ": " << e;
  }
}

TEST_F(ConfigTest, NumericKeysInRange) {
  const std::string path = write(R"(
[defaults]
timeout = 0.001
connect_timeout = 1000000
deadline = 2.5
max_size = 1
[account.a]
url = "pop://u@h"
to = "maildir:/tmp/x"
)");
  const Config c = load_config(path);
  ASSERT_EQ(c.accounts.size(), 1u);
  EXPECT_EQ(c.accounts[0].timeout, std::chrono::milliseconds(1));
  EXPECT_EQ(c.accounts[0].connect_timeout, std::chrono::milliseconds(1'000'000'000));
  EXPECT_EQ(c.accounts[0].deadline, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.accounts[0].max_size, 1u);
}

TEST_F(ConfigTest, JobsAndMaxPerHostBelongToTheRun) {
  const std::string path = write(R"(
[defaults]
jobs = 8
max_per_host = 1000
[account.a]
url = "pop://u@h"
to = "maildir:/tmp/x"
)");
  const Config c = load_config(path);
  EXPECT_EQ(c.jobs, 8u);
  EXPECT_EQ(c.max_per_host, 1000u);
  // Not given: the command's defaults apply.
  const Config none = load_config(write("[account.a]\nurl = \"pop://u@h\"\nto = \"maildir:/x\"\n"));
  EXPECT_FALSE(none.jobs.has_value());
  EXPECT_FALSE(none.max_per_host.has_value());

  for (const char* key : {"jobs", "max_per_host"}) {
    for (const char* value : {"0", "-1", "1001", "2.5", "\"4\"", "true", "nan"}) {
      const std::string e = failure(std::string("[defaults]\n") + key + " = " + value + "\n");
      EXPECT_EQ(e.rfind("78: ", 0), 0u) << key << " = " << value << ": " << e;
      EXPECT_NE(e.find(std::string("config.toml:2: '") + key + "' must be a whole number"),
                std::string::npos)
          << key << " = " << value << ": " << e;
    }
    const std::string e = failure(std::string("[account.a]\nurl = \"pop://u@h\"\nto = ") +
                                  "\"maildir:/x\"\n" + key + " = 2\n");
    EXPECT_NE(e.find("is a setting of the whole run: put it in [defaults]"), std::string::npos)
        << key << ": " << e;
  }
}

TEST(ParseSize, AcceptsSuffixesAndRejectsJunk) {
  EXPECT_EQ(parse_size("0"), 0U);
  EXPECT_EQ(parse_size("1234"), 1234U);
  EXPECT_EQ(parse_size("4k"), 4096U);
  EXPECT_EQ(parse_size("3M"), 3U << 20);
  EXPECT_EQ(parse_size("2G"), 2ULL << 30);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("M"));
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("1.5M"));
  EXPECT_FALSE(parse_size("12 M"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("99999999999G"));
}

TEST(CombineExitCodes, TemporaryWinsThenTheMostSerious) {
  EXPECT_EQ(combine_exit_codes({}), 0);
  EXPECT_EQ(combine_exit_codes({0, 0}), 0);
  EXPECT_EQ(combine_exit_codes({0, 77, 75, 69}), 75);
  EXPECT_EQ(combine_exit_codes({69, 77, 74}), 77);
  EXPECT_EQ(combine_exit_codes({69, 73}), 73);
  EXPECT_EQ(combine_exit_codes({0, 69}), 69);
}

}  // namespace
}  // namespace pop3kit::cli
