// pop3kit command — the one checked parser for every number the user gives:
// options (--timeout, --connect-timeout, --deadline, --max-size, message
// numbers, line counts) and config file keys (timeout, connect_timeout,
// deadline, max_size).
//
// Numbers are plain decimal digits: no sign, no spaces, no "0x", no
// exponent, no "inf" or "nan", nothing after them (strtod and std::stod
// accept all of these, and CLI11's double options did). Every value is
// checked against its range before it is converted, so nothing overflows.
// The functions return the reason for a bad value ("not a number of
// seconds", "must be at least 0.001 s"); the caller names the option or key
// and picks the exit code (64 on the command line, 78 in the config file).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

namespace pop3kit::cli {

/// A checked value, or why the text was refused.
template <class T>
struct Checked {
  std::variant<T, std::string> v;
  bool ok() const noexcept { return v.index() == 0; }
  const T& value() const { return std::get<0>(v); }
  const std::string& reason() const { return std::get<1>(v); }
};

/// The range of a duration option. Durations are kept in milliseconds.
struct SecondsRange {
  std::chrono::milliseconds min{1};              ///< 0.001 s: zero would mean "fail at once".
  std::chrono::milliseconds max{1'000'000'000};  ///< 1 000 000 s, about 11.6 days.
};

/// Seconds as "DIGITS" or "DIGITS.DIGITS" ("30", "2.5", "0.25"); digits
/// beyond the third decimal are dropped (the unit is the millisecond).
Checked<std::chrono::milliseconds> parse_seconds(std::string_view text, SecondsRange range = {});
/// The same for a number that is already one (a TOML float or integer):
/// finite, within the range, rounded down to the millisecond.
Checked<std::chrono::milliseconds> seconds_value(double seconds, SecondsRange range = {});

/// A whole number "DIGITS" within [min, max].
Checked<std::uint64_t> parse_count(std::string_view text, std::uint64_t min = 0,
                                   std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

/// A size in octets: "DIGITS", optionally followed by k/K, M or G (1024-based),
/// at least `min`, not overflowing 64 bits.
Checked<std::uint64_t> parse_octets(std::string_view text, std::uint64_t min = 1);

/// A duration option's value, or Failure 64 naming `option` ("--timeout").
std::chrono::milliseconds seconds_option(std::string_view option, std::string_view text);

}  // namespace pop3kit::cli
