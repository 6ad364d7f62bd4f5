// Transcript runner: feeds a server's bytes to the engine at every split and
// checks that the events (rendered as text) and the bytes the engine wants to
// send are the same for every split.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/engine.hpp"

namespace pop3kit::test {

/// The lines, each followed by CRLF.
std::string crlf(std::initializer_list<std::string_view> lines);

/// Renders one event as a line of text. Body chunks render as "body:" + data;
/// the runner merges consecutive chunks so that splits do not show.
std::string render(const proto::Event& ev);

/// Renders a state change: "AUTHORIZATION -> TRANSACTION (PASS +OK)", or
/// "GREETING -> AUTHORIZATION (greeting +OK)" when no command made it.
std::string render(const proto::StateChange& c);

struct Transcript {
  /// Everything the server sends, greeting first.
  std::string server;
  /// Queues the client's commands; called once, right after the greeting event.
  std::function<void(proto::Engine&)> commands;
  /// Queues what follows the login; called once, right after the first +OK
  /// to PASS, APOP or AUTH (the engine refuses anything queued behind those
  /// before their answer).
  std::function<void(proto::Engine&)> after_login;
  /// What the server sends once that login is answered (a server cannot
  /// answer what the client has not sent yet): fed after `server`, split
  /// the same ways.
  std::string server_after_login;
  /// Call receive_eof() after the last byte.
  bool eof = false;
  proto::Limits limits{};
};

struct Outcome {
  std::vector<std::string> events;  ///< Rendered events, body chunks merged.
  std::string sent;                 ///< Everything the engine asked to send.
  std::vector<std::string> states;  ///< Every state change, rendered, in order.
};

/// Runs the transcript with the server bytes cut into `chunk`-sized pieces
/// (0 = all at once). `zero_copy` uses receive_space()/commit_received()
/// instead of feed(). Asserts the engine's invariants as it goes (no empty
/// body chunk, Failed repeats, each state change starts from the state
/// before it and state() is the last change's).
Outcome run(const Transcript& t, std::size_t chunk, bool zero_copy = false);

/// Runs the transcript whole, then at every chunk size from 1 to
/// max_chunk (or to the input length) and at every two-piece split, with both
/// input paths, and checks each run gives the same outcome (events, bytes
/// sent, state changes) as the whole run.
/// Returns that outcome.
Outcome run_all_splits(const Transcript& t, std::size_t max_chunk = 600);

}  // namespace pop3kit::test
