// Helpers shared by the engine's source files. Internal to the engine.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "pop3kit/engine.hpp"

namespace pop3kit::proto::detail {

inline std::string number_string(std::uint64_t n) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, n);
  return {digits, r.ptr};
}

inline bool has_line_breaking_octet(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The state the session reaches if command `c` succeeds in state `s`. The one
// table of state transitions: responses and projections both use it.
inline State after_success(State s, Command c) noexcept {
  switch (c) {
    case Command::pass:
    case Command::apop:
    case Command::auth:
      return s == State::authorization ? State::transaction : s;
    case Command::quit:
      return s == State::transaction ? State::update : State::closed;
    default:
      return s;
  }
}

inline bool allowed_in(State s, Command c) noexcept {
  switch (s) {
    case State::authorization:
      return c == Command::user || c == Command::pass || c == Command::apop || c == Command::quit ||
             c == Command::capa || c == Command::utf8 || c == Command::stls || c == Command::auth;
    case State::transaction:
      return c != Command::user && c != Command::pass && c != Command::apop && c != Command::utf8 &&
             c != Command::stls && c != Command::auth;
    case State::greeting:
    case State::update:
    case State::closed:
      return false;
  }
  return false;
}

}  // namespace pop3kit::proto::detail
