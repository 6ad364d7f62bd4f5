/// pop3kit — making untrusted text safe to show.
///
/// @file
/// @ingroup engine
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "pop3kit/export.hpp"

namespace pop3kit {

/// Server text (greeting, -ERR text, capability lines) is untrusted: it may
/// carry terminal escape sequences or control characters. sanitize() returns
/// printable ASCII only: every octet outside 0x20-0x7E becomes "\xNN", and the
/// result is cut at `max_length` octets with "..." appended.
POP3KIT_EXPORT std::string sanitize(std::string_view text, std::size_t max_length = 200);

/// ASCII case-insensitive equality, for protocol keywords (capability and
/// mechanism names, URL schemes): no locale, no Unicode folding.
POP3KIT_EXPORT bool iequals(std::string_view a, std::string_view b) noexcept;

/// ASCII upper case, for protocol keywords (mechanism names, hex digits):
/// 'a'-'z' become 'A'-'Z', every other octet is kept as it is, whatever the
/// locale.
constexpr char ascii_upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
/// ascii_upper() of each octet of `text`.
POP3KIT_EXPORT std::string ascii_upper(std::string_view text);

/// A duration for messages, in seconds without trailing zeros: "2 s",
/// "2.5 s", "0.001 s".
POP3KIT_EXPORT std::string seconds_text(std::chrono::milliseconds ms);

}  // namespace pop3kit
