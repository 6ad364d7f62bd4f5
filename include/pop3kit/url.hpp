/// pop3kit — POP URLs (RFC 2384).
///
///     pop://user;auth=TYPE@host:port
///
/// TYPE is "+APOP", "*" (any method the client judges safe) or a SASL
/// mechanism name; without ";auth=" it is "*" (RFC 2384 §3). The `pop3kit`
/// command also takes "USER" for USER/PASS by name. "pop3://" is a
/// synonym of "pop://"; "pops://" and "pop3s://" mean implicit TLS (RFC 8314,
/// default port 995); the scheme, ";AUTH=" and TYPE are case-insensitive.
/// The port defaults to 110; IPv6 literals go in brackets ("pop://[::1]:110").
/// A link-local server needs its interface: an IPv6 literal may carry a zone
/// ID after an escaped "%" (RFC 6874): "pop://[fe80::1%25eth0]". The zone is
/// 1 or more letters, digits, "-", ".", "_", "~" or %XX escapes (an escape
/// that decodes to a space, a control character or a non-ASCII octet is
/// refused); a bare "%" without "25", an empty zone, or a zone on a host
/// name or IPv4 address is refused.
/// User names may carry %XX escapes (";", "@", ":", "%" and spaces must be
/// escaped); an escaped control character (CR, LF, NUL, ...) is refused, as it
/// would break the POP3 command. A lone "/" after the host is accepted.
/// A password in the URL is refused: passwords never go on a command line.
///
/// @file
/// @ingroup client
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit {

/// A parsed POP URL (RFC 2384): pop://[user[;AUTH=mech]@]host[:port], or
/// pops:// for implicit TLS.
struct POP3KIT_EXPORT PopUrl {
  std::string user;  ///< Decoded; may be empty (no login part).
  std::string auth;  ///< "" (same as "*"), "+APOP", "*", or a mechanism (upper case).
  /// Without brackets for IPv6 literals; a zone ID decoded after a plain
  /// "%" ("fe80::1%eth0"), the form getaddrinfo takes.
  std::string host;
  std::uint16_t port = 110;  ///< 995 for pops:// without a port.
  bool tls = false;          ///< pops:// or pop3s://: TLS from the first byte.
};

/// Parses a POP URL. Errors (errc::invalid_argument, one-line message saying
/// what is wrong and how to write it): unknown scheme, empty or malformed
/// host, bad port (not 1-65535), bad %-escape, an unescaped special character
/// in the user, a password (":" in the user part; the message never repeats
/// it), an empty user before "@" or ";", an empty or malformed auth type, an
/// unknown ";" parameter, more than one "@", a path, query or fragment.
POP3KIT_EXPORT Result<PopUrl> parse_pop_url(std::string_view url);

/// "host:port" as written in a URL, for messages and URLs alike: IPv6
/// literals in brackets with the zone ID escaped again ("[fe80::1%25eth0]:110"),
/// every octet of a host name or zone that the URL syntax would not take as
/// %XX (so a hostile host cannot put control characters on a terminal).
POP3KIT_EXPORT std::string format_host_port(const PopUrl& url);

/// The URL that parse_pop_url() reads back as `url`: "pop://" or "pops://",
/// the user and auth type %-escaped where needed, the host as
/// format_host_port() writes it, the port only when it is not the scheme's
/// default. The auth type is left out when there is no user.
POP3KIT_EXPORT std::string format_pop_url(const PopUrl& url);

}  // namespace pop3kit
