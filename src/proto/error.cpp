#include <string>

#include "pop3kit/error.hpp"

namespace pop3kit {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pop3kit"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_argument:
        return "invalid argument";
      case errc::command_too_long:
        return "command longer than 255 octets";
      case errc::wrong_state:
        return "command not allowed in this session state";
      case errc::not_connected:
        return "not connected";
      case errc::engine_failed:
        return "the session failed earlier";
      case errc::sink_failed:
        return "the message sink failed";
      case errc::unsupported:
        return "not supported by the server";
      case errc::bad_status:
        return "response is neither +OK nor -ERR";
      case errc::line_too_long:
        return "response line too long";
      case errc::bare_line_feed:
        return "response line ends in a bare LF";
      case errc::malformed_response:
        return "malformed response";
      case errc::malformed_uid:
        return "malformed unique-id";
      case errc::too_many_capabilities:
        return "too many capabilities";
      case errc::unexpected_data:
        return "unexpected data from the server";
      case errc::bad_greeting:
        return "malformed greeting";
      case errc::listing_too_long:
        return "message listing longer than the maildrop or the configured limit";
      case errc::bad_message_number:
        return "message listing has a repeated, zero or out-of-range message number";
      case errc::bad_sasl_exchange:
        return "SASL exchange does not end (challenge after cancel, or too many challenges)";
      case errc::server_error:
        return "the server answered -ERR";
      case errc::auth_failed:
        return "authentication failed";
      case errc::temporary_failure:
        return "temporary server failure";
      case errc::permanent_failure:
        return "permanent server failure";
      case errc::greeting_refused:
        return "the server refused the connection";
      case errc::host_not_found:
        return "host not found";
      case errc::connect_failed:
        return "connection failed";
      case errc::timed_out:
        return "timed out";
      case errc::deadline_exceeded:
        return "operation deadline exceeded";
      case errc::cancelled:
        return "cancelled";
      case errc::connection_closed:
        return "connection closed by the server";
      case errc::tls_unavailable:
        return "TLS required but not available";
      case errc::tls_failed:
        return "TLS failed";
      case errc::certificate_invalid:
        return "server certificate rejected";
      case errc::io_error:
        return "input/output error";
    }
    return "unknown pop3kit error";
  }
};

int group(std::error_code ec) noexcept {
  if (ec.category() != category()) return -1;
  return ec.value() / 100;
}

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

bool is_caller_error(std::error_code ec) noexcept {
  return group(ec) == 1;
}
bool is_protocol_error(std::error_code ec) noexcept {
  return group(ec) == 2;
}
bool is_server_error(std::error_code ec) noexcept {
  return group(ec) == 3;
}
bool is_server_error(const Error& error) noexcept {
  return is_server_error(error.code);
}

bool is_temporary(std::error_code ec) noexcept {
  return ec == errc::temporary_failure || ec == errc::timed_out || ec == errc::deadline_exceeded ||
         ec == errc::cancelled || ec == errc::connection_closed || ec == errc::io_error;
}

const char* to_string(ResponseCode rc) noexcept {
  switch (rc) {
    case ResponseCode::in_use:
      return "IN-USE";
    case ResponseCode::login_delay:
      return "LOGIN-DELAY";
    case ResponseCode::sys_temp:
      return "SYS/TEMP";
    case ResponseCode::sys_perm:
      return "SYS/PERM";
    case ResponseCode::auth:
      return "AUTH";
    case ResponseCode::utf8:
      return "UTF8";
    case ResponseCode::none:
    case ResponseCode::other:
      break;
  }
  return "";
}

}  // namespace pop3kit
