// pop3kit command — checking arguments: the URL, message numbers, line counts.
//
// Every function here throws Failure with exit 64 (usage) and a message that
// names the bad argument; nothing here touches the network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/url.hpp"

namespace pop3kit::cli {

/// Parses the URL argument (pop3kit::parse_pop_url), exit 64 on error.
PopUrl parse_url_arg(std::string_view text);

/// A message number: decimal, 1 or more.
std::uint64_t parse_message_number(std::string_view text);

/// A line count for TOP: decimal, 0 or more.
std::uint64_t parse_line_count(std::string_view text);

/// Message numbers for DELE, in the order given, duplicates dropped (a
/// second DELE of the same number would be refused by the server and, by
/// dele's rules, abort the whole run).
std::vector<std::uint64_t> parse_message_numbers(const std::vector<std::string>& texts);

/// "host:port" for messages, IPv6 literals in brackets.
std::string host_port(const PopUrl& url);

}  // namespace pop3kit::cli
