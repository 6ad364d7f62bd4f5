// Transcript runner: feeds a server's bytes to the engine at every split and
// checks that the events (rendered as text) and the bytes the engine wants to
// send are the same for every split.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/engine.hpp"

namespace pop3kit::test {

/// Renders one event as a line of text. Body chunks render as "body:" + data;
/// the runner merges consecutive chunks so that splits do not show.
std::string render(const proto::Event& ev);

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
};

/// Runs the transcript with the server bytes cut into `chunk`-sized pieces
/// (0 = all at once). `zero_copy` uses receive_space()/commit_received()
/// instead of feed(). Asserts the engine's invariants as it goes (no empty
/// body chunk, Failed repeats).
Outcome run(const Transcript& t, std::size_t chunk, bool zero_copy = false);

/// Runs the transcript whole, then at every chunk size from 1 to
/// max_chunk (or to the input length) and at every two-piece split, with both
/// input paths, and checks each run gives the same outcome as the whole run.
/// Returns that outcome.
Outcome run_all_splits(const Transcript& t, std::size_t max_chunk = 600);

}  // namespace pop3kit::test
