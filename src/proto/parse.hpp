// Field parsers for response lines. Internal to the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pop3kit/error.hpp"

namespace pop3kit::proto::detail {

/// Decimal digits only, no sign, no leading space, no overflow of 64 bits.
bool parse_u64(std::string_view s, std::uint64_t& out) noexcept;

/// Splits off the first space-separated token; `rest` is what follows the
/// single separating space (further spaces kept).
std::string_view next_token(std::string_view& rest) noexcept;

struct StatusLine {
  bool ok = false;
  ResponseCode code = ResponseCode::none;
  std::string_view text;
};

/// "+OK[ text]" or "-ERR[ text]", with an optional leading "[CODE]" in the
/// text. Returns false if the line starts with neither indicator.
bool parse_status_line(std::string_view line, StatusLine& out) noexcept;

/// Classifies the inside of "[...]" (RFC 2449 §8): unknown sub-levels are
/// ignored, an unknown top level is ResponseCode::other.
ResponseCode classify_response_code(std::string_view code) noexcept;

/// The APOP timestamp of a greeting text: exactly one "<...>", printable
/// ASCII (0x21-0x7E) inside, containing "@", at most `max_length` octets with
/// the brackets. Empty when absent or invalid.
std::string_view find_apop_timestamp(std::string_view text, std::size_t max_length) noexcept;

/// A UID: 1..max_length octets in 0x21-0x7E.
bool is_valid_uid(std::string_view uid, std::size_t max_length) noexcept;

}  // namespace pop3kit::proto::detail
