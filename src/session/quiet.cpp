// The check that the server said nothing unasked before commands go out
// (pop3kit/session.hpp): the drivers read without waiting, each its own
// way; what the reads found means the same to all of them.
#include <string>
#include <variant>

#include "pop3kit/session.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::session {

bool must_be_quiet(const proto::Engine& engine) noexcept {
  return !engine.awaiting_response() && !engine.pending_output().empty();
}

std::optional<Error> buffered_unasked(proto::Engine& engine) {
  if (engine.buffered() == 0) return std::nullopt;
  const proto::Event ev = engine.next_event();
  if (const auto* f = std::get_if<proto::Failed>(&ev)) {
    return Error(f->code, std::string(f->message));
  }
  return std::nullopt;
}

Error unasked_error(std::string_view said) {
  if (said.empty()) {
    return Error(errc::connection_closed,
                 "the server closed the connection while no command was outstanding");
  }
  if (said.starts_with("-ERR")) {
    // A parting word before the server hangs up: a dropped session to
    // retry, not a broken server. Either way nothing is taken for an answer.
    return Error(errc::connection_closed, "the server ended the session: '" +
                                              sanitize(said.substr(0, said.find('\r')), 80) + "'");
  }
  return Error(errc::unexpected_data,
               "server sent data while no response was expected: '" + sanitize(said, 80) + "'");
}

}  // namespace pop3kit::session
