// The shared helpers every layer uses for text and errors: sanitize(),
// ascii_upper(), and the error groups (is_server_error and its siblings).
#include <gtest/gtest.h>

#include <string>
#include <system_error>

#include "pop3kit/error.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::test {
namespace {

TEST(Text, AsciiUpperChangesOnlyAsciiLetters) {
  EXPECT_EQ(ascii_upper("scram-sha-256-plus"), "SCRAM-SHA-256-PLUS");
  EXPECT_EQ(ascii_upper("Cram-Md5_x9"), "CRAM-MD5_X9");
  EXPECT_EQ(ascii_upper(""), "");
  // Octets above 0x7F are kept whatever the locale (no Latin-1 folding of
  // 0xE9, no UTF-8 damage), and so are '`', '{' next to the letters.
  EXPECT_EQ(ascii_upper("caf\xc3\xa9\xe9`{@["), "CAF\xc3\xa9\xe9`{@[");
  static_assert(ascii_upper('a') == 'A' && ascii_upper('z') == 'Z');
  static_assert(ascii_upper('A') == 'A' && ascii_upper('0') == '0' && ascii_upper('{') == '{');
  EXPECT_EQ(ascii_upper('\xe9'), '\xe9');
}

TEST(Text, SanitizeEscapesWhatIsNotPrintableAscii) {
  EXPECT_EQ(sanitize("plain text ~"), "plain text ~");
  EXPECT_EQ(sanitize("bell\x07 esc\x1b[31m del\x7f nul", 200),
            "bell\\x07 esc\\x1b[31m del\\x7f nul");
  EXPECT_EQ(sanitize(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(sanitize("\r\n\xff"), "\\x0d\\x0a\\xff");
}

TEST(Text, SanitizeCutsAtTheLength) {
  EXPECT_EQ(sanitize("abcdef", 6), "abcdef");
  EXPECT_EQ(sanitize("abcdefg", 6), "abcdef...");
  EXPECT_EQ(sanitize(std::string(500, 'x')).size(), 203u);
  EXPECT_EQ(sanitize("", 0), "");
}

TEST(Errors, EachGroupHasItsPredicate) {
  for (const errc e : {errc::server_error, errc::auth_failed, errc::temporary_failure,
                       errc::permanent_failure, errc::greeting_refused, errc::tls_unavailable}) {
    EXPECT_TRUE(is_server_error(make_error_code(e))) << static_cast<int>(e);
    EXPECT_FALSE(is_protocol_error(make_error_code(e)));
    EXPECT_FALSE(is_caller_error(make_error_code(e)));
  }
  for (const errc e : {errc::invalid_argument, errc::wrong_state, errc::unsupported,
                       errc::bad_status, errc::unexpected_data, errc::bad_sasl_exchange,
                       errc::host_not_found, errc::timed_out, errc::connection_closed,
                       errc::tls_failed, errc::certificate_invalid, errc::deadline_exceeded}) {
    EXPECT_FALSE(is_server_error(make_error_code(e))) << static_cast<int>(e);
  }
  EXPECT_TRUE(is_caller_error(errc::wrong_state));
  EXPECT_TRUE(is_protocol_error(errc::bad_status));
}

TEST(Errors, ServerErrorIsDecidedByTheCodeNotTheText) {
  EXPECT_TRUE(is_server_error(Error(errc::server_error, "")));
  EXPECT_TRUE(is_server_error(Error(errc::permanent_failure, "anything at all")));
  EXPECT_FALSE(is_server_error(Error(errc::connection_closed, "DELE 5: server says \"-ERR\"")));
  EXPECT_FALSE(is_server_error(Error{}));
  // Another category's value 300 is not pop3kit's server_error.
  EXPECT_FALSE(is_server_error(std::error_code(300, std::generic_category())));
  EXPECT_FALSE(is_server_error(std::error_code()));
}

}  // namespace
}  // namespace pop3kit::test
