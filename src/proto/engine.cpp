#include "pop3kit/engine.hpp"

#include <algorithm>
#include <cstring>

#include "engine_internal.hpp"
#include "parse.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::proto {

using detail::next_token;
using detail::number_string;
using detail::parse_u64;

const CommandInfo& command_info(Command c) noexcept {
  const auto i = static_cast<std::size_t>(c);
  return i < detail::kCommandCount ? detail::kCommands[i] : detail::kCommands[0];
}

const char* to_string(Command c) noexcept {
  return command_info(c).name;
}

const char* to_string(State s) noexcept {
  switch (s) {
    case State::greeting:
      return "GREETING";
    case State::authorization:
      return "AUTHORIZATION";
    case State::transaction:
      return "TRANSACTION";
    case State::update:
      return "UPDATE";
    case State::closed:
      return "CLOSED";
  }
  return "";
}

Engine::Engine(Limits limits) : limits_(limits) {
  limits_.max_line = std::max<std::size_t>(limits_.max_line, 8);
  limits_.receive_buffer = std::max(limits_.receive_buffer, 2 * limits_.max_line);
  buf_.resize(limits_.receive_buffer);
}

// ---- Input ------------------------------------------------------------------

std::span<char> Engine::receive_space() {
  if (rpos_ > 0) {
    // Only the unparsed tail moves: at most a partial line or a held-back
    // ".\r" at a line start, so this copy is small.
    std::memmove(buf_.data(), buf_.data() + rpos_, wpos_ - rpos_);
    wpos_ -= rpos_;
    rpos_ = 0;
  }
  return {buf_.data() + wpos_, buf_.size() - wpos_};
}

void Engine::commit_received(std::size_t n) {
  n = std::min(n, buf_.size() - wpos_);
  // Nothing asked for it: it is no answer to whatever is queued next.
  if (n > 0 && queue_.empty() && state_ != State::greeting && !failed()) stray_ = true;
  wpos_ += n;
}

std::size_t Engine::feed(std::string_view bytes) {
  const auto space = receive_space();
  const std::size_t n = std::min(space.size(), bytes.size());
  if (n > 0) std::memcpy(space.data(), bytes.data(), n);
  commit_received(n);
  return n;
}

void Engine::receive_eof() {
  eof_ = true;
}

bool Engine::wants_read() const noexcept {
  return !failed() && (state_ == State::greeting || !queue_.empty());
}

bool Engine::awaiting_response() const noexcept {
  if (failed()) return false;
  return state_ == State::greeting || (!queue_.empty() && queue_.front().start < out_consumed_);
}

// ---- Events -----------------------------------------------------------------

Event Engine::fail(errc code, std::string message) {
  if (!error_) {
    error_ = make_error_code(code);
    error_message_ = std::move(message);
  }
  return Failed{error_, error_message_};
}

void Engine::trace(TraceDirection d, std::string_view line) const {
  if (trace_) trace_(d, line);
}

Engine::LineResult Engine::next_line(std::string_view& line) {
  const std::size_t avail = wpos_ - rpos_;
  const char* s = buf_.data() + rpos_;
  const void* hit = std::memchr(s, '\n', std::min(avail, limits_.max_line));
  if (hit == nullptr) {
    if (avail < limits_.max_line) return LineResult::need;
    const char* what = queue_.empty() ? "greeting" : to_string(queue_.front().command);
    fail(errc::line_too_long, std::string("response line (") + what + ") longer than " +
                                  number_string(limits_.max_line) + " octets");
    return LineResult::failed;
  }
  const auto n = static_cast<std::size_t>(static_cast<const char*>(hit) - s);
  if (n == 0 || s[n - 1] != '\r') {
    fail(errc::bare_line_feed,
         "response line ends in LF without CR: '" + sanitize(std::string_view(s, n), 80) + "'");
    return LineResult::failed;
  }
  line = std::string_view(s, n - 1);
  rpos_ += n + 1;
  trace(TraceDirection::received, line);
  return LineResult::ok;
}

Event Engine::need_data() {
  if (!eof_) return NeedData{};
  if (state_ == State::greeting) {
    return fail(errc::connection_closed, "connection closed before the greeting");
  }
  if (!queue_.empty()) {
    const char* where = phase_ == Phase::body ? "in the middle of the response to "
                                              : "while waiting for the response to ";
    return fail(errc::connection_closed,
                std::string("connection closed ") + where + to_string(queue_.front().command));
  }
  transition(State::closed, Command::none, "connection closed");
  return NeedData{};
}

Event Engine::next_event() {
  if (failed()) return Failed{error_, error_message_};
  if (has_deferred_) {
    has_deferred_ = false;
    return deferred_;
  }
  if (stray_) {
    return fail(errc::unexpected_data, "server sent data while no response was expected");
  }
  if (phase_ == Phase::body) return on_body();
  if (state_ != State::greeting && queue_.empty()) {
    if (rpos_ < wpos_) {
      // Not quoted: how much of it has arrived depends on how the reads fell.
      return fail(errc::unexpected_data, "server sent data while no response was expected");
    }
    return need_data();
  }
  std::string_view line;
  switch (next_line(line)) {
    case LineResult::need:
      return need_data();
    case LineResult::failed:
      return Failed{error_, error_message_};
    case LineResult::ok:
      break;
  }
  if (state_ == State::greeting) return on_greeting(line);
  if (phase_ == Phase::lines) return on_list_line(line);
  return on_status(line);
}

Event Engine::on_greeting(std::string_view line) {
  detail::StatusLine sl;
  if (!detail::parse_status_line(line, sl)) {
    return fail(errc::bad_greeting,
                "greeting is neither +OK nor -ERR: '" + sanitize(line, 80) + "'");
  }
  if (sl.ok) {
    transition(State::authorization, Command::none, "greeting +OK");
  } else {
    transition(State::closed, Command::none, "greeting -ERR");
  }
  Greeting g{sl.ok, sl.code, sl.text, {}};
  if (sl.ok) g.apop_timestamp = detail::find_apop_timestamp(sl.text, limits_.max_timestamp);
  return g;
}

Event Engine::on_status(std::string_view line) {
  const Pending p = queue_.front();
  const CommandInfo& info = detail::info(p.command);
  const std::string what = info.name;
  if (p.command == Command::auth && (line == "+" || line.starts_with("+ "))) {
    if (challenge_waiting_) {
      return fail(errc::malformed_response,
                  "AUTH: a second challenge came before the first was answered");
    }
    // RFC 5034 §4: after "*" the server must reject the exchange. Another
    // challenge would be answered by another "*", for ever.
    if (sasl_cancelled_) {
      return fail(errc::bad_sasl_exchange,
                  "AUTH: the server sent a challenge after the client cancelled the exchange");
    }
    if (++challenges_ > limits_.max_sasl_challenges) {
      return fail(errc::bad_sasl_exchange, "AUTH: more than " +
                                               number_string(limits_.max_sasl_challenges) +
                                               " challenges in one exchange");
    }
    challenge_waiting_ = true;
    return SaslChallenge{line.size() > 2 ? line.substr(2) : std::string_view{}};
  }
  detail::StatusLine sl;
  if (!detail::parse_status_line(line, sl)) {
    return fail(errc::bad_status,
                "response to " + what + " is neither +OK nor -ERR: '" + sanitize(line, 80) + "'");
  }
  const Status st{p.command, sl.ok, sl.code, sl.text};
  if (p.command == Command::auth) challenge_waiting_ = false;
  if (p.command == Command::stls && sl.ok && rpos_ != wpos_) {
    // Bytes that came before the handshake are not protected by it: using
    // them would let a man in the middle inject responses.
    return fail(errc::unexpected_data,
                "data followed the STLS +OK before TLS started (response injection)");
  }
  if (!sl.ok) {
    complete(false);
    return st;
  }
  if (p.multi_line) {
    phase_ = info.content == Content::body ? Phase::body : Phase::lines;
    line_start_ = true;
    prev_cr_ = false;
    capabilities_ = 0;
    return st;
  }
  std::string_view rest = sl.text;
  if (info.content == Content::stat) {
    StatReply r;
    const auto count = next_token(rest);
    const auto size = next_token(rest);
    if (!parse_u64(count, r.count)) {
      return fail(errc::malformed_response,
                  "STAT response: message count '" + sanitize(count, 40) + "' is not a number");
    }
    if (!parse_u64(size, r.size)) {
      return fail(errc::malformed_response,
                  "STAT response: maildrop size '" + sanitize(size, 40) + "' is not a number");
    }
    deferred_ = r;
    has_deferred_ = true;
  } else if (info.content == Content::list || info.content == Content::uidl) {
    Event entry = parse_entry(p.command, rest);
    if (std::holds_alternative<Failed>(entry)) return entry;
    const std::uint64_t got = info.content == Content::list ? std::get<ListEntry>(entry).number
                                                            : std::get<UidlEntry>(entry).number;
    if (got != p.argument) {
      return fail(errc::malformed_response, what + " " + number_string(p.argument) +
                                                " answered for message " + number_string(got));
    }
    deferred_ = entry;
    has_deferred_ = true;
  }
  complete(true);
  return st;
}

Event Engine::parse_entry(Command c, std::string_view rest) {
  const std::string what = to_string(c);
  const Content content = detail::info(c).content;
  const auto number = next_token(rest);
  std::uint64_t n = 0;
  if (!parse_u64(number, n) || n == 0) {
    return fail(errc::malformed_response,
                what + " response: message number '" + sanitize(number, 40) + "' is not valid");
  }
  if (content == Content::list) {
    const auto size = next_token(rest);
    ListEntry e{n, 0};
    if (!parse_u64(size, e.size)) {
      return fail(errc::malformed_response, "LIST response: size '" + sanitize(size, 40) +
                                                "' of message " + number_string(n) +
                                                " is not a number");
    }
    return e;
  }
  // UIDL: the rest of the line is the unique-id.
  if (rest.empty()) {
    return fail(errc::malformed_uid,
                "UIDL response: message " + number_string(n) + " has no unique-id");
  }
  if (!detail::is_valid_uid(rest, limits_.max_uid_length)) {
    return fail(errc::malformed_uid,
                "UIDL response: unique-id of message " + number_string(n) + " is longer than " +
                    number_string(limits_.max_uid_length) +
                    " octets or has octets outside 0x21-0x7E: '" + sanitize(rest, 80) + "'");
  }
  return UidlEntry{n, rest};
}

Event Engine::on_list_line(std::string_view line) {
  const Command c = queue_.front().command;
  if (line == ".") {
    complete(true);
    return End{c};
  }
  if (line.starts_with('.')) line.remove_prefix(1);  // dot-stuffed (RFC 1939 §3)
  if (detail::info(c).content != Content::capabilities) return parse_entry(c, line);
  if (++capabilities_ > limits_.max_capabilities) {
    return fail(
        errc::too_many_capabilities,
        "CAPA response has more than " + number_string(limits_.max_capabilities) + " lines");
  }
  std::string_view rest = line;
  const auto name = next_token(rest);
  if (name.empty()) return fail(errc::malformed_response, "CAPA response has an empty line");
  return Capability{name, rest};
}

// The body path. Bytes between line starts go out as views without copying;
// only a line start needs a look at up to three octets, to tell the
// terminator ".\r\n" from a stuffed dot. A line start is the octet after
// CRLF: a bare LF inside the message does not start a line, so message
// content cannot end the response early.
Event Engine::on_body() {
  const Command c = queue_.front().command;
  const char* const b = buf_.data();
  std::size_t p = rpos_;
  const std::size_t e = wpos_;
  if (p == e) return need_data();
  if (line_start_) {
    if (b[p] == '.') {
      if (e - p < 2) return need_data();
      if (b[p + 1] == '\r') {
        if (e - p < 3) return need_data();
        if (b[p + 2] == '\n') {
          rpos_ = p + 3;
          complete(true);
          return End{c};
        }
      }
      rpos_ = ++p;  // drop the stuffing dot
      prev_cr_ = false;
    }
    line_start_ = false;
    if (p == e) return need_data();
  }
  std::size_t q = p;
  for (;;) {
    const void* hit = std::memchr(b + q, '\n', e - q);
    if (hit == nullptr) {
      prev_cr_ = b[e - 1] == '\r';
      rpos_ = e;
      return BodyChunk{c, std::string_view(b + p, e - p)};
    }
    const auto n = static_cast<std::size_t>(static_cast<const char*>(hit) - b);
    const bool crlf = n > p ? b[n - 1] == '\r' : prev_cr_;
    q = n + 1;
    if (!crlf) continue;
    if (q == e || b[q] == '.') {
      line_start_ = true;
      prev_cr_ = false;
      rpos_ = q;
      return BodyChunk{c, std::string_view(b + p, q - p)};
    }
  }
}

// The front command is fully answered.
void Engine::complete(bool ok) {
  const Command c = queue_.front().command;
  outstanding_bytes_ -= queue_.front().length;
  queue_.pop_front();
  if (queue_.empty() && rpos_ < wpos_) stray_ = true;
  phase_ = Phase::status;
  user_accepted_ = ok && c == Command::user;
  const CommandInfo& info = detail::info(c);
  if (info.ends_session) {
    // QUIT -ERR ("some deleted messages not removed") still ends the session.
    transition(State::closed, c, ok ? "+OK" : "-ERR");
  } else if (ok && info.logs_in && state_ == State::authorization) {
    transition(State::transaction, c, "+OK");
  }
}

// The only writer of state_.
void Engine::transition(State to, Command command, const char* why) {
  if (to == state_) return;
  const State from = state_;
  state_ = to;
  if (state_trace_) state_trace_(StateChange{from, to, command, why});
}

}  // namespace pop3kit::proto
