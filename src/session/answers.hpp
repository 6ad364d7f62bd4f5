// What the operations make of an answer they wait for (private to the
// session layer).
#pragma once

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"

namespace pop3kit::session {

// A status line of `c`, else nullptr: the answers are out of step.
const proto::Status* status_of(const proto::Event& ev, proto::Command c);
// The error for an answer out of step with `c` (a protocol error).
Error out_of_step(proto::Command c);

}  // namespace pop3kit::session
