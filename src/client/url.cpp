// pop3kit — POP URL parser (RFC 2384).
//
// Grammar (RFC 2384 §3, with RFC 3986 host syntax for IPv6 literals):
//
//   pop-url   = scheme "://" [ user [ ";AUTH=" type ] "@" ] host [ ":" port ] [ "/" ]
//   scheme    = "pop" / "pop3"                  ; case-insensitive, port 110
//             / "pops" / "pop3s"                ; implicit TLS, port 995
//   type      = "*" / "+APOP" / sasl-mechanism  ; case-insensitive
//
// The parser is strict on purpose: a URL names where a password goes, so
// anything ambiguous (a second "@", a ":" in the user part, an unknown
// parameter) is refused with a message that says what to change rather than
// guessed at. Every message quotes only the offending piece, never the user
// part whole: the user part is where people paste passwords by mistake.
#include "pop3kit/url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

#include "pop3kit/text.hpp"

namespace pop3kit {
namespace {

constexpr std::size_t kMaxMechanism = 20;  // RFC 4422 §3.1: SASL names are 1-20 chars.

Error bad(std::string message) {
  return Error(errc::invalid_argument, std::move(message));
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Characters allowed unescaped in the user and auth parts: RFC 2384's achar
// (RFC 1738 unreserved plus "&", "=", "~"). Everything else that is not a
// %XX escape is refused, so that ";", "@", ":", "/" keep their meaning.
bool is_achar(char c) noexcept {
  if (is_alnum(c)) return true;
  switch (c) {
    case '$':
    case '-':
    case '_':
    case '.':
    case '+':
    case '!':
    case '*':
    case '\'':
    case '(':
    case ')':
    case ',':
    case '&':
    case '=':
    case '~':
      return true;
    default:
      return false;
  }
}

// Decodes %XX escapes in `in` (the user name or the auth type). `what` names
// the part for messages.
Result<std::string> percent_decode(std::string_view in, std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return bad("bad %-escape in the " + std::string(what) +
                   " of the URL: \"%\" must be followed by two hex digits (write %25 for a "
                   "literal \"%\")");
      }
      const char decoded = static_cast<char>(hi * 16 + lo);
      // CR, LF and NUL would end or truncate the POP3 command; other control
      // characters are never part of a real user name.
      const auto u = static_cast<unsigned char>(decoded);
      if (u < 0x20 || u == 0x7F) {
        return bad("the " + std::string(what) +
                   " of the URL contains an escaped control character");
      }
      out.push_back(decoded);
      i += 2;
      continue;
    }
    if (!is_achar(c)) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7F || c == ' ') {
        return bad("the " + std::string(what) +
                   " of the URL contains a space, a control character or a non-ASCII octet; "
                   "write it as %XX");
      }
      return bad("character \"" + std::string(1, c) + "\" is not allowed in the " +
                 std::string(what) + " of the URL; write it as %" +
                 std::string(1, "0123456789ABCDEF"[u >> 4]) +
                 std::string(1, "0123456789ABCDEF"[u & 15]));
    }
    out.push_back(c);
  }
  return out;
}

// Validates and normalises an ";AUTH=" value.
Result<std::string> parse_auth_type(std::string_view raw) {
  if (raw.empty()) {
    return bad("empty \";AUTH=\" type in the URL (use +APOP, * or a SASL mechanism name)");
  }
  auto decoded = percent_decode(raw, "auth type");
  if (!decoded) return std::move(decoded).error();
  std::string type = std::move(*decoded);
  if (type == "*") return type;
  type = ascii_upper(type);
  if (type == "+APOP") return type;
  // RFC 4422 §3.1: 1-20 of upper-case letters, digits, "-" and "_".
  if (type.size() > kMaxMechanism) {
    return bad(
        "\";AUTH=\" type in the URL is too long to be a SASL mechanism name (at most 20 "
        "characters)");
  }
  for (char c : type) {
    if (!is_alnum(c) && c != '-' && c != '_') {
      return bad("\";AUTH=" + type +
                 "\" in the URL is neither +APOP, * nor a SASL mechanism name (letters, digits, "
                 "\"-\" and \"_\")");
    }
  }
  return type;
}

// Parses "user[;AUTH=type]" into `url`.
Result<void> parse_userinfo(std::string_view info, PopUrl& url) {
  if (info.empty()) {
    return bad(
        "empty user name before \"@\" in the URL (drop the \"@\" to connect without "
        "logging in)");
  }
  // A ":" in the user part is "user:password" (RFC 3986 §3.2.1). Refuse it
  // rather than take it as part of the name: whatever follows it is most
  // likely a password that is now in the shell history.
  if (info.find(':') != std::string_view::npos) {
    return bad(
        "the URL contains a password (\":\" in the user part); pop3kit never takes "
        "passwords from URLs (a user name with a \":\" must write it as %3A)");
  }
  std::string_view user = info;
  std::string_view params;
  if (const auto semi = info.find(';'); semi != std::string_view::npos) {
    user = info.substr(0, semi);
    params = info.substr(semi + 1);
  }
  if (user.empty()) {
    return bad("empty user name before \";\" in the URL");
  }
  auto decoded = percent_decode(user, "user name");
  if (!decoded) return std::move(decoded).error();
  url.user = std::move(*decoded);

  if (params.empty()) {
    if (info.size() != user.size()) {
      return bad("empty parameter after \";\" in the URL (expected \";AUTH=type\")");
    }
    return {};
  }
  // RFC 2384 defines exactly one parameter; a second ";" is an error too.
  if (params.find(';') != std::string_view::npos) {
    return bad("more than one \";\" parameter in the URL (only \";AUTH=type\" is defined)");
  }
  if (!istarts_with(params, "auth=")) {
    const auto eq = params.find('=');
    return bad("unknown URL parameter \";" + std::string(params.substr(0, eq)) +
               "\" (only \";AUTH=type\" is defined)");
  }
  auto type = parse_auth_type(params.substr(5));
  if (!type) return std::move(type).error();
  url.auth = std::move(*type);
  return {};
}

Result<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty()) return bad("missing port number after \":\" in the URL");
  unsigned value = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  for (const char* p = first; p != last; ++p) {
    if (*p < '0' || *p > '9') {
      return bad("port \"" + std::string(s) + "\" in the URL is not a number");
    }
  }
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || value == 0 || value > 65535) {
    return bad("port " + std::string(s) + " in the URL is out of range (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

// A registered name or an IPv4 address: letters, digits, "-", "." and "_".
// Percent-encoded host names (RFC 3986) are not supported: no resolver wants
// them and they are a favourite of spoofing tricks.
Result<std::string> parse_reg_name(std::string_view host) {
  if (host.empty()) return bad("missing host name in the URL");
  for (char c : host) {
    if (c == '%') {
      return bad("\"%\" is not allowed in the host name \"" + sanitize(host, 60) +
                 "\" (a zone ID goes with an IPv6 address in brackets: pop://[fe80::1%25eth0])");
    }
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') {
      return bad("character \"" + std::string(1, c) + "\" is not allowed in the host name \"" +
                 std::string(host) + "\"");
    }
  }
  return std::string(host);
}

bool is_unreserved(char c) noexcept {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 6874: ZoneID = 1*( unreserved / pct-encoded ), decoded. The result
// goes to getaddrinfo (an interface name or index), so an escape that
// decodes to a space, a control character or a non-ASCII octet is refused.
Result<std::string> parse_zone_id(std::string_view zone) {
  if (zone.empty()) return bad("empty zone ID after \"%25\" in the IPv6 address of the URL");
  std::string out;
  for (std::size_t i = 0; i < zone.size(); ++i) {
    char c = zone[i];
    if (c == '%') {
      const int hi = i + 1 < zone.size() ? hex_value(zone[i + 1]) : -1;
      const int lo = i + 2 < zone.size() ? hex_value(zone[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return bad("bad %-escape in the zone ID of the URL's IPv6 address");
      }
      c = static_cast<char>(hi * 16 + lo);
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7F) {
        return bad(
            "the zone ID of the URL's IPv6 address contains an escaped space, control "
            "character or non-ASCII octet");
      }
      i += 2;
    } else if (!is_unreserved(c)) {
      return bad(
          "the zone ID of the URL's IPv6 address may only hold letters, digits, \"-\", "
          "\".\", \"_\", \"~\" and %XX escapes");
    }
    out.push_back(c);
  }
  return out;
}

// `literal` is what was between the brackets: an IPv6 address, optionally
// with a zone ID (RFC 6874: "fe80::1%25eth0", the "%" itself escaped). The
// result is what getaddrinfo takes: "fe80::1%eth0".
Result<std::string> parse_ipv6_literal(std::string_view literal) {
  if (literal.empty()) return bad("empty IPv6 address \"[]\" in the URL");
  std::string_view address = literal;
  std::string zone;
  if (const auto pct = literal.find('%'); pct != std::string_view::npos) {
    address = literal.substr(0, pct);
    if (literal.substr(pct, 3) != "%25") {
      return bad(
          "a zone ID in the URL's IPv6 address is written after \"%25\" (the escaped "
          "\"%\"): pop://[fe80::1%25eth0]");
    }
    auto z = parse_zone_id(literal.substr(pct + 3));
    if (!z) return std::move(z).error();
    zone = std::move(*z);
  }
  const std::string text(address);
  in6_addr addr{};
  if (inet_pton(AF_INET6, text.c_str(), &addr) != 1) {
    return bad("\"[" + sanitize(text, 60) + "]\" in the URL is not a valid IPv6 address");
  }
  return zone.empty() ? text : text + "%" + zone;
}

void append_escaped(std::string& out, std::string_view s, bool (*keep)(char) noexcept) {
  for (const char c : s) {
    if (keep(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[u >> 4]);
      out.push_back("0123456789ABCDEF"[u & 15]);
    }
  }
}

}  // namespace

Result<PopUrl> parse_pop_url(std::string_view url) {
  PopUrl out;

  std::string_view rest;
  if (istarts_with(url, "pop://")) {
    rest = url.substr(6);
  } else if (istarts_with(url, "pop3://")) {
    rest = url.substr(7);
  } else if (istarts_with(url, "pops://") || istarts_with(url, "pop3s://")) {
    // Not in RFC 2384; the common spelling for POP3 over implicit TLS
    // (RFC 8314 §3.3, port 995), as curl and mpop use it.
    rest = url.substr(url.find("://") + 3);
    out.tls = true;
    out.port = 995;
  } else if (const auto sep = url.find("://"); sep != std::string_view::npos) {
    return bad("unsupported URL scheme \"" + std::string(url.substr(0, sep)) +
               "\" (expected pop://user@host or pops://user@host)");
  } else {
    return bad("not a POP URL (expected pop://user@host or pop://user;auth=+APOP@host:port)");
  }

  // The authority ends at the first "/", "?" or "#". Only an empty path ("/")
  // is accepted after it: RFC 2384 defines no path, query or fragment.
  std::string_view authority = rest;
  if (const auto end = rest.find_first_of("/?#"); end != std::string_view::npos) {
    authority = rest.substr(0, end);
    if (rest.substr(end) != "/") {
      return bad("unexpected \"" + std::string(rest.substr(end)) +
                 "\" after the host in the URL (a POP URL has no path, query or fragment)");
    }
  }

  // RFC 3986: "@" may not appear unescaped in the user part, so a second
  // "@" is a mistake; refuse it instead of guessing which one is meant.
  std::string_view hostport = authority;
  if (const auto at = authority.find('@'); at != std::string_view::npos) {
    if (authority.find('@', at + 1) != std::string_view::npos) {
      return bad("more than one \"@\" in the URL (write an \"@\" in the user name as %40)");
    }
    auto ok = parse_userinfo(authority.substr(0, at), out);
    if (!ok) return std::move(ok).error();
    hostport = authority.substr(at + 1);
  }

  std::string_view port_text;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      return bad("missing \"]\" after the IPv6 address in the URL");
    }
    auto host = parse_ipv6_literal(hostport.substr(1, close - 1));
    if (!host) return std::move(host).error();
    out.host = std::move(*host);
    const auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return bad("unexpected \"" + std::string(after) + "\" after the IPv6 address in the URL");
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    std::string_view host = hostport;
    if (const auto colon = hostport.find(':'); colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      has_port = true;
      port_text = hostport.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) {
        return bad(
            "more than one \":\" after the host in the URL (write IPv6 addresses in "
            "brackets: pop://[::1]:110)");
      }
    }
    auto name = parse_reg_name(host);
    if (!name) return std::move(name).error();
    out.host = std::move(*name);
  }

  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) return std::move(port).error();
    out.port = *port;
  }
  return out;
}

std::string format_host_port(const PopUrl& url) {
  std::string out;
  const auto pct = url.host.find('%');
  if (url.host.find(':') != std::string::npos) {
    out = "[" + url.host.substr(0, pct);
    if (pct != std::string::npos) {
      out += "%25";
      append_escaped(out, std::string_view(url.host).substr(pct + 1), is_unreserved);
    }
    out += "]";
  } else {
    append_escaped(out, url.host,
                   [](char c) noexcept { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
  }
  return out + ":" + std::to_string(url.port);
}

std::string format_pop_url(const PopUrl& url) {
  std::string out = url.tls ? "pops://" : "pop://";
  if (!url.user.empty()) {
    append_escaped(out, url.user, is_achar);
    if (!url.auth.empty()) {
      out += ";AUTH=";
      append_escaped(out, url.auth, is_achar);
    }
    out += "@";
  }
  std::string hp = format_host_port(url);
  if (url.port == (url.tls ? 995 : 110)) hp.resize(hp.rfind(':'));
  return out + hp;
}

}  // namespace pop3kit
