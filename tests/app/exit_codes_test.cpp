// The mapping from library errors to sysexits codes, one case per errc.
#include <gtest/gtest.h>

#include <system_error>

#include "exit_codes.hpp"

namespace pop3kit::cli {
namespace {

int code(errc e) {
  return exit_code_for(Error(e, "x"));
}

TEST(ExitCodes, Values) {
  EXPECT_EQ(exit_code::usage, 64);
  EXPECT_EQ(exit_code::no_host, 68);
  EXPECT_EQ(exit_code::unavailable, 69);
  EXPECT_EQ(exit_code::software, 70);
  EXPECT_EQ(exit_code::cant_create, 73);
  EXPECT_EQ(exit_code::io_error, 74);
  EXPECT_EQ(exit_code::temp_fail, 75);
  EXPECT_EQ(exit_code::protocol, 76);
  EXPECT_EQ(exit_code::no_perm, 77);
  EXPECT_EQ(exit_code::config, 78);
}

TEST(ExitCodes, NoErrorIsSuccess) {
  EXPECT_EQ(exit_code_for(Error{}), 0);
}

TEST(ExitCodes, Transport) {
  EXPECT_EQ(code(errc::host_not_found), 68);
  EXPECT_EQ(code(errc::connect_failed), 69);
  EXPECT_EQ(code(errc::timed_out), 75);
  EXPECT_EQ(code(errc::connection_closed), 75);
  EXPECT_EQ(code(errc::io_error), 75);
}

TEST(ExitCodes, Tls) {
  // Nothing secret was sent and retrying unchanged will not help.
  EXPECT_EQ(code(errc::tls_unavailable), 69);
  EXPECT_EQ(code(errc::tls_failed), 69);
  EXPECT_EQ(code(errc::certificate_invalid), 69);
}

TEST(ExitCodes, Server) {
  EXPECT_EQ(code(errc::greeting_refused), 69);
  EXPECT_EQ(code(errc::server_error), 69);
  EXPECT_EQ(code(errc::permanent_failure), 69);
  EXPECT_EQ(code(errc::temporary_failure), 75);
  EXPECT_EQ(code(errc::auth_failed), 77);
  // The classification is the library's: the response code does not
  // override it.
  EXPECT_EQ(exit_code_for(Error(errc::temporary_failure, "x", ResponseCode::in_use)), 75);
  EXPECT_EQ(exit_code_for(Error(errc::temporary_failure, "x", ResponseCode::login_delay)), 75);
  EXPECT_EQ(exit_code_for(Error(errc::temporary_failure, "x", ResponseCode::sys_temp)), 75);
  EXPECT_EQ(exit_code_for(Error(errc::auth_failed, "x", ResponseCode::auth)), 77);
}

TEST(ExitCodes, Protocol) {
  for (errc e :
       {errc::bad_status, errc::line_too_long, errc::bare_line_feed, errc::malformed_response,
        errc::malformed_uid, errc::too_many_capabilities, errc::unexpected_data, errc::bad_greeting,
        errc::listing_too_long, errc::bad_message_number, errc::bad_sasl_exchange}) {
    EXPECT_EQ(code(e), 76) << static_cast<int>(e);
  }
}

TEST(ExitCodes, CallerAndLocal) {
  EXPECT_EQ(code(errc::unsupported), 69);
  EXPECT_EQ(code(errc::sink_failed), 74);
  EXPECT_EQ(code(errc::invalid_argument), 64);
  EXPECT_EQ(code(errc::command_too_long), 64);
  EXPECT_EQ(code(errc::wrong_state), 70);
  EXPECT_EQ(code(errc::not_connected), 70);
  EXPECT_EQ(code(errc::engine_failed), 70);
}

TEST(ExitCodes, ForeignCategoryIsInternalError) {
  EXPECT_EQ(exit_code_for(Error(std::make_error_code(std::errc::io_error), "x")), 70);
}

TEST(ExitCodes, FailureFromCarriesMessageAndContext) {
  const Failure f = failure_from(Error(errc::auth_failed, "login refused"), "alice: ");
  EXPECT_EQ(f.code(), 77);
  EXPECT_STREQ(f.what(), "alice: login refused");
  // An error without text still says something.
  const Failure g = failure_from(Error(errc::timed_out, ""));
  EXPECT_EQ(g.code(), 75);
  EXPECT_STRNE(g.what(), "");
  const Failure h = failure_from(Error(errc::timed_out, ""), "login: ");
  EXPECT_STRNE(h.what(), "login: ");
}

TEST(ExitCodes, HelpListsEveryCode) {
  const std::string help = exit_status_help();
  for (const char* c : {"64", "68", "69", "70", "71", "73", "74", "75", "76", "77", "78"}) {
    EXPECT_NE(help.find(std::string("  ") + c + "  "), std::string::npos) << c;
  }
}

}  // namespace
}  // namespace pop3kit::cli
