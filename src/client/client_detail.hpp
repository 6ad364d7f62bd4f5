// Helpers shared by the Client's source files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/session_batch.hpp"

namespace pop3kit::detail {

// A command the engine refused to queue: a caller error, nothing was sent.
using session::refused;

// a + b, or the largest value when that overflows.
using session::saturated_sum;

// The checks of a LIST or UIDL scan listing.
using session::ListingCheck;

}  // namespace pop3kit::detail
