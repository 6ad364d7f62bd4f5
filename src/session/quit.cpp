// QUIT, and the close that must follow its answer at once (RFC 1939 §6).
#include <variant>

#include "answers.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit::session {

void Quit::start(proto::Engine& engine) {
  if (auto ec = engine.quit()) finish(refused(ec, proto::Command::quit, engine.state()));
}

void Quit::on_event(proto::Engine&, const proto::Event& ev) {
  const proto::Status* st = status_of(ev, proto::Command::quit);
  if (st == nullptr) return lose(out_of_step(proto::Command::quit));
  if (!st->ok) {
    refusal_ = server_error(*st, "QUIT (the server may not have removed the deleted messages)");
  }
  answered_ = true;
  set_closing();
}

void Quit::on_closed() {
  if (refusal_) return finish(std::move(*refusal_));
  finish();
}

// Whatever comes after the answer (already buffered with it, or read while
// waiting for the close) makes the engine fail with unexpected_data.
Error Quit::on_lost(Error error) {
  if (!answered_) return error;
  return Error(errc::unexpected_data,
               "QUIT: the server sent more after its answer, so its answers were out of step "
               "with the commands; the answer to QUIT cannot be trusted (the deleted messages "
               "may not have been removed)");
}

}  // namespace pop3kit::session
