/// pop3kit — APOP (RFC 1939 §7).
///
/// APOP is broken against an active attacker (MD5 collisions, CVE-2007-1558):
/// use it only when the user asks for it by name, preferably over TLS.
///
/// @file
/// @ingroup transport
#pragma once

#include <string>
#include <string_view>

#include "pop3kit/export.hpp"

namespace pop3kit::auth {

/// MD5(timestamp + secret) as 32 lower-case hex digits, computed with
/// OpenSSL. `timestamp` includes its angle brackets, as the greeting shows it.
/// Example (RFC 1939): "<1896.697170952@dbc.mtview.ca.us>" + "tanstaaf" →
/// "c4c9334bac560ecc979e58001b3e22fb". Returns "" only if OpenSSL fails.
POP3KIT_EXPORT std::string apop_digest(std::string_view timestamp, std::string_view secret);

}  // namespace pop3kit::auth
