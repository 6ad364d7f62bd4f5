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

namespace pop3kit::detail {

// A command the engine refused to queue: a caller error, nothing was sent.
inline Error refused(std::error_code ec, proto::Command c, proto::State state) {
  std::string msg = std::string("cannot send ") + proto::to_string(c) + ": ";
  if (ec == errc::wrong_state) {
    msg += std::string("not allowed in the ") + proto::to_string(state) + " state";
  } else if (ec == errc::invalid_argument) {
    msg += "invalid argument (empty, zero, or containing CR, LF or NUL)";
  } else {
    msg += ec.message();
  }
  return Error(ec, std::move(msg));
}

// a + b, or the largest value when that overflows (a STAT count is the
// server's word: near 2^64 is possible, wrapping is not).
inline std::uint64_t saturated_sum(std::uint64_t a, std::uint64_t b) noexcept {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

// Checks a LIST or UIDL scan listing entry by entry, before the entry is
// stored: the message number is 1..highest (when STAT told the highest), it
// was not listed before, and the listing stays within `max_entries`. A
// server that repeats "1 100" for ever is stopped at its second line; one
// that lists new numbers for ever at the limit. Defined in bulk.cpp.
class ListingCheck {
 public:
  ListingCheck(const char* what, std::optional<std::uint64_t> highest, std::size_t max_entries)
      : what_(what), highest_(highest), max_entries_(max_entries) {}
  /// The next entry's number: an error (a protocol error) or nothing.
  std::optional<Error> add(std::uint64_t number);
  /// After the listing's end: repeats among numbers that came out of order.
  std::optional<Error> finish();
  /// The numbers seen, in arrival order.
  const std::vector<std::uint64_t>& numbers() const noexcept { return numbers_; }

 private:
  const char* what_;
  std::optional<std::uint64_t> highest_;
  std::size_t max_entries_;
  std::vector<std::uint64_t> numbers_;
  bool ascending_ = true;
};

}  // namespace pop3kit::detail
