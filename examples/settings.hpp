// Connection settings shared by the C++ examples: where to connect and as
// whom, from the command line or the environment.
//
//   EXAMPLE [--plain | --tls] [OPTIONS...] [HOST [PORT [USER [PASSWORD]]]]
//
// A setting missing from the command line is taken from POP3KIT_HOST,
// POP3KIT_PORT, POP3KIT_USER and POP3KIT_PASSWORD. Prefer the environment for
// the password: a command line is visible to every user of the machine.
//
// The connection is protected as the pop3kit command does it: STLS is
// required by default (port 110), --tls is implicit TLS (port 995) and
// --plain is plain TCP, for a local test server only.
#pragma once

#include <pop3kit/client.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace examples {

struct Settings {
  std::string host;
  std::uint16_t port = 0;
  std::string user;
  std::string password;
  pop3kit::Security security = pop3kit::Security::starttls;
  /// The arguments the example itself takes (after its options).
  std::vector<std::string> rest;
};

/// Parses a decimal number of at most `most`; nullopt if `text` is not one.
inline std::optional<std::uint64_t> parse_number(std::string_view text,
                                                 std::uint64_t most = UINT64_MAX) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || p != end || text.empty() || v > most) return std::nullopt;
  return v;
}

/// Reads the settings. `own` is the number of arguments the example takes
/// before HOST (its own, such as a message number); they go to Settings::rest.
/// Prints `usage` and returns nullopt when something is missing or wrong.
inline std::optional<Settings> parse_settings(int argc, char** argv, std::size_t own,
                                              const char* usage) {
  Settings s;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--plain") {
      s.security = pop3kit::Security::plain;
    } else if (a == "--tls") {
      s.security = pop3kit::Security::tls;
    } else if (a == "-h" || a == "--help") {
      std::fprintf(stdout, "usage: %s\n", usage);
      std::exit(0);
    } else if (a.size() > 1 && a.front() == '-') {
      std::fprintf(stderr, "unknown option %s\nusage: %s\n", argv[i], usage);
      return std::nullopt;
    } else {
      positional.emplace_back(a);
    }
  }
  if (positional.size() < own || positional.size() > own + 4) {
    std::fprintf(stderr, "usage: %s\n", usage);
    return std::nullopt;
  }
  s.rest.assign(positional.begin(), positional.begin() + static_cast<std::ptrdiff_t>(own));
  // HOST, PORT, USER, PASSWORD: from the command line, else the environment.
  const char* const env[] = {"POP3KIT_HOST", "POP3KIT_PORT", "POP3KIT_USER", "POP3KIT_PASSWORD"};
  std::string value[4];
  for (std::size_t k = 0; k < 4; ++k) {
    if (own + k < positional.size()) {
      value[k] = positional[own + k];
    } else if (const char* e = std::getenv(env[k]); e != nullptr) {
      value[k] = e;
    }
  }
  s.host = value[0].empty() ? "127.0.0.1" : value[0];
  if (value[1].empty()) {
    s.port = s.security == pop3kit::Security::tls ? 995 : 110;
  } else if (auto p = parse_number(value[1], 65535); p && *p != 0) {
    s.port = static_cast<std::uint16_t>(*p);
  } else {
    std::fprintf(stderr, "bad port '%s'\nusage: %s\n", value[1].c_str(), usage);
    return std::nullopt;
  }
  s.user = value[2];
  s.password = value[3];
  if (s.user.empty()) {
    std::fprintf(stderr, "no user (argument or POP3KIT_USER)\nusage: %s\n", usage);
    return std::nullopt;
  }
  return s;
}

/// Prints "WHAT: message" for a failed call and returns exit status 1.
inline int fail(const char* what, const pop3kit::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message.c_str());
  return 1;
}

}  // namespace examples
