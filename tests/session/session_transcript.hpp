// Session transcripts: a session operation driven over an engine with no
// socket, the server's bytes fed at every split, and every run checked to
// send the same bytes and end the same way.
//
// The server answers in turns: a turn's bytes can arrive only once the
// client has sent everything the turns up to it expect, so an operation
// that waits for an answer to a command it has not sent stalls (and the
// outcome says so), and one that sends more than the server expects shows
// it in `sent`.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit::test {

struct Turn {
  std::string client;  ///< What the client sends before the server says `server`.
  std::string server;  ///< What the server then says.
};

struct Script {
  /// The greeting (read before the operation starts). Empty: the
  /// operation reads the greeting itself, sent as the first turn.
  std::string greeting = "+OK ready\r\n";
  std::vector<Turn> turns;
  /// The server closes the connection after its last byte.
  bool close = false;
  /// Want::start_tls: the driver's handshake succeeds (set_tls_active());
  /// else it fails with errc::tls_failed.
  bool tls_handshake_works = false;
  proto::Limits limits{};
};

/// The operation of one run and what it found, rendered once it is done.
class Subject {
 public:
  virtual ~Subject() = default;
  /// Called once the greeting was read, with its APOP timestamp.
  virtual session::Operation& make(std::string_view apop_timestamp) = 0;
  /// The operation to run after the last one ended (without closing the
  /// connection), or nullptr when there is none.
  virtual session::Operation* then() { return nullptr; }
  /// What the operations found besides their outcomes ("" when nothing).
  virtual std::string found() { return ""; }
};

using SubjectFactory = std::function<std::unique_ptr<Subject>()>;

struct SessionOutcome {
  std::string sent;  ///< Every byte the operation asked to send.
  /// The writes between reads: one entry per round trip.
  std::vector<std::string> batches;
  /// Each operation's: "ok", or "error NNN [code]: message"; "; " between.
  std::string outcome;
  bool closes = false;   ///< closes_connection()
  bool stalled = false;  ///< It wanted input the server would not send.
  int tls_asked = 0;     ///< Times Want::start_tls was answered.
  std::string found;     ///< Subject::found()

  bool operator==(const SessionOutcome&) const = default;
};

/// Runs once: the server's bytes cut every `chunk` octets (0: as they
/// become available), or in two at `cut` (when not 0); writes taken
/// `chunk` octets at a time. `zero_copy` reads through receive_space().
SessionOutcome run_session(const Script& script, const SubjectFactory& factory, std::size_t chunk,
                           std::size_t cut = 0, bool zero_copy = false);

/// Runs whole, then at every chunk size and every two-piece cut, both input
/// paths, and expects every run to end as the whole run did. Returns it.
SessionOutcome run_session_all_splits(const Script& script, const SubjectFactory& factory);

std::string describe(const Error& e);

}  // namespace pop3kit::test
