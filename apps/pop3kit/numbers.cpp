// pop3kit command — checked numbers (see numbers.hpp).
#include "numbers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "exit_codes.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

using std::chrono::milliseconds;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

template <class T>
Checked<T> refuse(std::string reason) {
  return Checked<T>{std::variant<T, std::string>(std::in_place_index<1>, std::move(reason))};
}

template <class T>
Checked<T> accept(T value) {
  return Checked<T>{std::variant<T, std::string>(std::in_place_index<0>, value)};
}

Checked<milliseconds> in_range(milliseconds ms, SecondsRange range) {
  if (ms < range.min) return refuse<milliseconds>("must be at least " + seconds_text(range.min));
  if (ms > range.max) return refuse<milliseconds>("must be at most " + seconds_text(range.max));
  return accept(ms);
}

}  // namespace

Checked<milliseconds> parse_seconds(std::string_view text, SecondsRange range) {
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac))) {
    return refuse<milliseconds>("not a number of seconds (expected digits, as in 30 or 2.5)");
  }
  // Leading zeros do not count towards the size; anything longer than the
  // maximum's digits is out of range without converting it.
  const std::string_view significant =
      whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
  const std::string max_whole = std::to_string(range.max.count() / 1000);
  if (significant.size() > max_whole.size()) {
    return refuse<milliseconds>("must be at most " + seconds_text(range.max));
  }
  long long ms = 0;
  for (const char c : significant)
    ms = ms * 10 + (c - '0');
  ms *= 1000;
  long long scale = 100;
  for (std::size_t i = 0; i < frac.size() && i < 3; ++i, scale /= 10)
    ms += (frac[i] - '0') * scale;
  return in_range(milliseconds(ms), range);
}

Checked<milliseconds> seconds_value(double seconds, SecondsRange range) {
  if (!std::isfinite(seconds)) return refuse<milliseconds>("must be a finite number of seconds");
  if (seconds < 0) return refuse<milliseconds>("must not be negative");
  // Compared as doubles before any conversion: 1e300 must not reach an integer.
  const double ms = std::floor(seconds * 1000.0);
  if (ms > static_cast<double>(range.max.count())) {
    return refuse<milliseconds>("must be at most " + seconds_text(range.max));
  }
  return in_range(milliseconds(static_cast<long long>(ms)), range);
}

Checked<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
  if (!all_digits(text)) return refuse<std::uint64_t>("not a number (expected digits only)");
  std::uint64_t value = 0;
  for (const char c : text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) {
      return refuse<std::uint64_t>(fmt::format("must be at most {}", max));
    }
    value = value * 10 + digit;
  }
  if (value < min) return refuse<std::uint64_t>(fmt::format("must be at least {}", min));
  return accept(value);
}

Checked<std::uint64_t> parse_octets(std::string_view text, std::uint64_t min) {
  unsigned shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  auto n = parse_count(text, 0, kMax >> shift);
  if (!n.ok()) {
    return refuse<std::uint64_t>(all_digits(text) ? "too large"
                                                  : "not a size (octets, or a number with k, "
                                                    "M or G, as in 20M)");
  }
  const std::uint64_t octets = n.value() << shift;
  if (octets < min) return refuse<std::uint64_t>(fmt::format("must be at least {} octet(s)", min));
  return accept(octets);
}

milliseconds seconds_option(std::string_view option, std::string_view text) {
  const auto v = parse_seconds(text);
  if (!v.ok()) {
    throw Failure(exit_code::usage,
                  fmt::format("bad {} \"{}\": {}", option, sanitize(text, 40), v.reason()));
  }
  return v.value();
}

}  // namespace pop3kit::cli
