// The engine's command side: encoding, the state checks, the output buffer.
#include <algorithm>

#include "engine_internal.hpp"
#include "pop3kit/engine.hpp"

namespace pop3kit::proto {

using detail::has_line_breaking_octet;
using detail::number_string;

// ---- Commands ---------------------------------------------------------------

std::error_code Engine::check_allowed(Command c) const {
  if (failed()) return make_error_code(errc::engine_failed);
  if (!detail::info(c).allowed_in(state_)) return make_error_code(errc::wrong_state);
  // After STLS the next bytes are a TLS handshake; after AUTH they are SASL
  // responses. After PASS or APOP the server may hand the connection to
  // another process (Courier's login process authenticates, then starts the
  // mail process, and what it had buffered is gone): RFC 2449's PIPELINING
  // does not promise that commands sent before that state change survive it.
  // So nothing may follow any of these on the wire until it is answered.
  // Every command whose answer changes the state is among them (the table
  // checks that), so state_ is also the state the session will be in if
  // every outstanding command succeeds.
  if (!queue_.empty() && detail::info(queue_.back().command).exclusive) {
    return make_error_code(errc::wrong_state);
  }
  if (c == Command::stls && (tls_active_ || utf8_sent_ || !queue_.empty())) {
    return make_error_code(errc::wrong_state);
  }
  if (c == Command::pass) {
    // PASS only directly after an accepted (or queued) USER.
    const bool after_user =
        queue_.empty() ? user_accepted_ : queue_.back().command == Command::user;
    if (!after_user) return make_error_code(errc::wrong_state);
  }
  return {};
}

std::error_code Engine::send(Command c, std::string_view args, std::uint64_t argument,
                             std::string_view redacted) {
  const CommandInfo& info = detail::info(c);
  const bool has_argument = !args.empty();
  // The table says whether the argument is required (an empty USER or PASS is
  // refused here) or absent; only LIST and UIDL go either way.
  if (has_argument != (info.arguments != Arguments::none) &&
      info.arguments != Arguments::optional_message) {
    return make_error_code(errc::invalid_argument);
  }
  if (auto ec = check_allowed(c)) return ec;
  if (has_line_breaking_octet(args)) return make_error_code(errc::invalid_argument);
  const std::string_view keyword = info.name;
  const std::size_t length = keyword.size() + (args.empty() ? 0 : 1 + args.size()) + 2;
  if (length > limits_.max_command) return make_error_code(errc::command_too_long);

  const std::size_t start = out_.size();
  const std::uint64_t start_total = out_total_;
  out_.reserve(start + length);
  append_output(keyword);
  if (!args.empty()) {
    append_output(" ");
    append_output(args);
  }
  append_output("\r\n");
  queue_.push_back({c, info.multi_line(has_argument), argument, length, start_total});
  outstanding_bytes_ += length;
  if (info.ends_session && state_ == State::transaction) {
    transition(State::update, c, "queued");
  }
  if (trace_) {
    if (redacted.empty()) {
      trace(TraceDirection::sent, std::string_view(out_).substr(start, length - 2));
    } else {
      trace(TraceDirection::sent, std::string(keyword) + " " + std::string(redacted));
    }
  }
  return {};
}

std::error_code Engine::user(std::string_view name) {
  return send(Command::user, name);
}

std::error_code Engine::pass(std::string_view password) {
  return send(Command::pass, password, 0, "<redacted>");
}

std::error_code Engine::apop(std::string_view name, std::string_view digest) {
  const bool hex_digest =
      digest.size() == 32 && std::all_of(digest.begin(), digest.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
      });
  // The name is one token: a space would shift the digest into the name.
  if (name.empty() || name.find(' ') != std::string_view::npos || !hex_digest) {
    return make_error_code(errc::invalid_argument);
  }
  const std::string args = std::string(name) + " " + std::string(digest);
  return send(Command::apop, args, 0, std::string(name) + " <redacted>");
}

std::error_code Engine::numbered(Command c, std::uint64_t number) {
  if (number == 0) return make_error_code(errc::invalid_argument);
  return send(c, number_string(number), number);
}

std::error_code Engine::stat() {
  return send(Command::stat, {});
}
std::error_code Engine::list() {
  return send(Command::list, {});
}
std::error_code Engine::list(std::uint64_t number) {
  return numbered(Command::list, number);
}
std::error_code Engine::retr(std::uint64_t number) {
  return numbered(Command::retr, number);
}
std::error_code Engine::dele(std::uint64_t number) {
  return numbered(Command::dele, number);
}
std::error_code Engine::noop() {
  return send(Command::noop, {});
}
std::error_code Engine::rset() {
  return send(Command::rset, {});
}
std::error_code Engine::quit() {
  return send(Command::quit, {});
}
std::error_code Engine::uidl() {
  return send(Command::uidl, {});
}
std::error_code Engine::uidl(std::uint64_t number) {
  return numbered(Command::uidl, number);
}
std::error_code Engine::capa() {
  return send(Command::capa, {});
}
std::error_code Engine::utf8() {
  auto ec = send(Command::utf8, {});
  if (!ec) utf8_sent_ = true;
  return ec;
}

std::error_code Engine::stls() {
  return send(Command::stls, {});
}

std::error_code Engine::auth(std::string_view mechanism, std::optional<std::string_view> initial) {
  const bool token =
      !mechanism.empty() && std::all_of(mechanism.begin(), mechanism.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '-' || ch == '_';
      });
  if (!token) return make_error_code(errc::invalid_argument);
  std::string args(mechanism);
  if (initial) {
    args += ' ';
    args += initial->empty() ? std::string_view("=") : *initial;
  }
  auto ec = send(Command::auth, args, 0,
                 initial ? std::string(mechanism) + " <redacted>" : std::string());
  if (!ec) {
    sasl_cancelled_ = false;
    challenges_ = 0;
  }
  return ec;
}

std::error_code Engine::sasl_response(std::string_view base64) {
  if (failed()) return make_error_code(errc::engine_failed);
  if (!challenge_waiting_) return make_error_code(errc::wrong_state);
  if (has_line_breaking_octet(base64)) return make_error_code(errc::invalid_argument);
  challenge_waiting_ = false;
  append_output(base64);
  append_output("\r\n");
  trace(TraceDirection::sent, "<redacted SASL response>");
  return {};
}

std::error_code Engine::sasl_cancel() {
  if (failed()) return make_error_code(errc::engine_failed);
  if (!challenge_waiting_) return make_error_code(errc::wrong_state);
  challenge_waiting_ = false;
  sasl_cancelled_ = true;
  append_output("*\r\n");
  trace(TraceDirection::sent, "*");
  return {};
}

std::error_code Engine::top(std::uint64_t number, std::uint64_t lines) {
  if (number == 0) return make_error_code(errc::invalid_argument);
  return send(Command::top, number_string(number) + " " + number_string(lines), number);
}

// ---- Output -----------------------------------------------------------------

std::string_view Engine::pending_output() const noexcept {
  return std::string_view(out_).substr(out_pos_);
}

void Engine::append_output(std::string_view bytes) {
  out_ += bytes;
  out_total_ += bytes.size();
}

void Engine::consume_output(std::size_t n) noexcept {
  n = std::min(n, out_.size() - out_pos_);
  out_consumed_ += n;
  out_pos_ += n;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
}

State Engine::state() const noexcept {
  return state_;
}

}  // namespace pop3kit::proto
