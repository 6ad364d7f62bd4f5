// What state.cpp and state_lock.cpp share (private to the state store).
#pragma once

#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/state.hpp"

namespace pop3kit::store::detail {

/// errc::sink_failed: "state database PATH: WHAT (REASON)".
Error file_error(const std::string& path, const std::string& what, std::string_view reason = {});
/// The account as shown in messages: its name, else user@host:port (sanitised).
std::string display_name(const AccountId& account);

}  // namespace pop3kit::store::detail
