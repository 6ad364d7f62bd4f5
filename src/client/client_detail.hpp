// Helpers shared by the Client's source files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit::detail {

// A command the engine refused to queue: a caller error, nothing was sent.
using session::refused;

// a + b, or the largest value when that overflows (a STAT count is the
// server's word: near 2^64 is possible, wrapping is not).
inline std::uint64_t saturated_sum(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

// The checks of a LIST or UIDL scan listing.
using session::ListingCheck;

}  // namespace pop3kit::detail
