// pop3kit command — argument checking.
#include "args.hpp"

#include <fmt/format.h>

#include <unordered_set>

#include "exit_codes.hpp"
#include "numbers.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {

PopUrl parse_url_arg(std::string_view text) {
  auto url = parse_pop_url(text);
  if (!url) throw Failure(exit_code::usage, "bad URL: " + url.error().message);
  return std::move(*url);
}

std::uint64_t parse_message_number(std::string_view text) {
  const auto n = parse_count(text, 1);
  if (!n.ok()) {
    // The argument came from the user, but sanitise it anyway: it is echoed
    // to a terminal.
    throw Failure(
        exit_code::usage,
        fmt::format("bad message number \"{}\" (message numbers start at 1)", sanitize(text, 40)));
  }
  return n.value();
}

std::uint64_t parse_line_count(std::string_view text) {
  const auto n = parse_count(text);
  if (!n.ok()) {
    throw Failure(
        exit_code::usage,
        fmt::format("bad line count \"{}\" (expected a number, 0 or more)", sanitize(text, 40)));
  }
  return n.value();
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
