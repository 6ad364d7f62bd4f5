// pop3kit command — argument checking.
#include "args.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "exit_codes.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Strict decimal: no sign, no spaces, no "0x"; std::from_chars alone would
// accept a prefix ("12abc" → 12).
bool parse_decimal(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

PopUrl parse_url_arg(std::string_view text) {
  auto url = parse_pop_url(text);
  if (!url) throw Failure(exit_code::usage, "bad URL: " + url.error().message);
  return std::move(*url);
}

std::uint64_t parse_message_number(std::string_view text) {
  std::uint64_t n = 0;
  if (!parse_decimal(text, n) || n == 0) {
    // The argument came from the user, but sanitise it anyway: it is echoed
    // to a terminal.
    throw Failure(
        exit_code::usage,
        fmt::format("bad message number \"{}\" (message numbers start at 1)", sanitize(text, 40)));
  }
  return n;
}

std::uint64_t parse_line_count(std::string_view text) {
  std::uint64_t n = 0;
  if (!parse_decimal(text, n)) {
    throw Failure(
        exit_code::usage,
        fmt::format("bad line count \"{}\" (expected a number, 0 or more)", sanitize(text, 40)));
  }
  return n;
}

std::vector<std::uint64_t> parse_message_numbers(const std::vector<std::string>& texts) {
  std::vector<std::uint64_t> numbers;
  std::unordered_set<std::uint64_t> seen;
  numbers.reserve(texts.size());
  for (const auto& t : texts) {
    const std::uint64_t n = parse_message_number(t);
    if (seen.insert(n).second) numbers.push_back(n);
  }
  return numbers;
}

std::string host_port(const PopUrl& url) {
  return format_host_port(url);  // brackets, and a zone ID escaped as in the URL
}

}  // namespace pop3kit::cli
