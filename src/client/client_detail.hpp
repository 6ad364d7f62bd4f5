// Helpers shared by the Client's source files.
#pragma once

#include <string>
#include <system_error>

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

}  // namespace pop3kit::detail
