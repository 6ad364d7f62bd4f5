#include "parse.hpp"

#include "pop3kit/text.hpp"

#include <algorithm>
#include <cctype>

namespace pop3kit::proto::detail {

bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::string_view next_token(std::string_view& rest) noexcept {
  const auto sp = rest.find(' ');
  std::string_view token = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  return token;
}

ResponseCode classify_response_code(std::string_view code) noexcept {
  std::string_view rest = code;
  const auto top = rest.substr(0, rest.find('/'));
  rest = top.size() < rest.size() ? rest.substr(top.size() + 1) : std::string_view{};
  const auto sub = rest.substr(0, rest.find('/'));
  if (iequals(top, "IN-USE")) return ResponseCode::in_use;
  if (iequals(top, "LOGIN-DELAY")) return ResponseCode::login_delay;
  if (iequals(top, "AUTH")) return ResponseCode::auth;
  if (iequals(top, "UTF8")) return ResponseCode::utf8;
  if (iequals(top, "SYS")) {
    if (iequals(sub, "TEMP")) return ResponseCode::sys_temp;
    if (iequals(sub, "PERM")) return ResponseCode::sys_perm;
  }
  return ResponseCode::other;
}

bool parse_status_line(std::string_view line, StatusLine& out) noexcept {
  std::string_view text;
  if (line.starts_with("+OK")) {
    out.ok = true;
    text = line.substr(3);
  } else if (line.starts_with("-ERR")) {
    out.ok = false;
    text = line.substr(4);
  } else {
    return false;
  }
  if (!text.empty()) {
    // "+OKAY" is not "+OK": the indicator must end the line or be followed by a space.
    if (text.front() != ' ') return false;
    text.remove_prefix(1);
  }
  out.code = ResponseCode::none;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close != std::string_view::npos) {
      out.code = classify_response_code(text.substr(1, close - 1));
      text.remove_prefix(close + 1);
      if (text.starts_with(' ')) text.remove_prefix(1);
    }
  }
  out.text = text;
  return true;
}

std::string_view find_apop_timestamp(std::string_view text, std::size_t max_length) noexcept {
  const auto open = text.find('<');
  if (open == std::string_view::npos) return {};
  const auto close = text.find('>', open);
  if (close == std::string_view::npos) return {};
  // More than one bracket pair makes the timestamp ambiguous: refuse it.
  if (text.find('<', open + 1) != std::string_view::npos ||
      text.find('>', close + 1) != std::string_view::npos) {
    return {};
  }
  const std::string_view ts = text.substr(open, close - open + 1);
  if (ts.size() < 3 || ts.size() > max_length) return {};
  bool at = false;
  for (const char c : ts.substr(1, ts.size() - 2)) {
    if (c < 0x21 || c > 0x7e) return {};
    at = at || c == '@';
  }
  return at ? ts : std::string_view{};
}

bool is_valid_uid(std::string_view uid, std::size_t max_length) noexcept {
  if (uid.empty() || uid.size() > max_length) return false;
  return std::all_of(uid.begin(), uid.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace pop3kit::proto::detail
