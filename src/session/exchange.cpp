// One command and its answer. The engine's command table says what a +OK
// carries, so the shape of every answer is read here once, not once per
// command and per driver.
#include <variant>

#include "answers.hpp"
#include "pop3kit/session_command.hpp"

namespace pop3kit::session {

using proto::Command;

std::error_code Request::queue(proto::Engine& engine) const {
  const bool numbered = number.has_value();
  switch (command) {
    case Command::stat:
      return engine.stat();
    case Command::list:
      return numbered ? engine.list(*number) : engine.list();
    case Command::uidl:
      return numbered ? engine.uidl(*number) : engine.uidl();
    case Command::retr:
      if (numbered) return engine.retr(*number);
      break;
    case Command::top:
      if (numbered) return engine.top(*number, lines);
      break;
    case Command::dele:
      if (numbered) return engine.dele(*number);
      break;
    case Command::noop:
      return engine.noop();
    case Command::rset:
      return engine.rset();
    case Command::quit:
      return engine.quit();
    case Command::capa:
      return engine.capa();
    case Command::utf8:
      return engine.utf8();
    default:
      break;
  }
  return make_error_code(errc::invalid_argument);
}

std::string Request::what() const {
  std::string s = proto::to_string(command);
  if (number) s += " " + std::to_string(*number);
  if (command == Command::top) s += " " + std::to_string(lines);
  return s;
}

Exchange::Exchange(Request request, const Facts& facts, const Sink* sink, Part part)
    : Operation(Error(errc::wrong_state, "not sent")),
      request_(request),
      part_(part),
      capabilities_(facts.capabilities),
      sink_(sink),
      content_(proto::command_info(request.command).content),
      listing_(proto::command_info(request.command).multi_line(request.number.has_value()) &&
               (content_ == proto::Content::list || content_ == proto::Content::uidl)) {
  if (listing_) check_.emplace(proto::to_string(request.command), facts.highest, facts.max_listing);
}

void Exchange::start(proto::Engine& engine) {
  if (part_ == Part::rest) {
    answered_ = true;
    return;
  }
  if (auto ec = request_.queue(engine)) {
    finish(refused(ec, request_.command, engine.state()));
  }
}

void Exchange::on_event(proto::Engine&, const proto::Event& event) {
  if (!answered_) {
    const proto::Status* st = status_of(event, request_.command);
    if (st == nullptr) return lose(session::out_of_step(request_.command));
    return on_status(*st);
  }
  if (on_content(event)) end();
}

void Exchange::on_status(const proto::Status& st) {
  answered_ = true;
  if (!st.ok) return finish(server_error(st, request_.what(), capabilities_));
  text_ = st.text;
  if (part_ == Part::status || content_ == proto::Content::none) finish();
}

bool Exchange::on_content(const proto::Event& ev) {
  switch (content_) {
    case proto::Content::stat:
      if (const auto* r = std::get_if<proto::StatReply>(&ev)) {
        stat_ = {r->count, r->size};
        return true;
      }
      break;
    case proto::Content::list:
      if (const auto* e = std::get_if<proto::ListEntry>(&ev)) {
        if (!listing_) {
          entry_ = {e->number, e->size, {}};
          return true;
        }
        if (on_listing(e->number)) entries_.push_back({e->number, e->size, {}});
        return false;
      }
      if (listing_ && std::holds_alternative<proto::End>(ev)) return true;
      break;
    case proto::Content::uidl:
      if (const auto* u = std::get_if<proto::UidlEntry>(&ev)) {
        if (!listing_) {
          entry_ = {u->number, 0, std::string(u->uid)};
          return true;
        }
        if (on_listing(u->number)) entries_.push_back({u->number, 0, std::string(u->uid)});
        return false;
      }
      if (listing_ && std::holds_alternative<proto::End>(ev)) return true;
      break;
    case proto::Content::capabilities:
      if (const auto* c = std::get_if<proto::Capability>(&ev)) {
        caps_.entries.push_back({std::string(c->name), std::string(c->arguments)});
        return false;
      }
      if (std::holds_alternative<proto::End>(ev)) return true;
      break;
    case proto::Content::body:
      if (const auto* chunk = std::get_if<proto::BodyChunk>(&ev)) {
        on_body(chunk->data);
        return false;
      }
      if (std::holds_alternative<proto::End>(ev)) return true;
      break;
    case proto::Content::none:
      break;
  }
  out_of_step("the answer of");
  return false;
}

// An entry is checked before it is kept, so a listing that never ends
// stops at the limit instead of growing.
bool Exchange::on_listing(std::uint64_t number) {
  if (auto bad = check_->add(number)) {
    lose(std::move(*bad));
    return false;
  }
  return true;
}

void Exchange::on_body(std::string_view chunk) {
  if (sink_error_) return;  // drain the rest so the session stays usable
  if (sink_ != nullptr && *sink_) sink_error_ = (*sink_)(chunk);
  if (!sink_error_) octets_ += chunk.size();
}

void Exchange::end() {
  if (check_) {
    if (auto bad = check_->finish()) return lose(std::move(*bad));
  }
  if (sink_error_) {
    return finish(Error(errc::sink_failed, request_.what() + ": storing the message failed: " +
                                               sink_error_.message()));
  }
  finish();
}

void Exchange::out_of_step(std::string_view expected) {
  lose(Error(errc::unexpected_data,
             "expected " + std::string(expected) + " " + proto::to_string(request_.command)));
}

}  // namespace pop3kit::session
