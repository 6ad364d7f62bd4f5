// The engine's command side: encoding, the state checks, the output buffer.
#include <algorithm>

#include "engine_internal.hpp"
#include "pop3kit/engine.hpp"

namespace pop3kit::proto {

using detail::after_success;
using detail::allowed_in;
using detail::has_line_breaking_octet;
using detail::number_string;

// ---- Commands ---------------------------------------------------------------

std::error_code Engine::check_allowed(Command c) const {
  if (failed()) return make_error_code(errc::engine_failed);
  if (!allowed_in(projected_, c)) return make_error_code(errc::wrong_state);
  // After STLS the next bytes are a TLS handshake; after AUTH they are SASL
  // responses. After PASS or APOP the server may hand the connection to
  // another process (Courier's login process authenticates, then starts the
  // mail process, and what it had buffered is gone): RFC 2449's PIPELINING
  // does not promise that commands sent before that state change survive it.
  // So nothing may follow any of these on the wire until it is answered.
  if (!queue_.empty()) {
    switch (queue_.back().command) {
      case Command::stls:
      case Command::auth:
      case Command::pass:
      case Command::apop:
        return make_error_code(errc::wrong_state);
      default:
        break;
    }
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
                             bool has_argument, std::string_view redacted) {
  if (auto ec = check_allowed(c)) return ec;
  if (has_line_breaking_octet(args)) return make_error_code(errc::invalid_argument);
  const std::string_view keyword = to_string(c);
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
  queue_.push_back({c, has_argument, argument, length, start_total});
  outstanding_bytes_ += length;
  projected_ = after_success(projected_, c);
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
  if (name.empty()) return make_error_code(errc::invalid_argument);
  return send(Command::user, name);
}

std::error_code Engine::pass(std::string_view password) {
  if (password.empty()) return make_error_code(errc::invalid_argument);
  return send(Command::pass, password, 0, false, "<redacted>");
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
  return send(Command::apop, args, 0, false, std::string(name) + " <redacted>");
}

std::error_code Engine::numbered(Command c, std::uint64_t number) {
  if (number == 0) return make_error_code(errc::invalid_argument);
  return send(c, number_string(number), number, true);
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
  auto ec = send(Command::auth, args, 0, false,
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
  return send(Command::top, number_string(number) + " " + number_string(lines), number, true);
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
  // QUIT sent in TRANSACTION and not yet answered: the server is in UPDATE.
  if (state_ == State::transaction && projected_ == State::update) return State::update;
  return state_;
}

}  // namespace pop3kit::proto
