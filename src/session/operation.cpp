// The run loop every operation shares, and the errors the session layer
// makes of the server's answers.
#include <utility>
#include <variant>

#include "answers.hpp"
#include "pop3kit/session.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::session {

using proto::Command;

bool Facts::pipelining() const noexcept {
  return pipelining_allowed && capabilities != nullptr && capabilities->has("PIPELINING");
}

// Output goes before the next event is taken: an answer is only awaited
// once its command can have reached the server. In a pipeline
// (use_write_ready()) the driver writes what its transport takes, once
// after each event, and the rest waits behind commands already sent while
// their answers are read: the driver never blocks in a write, and a refill
// goes out as soon as an answer makes room for it.
Want Operation::resume(proto::Engine& engine) {
  if (!started_) {
    started_ = true;
    start(engine);
  }
  for (;;) {
    if (done_) return Want::done;
    if (sub_ != nullptr) {
      const Want want = sub_->resume(engine);
      if (want != Want::done) return want;
      end_sub();
      continue;
    }
    if (!engine.pending_output().empty()) {
      if (!write_ready_) {
        wrote_ = true;
        return Want::write;
      }
      if (!offered_) {
        offered_ = true;
        return Want::write_ready;
      }
    }
    if (std::exchange(wrote_, false)) {
      on_written(engine);
      continue;
    }
    if (tls_wanted_) {
      if (!engine.tls_active()) return Want::start_tls;
      tls_wanted_ = false;
      on_tls_started(engine);
      continue;
    }
    const proto::Event ev = engine.next_event();
    if (const auto* f = std::get_if<proto::Failed>(&ev)) {
      lose(Error(f->code, std::string(f->message)));
      continue;
    }
    if (std::holds_alternative<proto::NeedData>(ev)) {
      if (engine.wants_read()) return Want::read;
      if (closing_) {
        // One read for the close: bytes instead make the engine fail
        // (unexpected_data), so a second NeedData means the close came.
        if (!close_read_) {
          close_read_ = true;
          return Want::read;
        }
        closing_ = false;
        closes_ = true;
        on_closed();
        continue;
      }
      lose(Error(errc::connection_closed, "the server closed the connection"));
      continue;
    }
    offered_ = false;
    on_event(engine, ev);
  }
}

void Operation::transport_failed(Error error) {
  if (done_) return;
  if (sub_ != nullptr) {
    sub_->transport_failed(std::move(error));
    end_sub();
    return;
  }
  if (closing_) {
    closing_ = false;
    closes_ = true;
    on_closed();
    return;
  }
  lose(std::move(error));
}

void Operation::end_sub() {
  closes_ = sub_->closes_connection();
  outcome_ = adopt_ ? sub_->outcome() : Result<void>();
  // The connection `sub` lost is this operation's too.
  if (adopt_ && closes_ && !outcome_) outcome_ = on_lost(sub_->outcome().error());
  sub_ = nullptr;
  done_ = true;
}

namespace {

errc classify(ResponseCode rc, errc fallback) noexcept {
  switch (rc) {
    case ResponseCode::in_use:
    case ResponseCode::login_delay:
    case ResponseCode::sys_temp:
      return errc::temporary_failure;
    case ResponseCode::sys_perm:
      return errc::permanent_failure;
    case ResponseCode::auth:
      return errc::auth_failed;
    default:
      return fallback;
  }
}

}  // namespace

Error server_error(const proto::Status& st, std::string_view what,
                   const Capabilities* capabilities) {
  std::string msg(what);
  msg += ": server says \"";
  if (st.code != ResponseCode::none) {
    const char* code = to_string(st.code);
    msg += "[";
    msg += *code != '\0' ? code : "?";
    msg += "] ";
  }
  msg += sanitize(st.text);
  msg += "\"";
  // TOP and UIDL are optional (RFC 1939 §7): say so when CAPA left them out.
  if ((st.command == Command::top || st.command == Command::uidl) && capabilities != nullptr &&
      !capabilities->entries.empty() && !capabilities->has(proto::to_string(st.command))) {
    msg += std::string(" (the server does not offer ") + proto::to_string(st.command) + ")";
  }
  return Error(classify(st.code, errc::server_error), std::move(msg), st.code);
}

const proto::Status* status_of(const proto::Event& ev, Command c) {
  const auto* st = std::get_if<proto::Status>(&ev);
  return st != nullptr && st->command == c ? st : nullptr;
}

Error out_of_step(Command c) {
  return Error(errc::unexpected_data,
               std::string("expected the status line of ") + proto::to_string(c));
}

Error refused(std::error_code ec, Command c, proto::State state) {
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

}  // namespace pop3kit::session
