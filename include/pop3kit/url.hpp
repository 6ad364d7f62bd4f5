// pop3kit — POP URLs (RFC 2384).
//
//   pop://user;auth=TYPE@host:port
//
// TYPE is "+APOP", "*" (any method the client judges safe) or a SASL
// mechanism name; without ";auth=" it is "*" (RFC 2384 §3). The `pop3kit`
// command also takes "USER" for USER/PASS by name. "pop3://" is a
// synonym of "pop://"; "pops://" and "pop3s://" mean implicit TLS (RFC 8314,
// default port 995); the scheme, ";AUTH=" and TYPE are case-insensitive.
// The port defaults to 110; IPv6 literals go in brackets ("pop://[::1]:110").
// User names may carry %XX escapes (";", "@", ":", "%" and spaces must be
// escaped); an escaped control character (CR, LF, NUL, ...) is refused, as it
// would break the POP3 command. A lone "/" after the host is accepted.
// A password in the URL is refused: passwords never go on a command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"

namespace pop3kit {

struct PopUrl {
  std::string user;          ///< Decoded; may be empty (no login part).
  std::string auth;          ///< "" (same as "*"), "+APOP", "*", or a mechanism (upper case).
  std::string host;          ///< Without brackets for IPv6 literals.
  std::uint16_t port = 110;  ///< 995 for pops:// without a port.
  bool tls = false;          ///< pops:// or pop3s://: TLS from the first byte.
};

/// Parses a POP URL. Errors (errc::invalid_argument, one-line message saying
/// what is wrong and how to write it): unknown scheme, empty or malformed
/// host, bad port (not 1-65535), bad %-escape, an unescaped special character
/// in the user, a password (":" in the user part; the message never repeats
/// it), an empty user before "@" or ";", an empty or malformed auth type, an
/// unknown ";" parameter, more than one "@", a path, query or fragment.
Result<PopUrl> parse_pop_url(std::string_view url);

}  // namespace pop3kit
