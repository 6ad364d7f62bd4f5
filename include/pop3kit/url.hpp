// pop3kit — POP URLs (RFC 2384).
//
//   pop://user;auth=TYPE@host:port
//
// TYPE is "+APOP", "*" (any method the client judges safe) or a SASL
// mechanism name; without ";auth=" the login is USER/PASS. "pop3://" is a
// synonym of "pop://". User names may carry %XX escapes (";", "@", ":" must).
// A password in the URL is refused: passwords never go on a command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"

namespace pop3kit {

struct PopUrl {
  std::string user;  ///< Decoded; may be empty (no login part).
  std::string auth;  ///< "" (USER/PASS), "+APOP", "*", or a mechanism (upper case).
  std::string host;  ///< Without brackets for IPv6 literals.
  std::uint16_t port = 110;
};

/// Parses a POP URL. Errors (errc::invalid_argument, message says what is
/// wrong): unknown scheme, empty host, bad port, bad %-escape, a password
/// (":" in the user part), an empty auth type, a path or query after the host.
Result<PopUrl> parse_pop_url(std::string_view url);

}  // namespace pop3kit
