// Helpers shared by the engine's source files. Internal to the engine.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <iterator>
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

constexpr std::uint8_t in(State s) noexcept {
  return static_cast<std::uint8_t>(1U << static_cast<unsigned>(s));
}
constexpr std::uint8_t kAuthorization = in(State::authorization);
constexpr std::uint8_t kTransaction = in(State::transaction);
constexpr std::uint8_t kBoth = kAuthorization | kTransaction;
constexpr Reply kSingle = Reply::single_line;
constexpr Reply kMulti = Reply::multi_line;
constexpr Reply kMultiNoArg = Reply::multi_line_without_argument;

// The command table: one row per Command, in the enum's order, with every
// per-command fact the engine uses (RFC 1939, 2449, 2595, 5034, 6856). The
// columns are CommandInfo's, documented in pop3kit/engine.hpp.
// clang-format off
inline constexpr CommandInfo kCommands[] = {
// name   command        arguments                     reply        content                states          excl.  logs_in ends_session
  {"",     Command::none, Arguments::none,              kSingle,     Content::none,         0,              false, false, false},
  {"USER", Command::user, Arguments::name,              kSingle,     Content::none,         kAuthorization, false, false, false},
  {"PASS", Command::pass, Arguments::password,          kSingle,     Content::none,         kAuthorization, true,  true,  false},
  {"APOP", Command::apop, Arguments::name_and_digest,   kSingle,     Content::none,         kAuthorization, true,  true,  false},
  {"STAT", Command::stat, Arguments::none,              kSingle,     Content::stat,         kTransaction,   false, false, false},
  {"LIST", Command::list, Arguments::optional_message,  kMultiNoArg, Content::list,         kTransaction,   false, false, false},
  {"RETR", Command::retr, Arguments::message,           kMulti,      Content::body,         kTransaction,   false, false, false},
  {"TOP",  Command::top,  Arguments::message_and_lines, kMulti,      Content::body,         kTransaction,   false, false, false},
  {"DELE", Command::dele, Arguments::message,           kSingle,     Content::none,         kTransaction,   false, false, false},
  {"NOOP", Command::noop, Arguments::none,              kSingle,     Content::none,         kTransaction,   false, false, false},
  {"RSET", Command::rset, Arguments::none,              kSingle,     Content::none,         kTransaction,   false, false, false},
  {"QUIT", Command::quit, Arguments::none,              kSingle,     Content::none,         kBoth,          true,  false, true},
  {"UIDL", Command::uidl, Arguments::optional_message,  kMultiNoArg, Content::uidl,         kTransaction,   false, false, false},
  {"CAPA", Command::capa, Arguments::none,              kMulti,      Content::capabilities, kBoth,          false, false, false},
  {"UTF8", Command::utf8, Arguments::none,              kSingle,     Content::none,         kAuthorization, false, false, false},
  {"STLS", Command::stls, Arguments::none,              kSingle,     Content::none,         kAuthorization, true,  false, false},
  {"AUTH", Command::auth, Arguments::mechanism,         kSingle,     Content::none,         kAuthorization, true,  true,  false},
};
// clang-format on

inline constexpr std::size_t kCommandCount = std::size(kCommands);

constexpr const CommandInfo& info(Command c) noexcept {
  return kCommands[static_cast<std::size_t>(c)];
}

// The table is indexed by the enumerator: every row must sit at its own.
constexpr bool rows_in_order() noexcept {
  for (std::size_t i = 0; i < kCommandCount; ++i) {
    if (static_cast<std::size_t>(kCommands[i].command) != i) return false;
  }
  return true;
}
static_assert(rows_in_order(), "kCommands: one row per Command, in the enum's order");
// Command::auth is the last enumerator (tests/proto/command_table_test.cpp
// checks that with a switch that -Wswitch keeps complete).
static_assert(kCommandCount == static_cast<std::size_t>(Command::auth) + 1,
              "kCommands: one row per Command");

// The framing and the content must agree: the parser follows the one and
// produces the events of the other.
constexpr bool framing_matches_content() noexcept {
  for (const CommandInfo& r : kCommands) {
    const bool listing = r.content == Content::list || r.content == Content::uidl;
    const bool multi = r.content == Content::body || r.content == Content::capabilities;
    if (listing != (r.reply == Reply::multi_line_without_argument)) return false;
    if (multi != (r.reply == Reply::multi_line)) return false;
    if (listing != (r.arguments == Arguments::optional_message)) return false;
  }
  return true;
}
static_assert(framing_matches_content(), "kCommands: reply, content and arguments disagree");

// Engine::check_allowed() checks a command against the current state, not the
// state after the outstanding commands: right only while nothing can be
// queued behind a command whose answer changes the state.
constexpr bool state_changers_are_exclusive() noexcept {
  for (const CommandInfo& r : kCommands) {
    if ((r.logs_in || r.ends_session) && !r.exclusive) return false;
  }
  return true;
}
static_assert(state_changers_are_exclusive(), "kCommands: a state-changing command not exclusive");

}  // namespace pop3kit::proto::detail
