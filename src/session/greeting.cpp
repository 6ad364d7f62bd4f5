// The greeting that opens a session: the one answer no command asked for.
#include <variant>

#include "pop3kit/session_command.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::session {

AwaitGreeting::AwaitGreeting()
    : Operation(Error(errc::connection_closed, "no greeting from the server")) {}

// The views die with the next read, so the text and timestamp are copied.
void AwaitGreeting::on_event(proto::Engine&, const proto::Event& ev) {
  const auto* g = std::get_if<proto::Greeting>(&ev);
  if (g == nullptr) return lose(Error(errc::bad_greeting, "no greeting from the server"));
  if (!g->ok) {
    return lose(Error(errc::greeting_refused,
                      "the server refused the session: \"" + sanitize(g->text) + "\"", g->code));
  }
  text_ = g->text;
  timestamp_ = g->apop_timestamp;
  finish();
}

}  // namespace pop3kit::session
