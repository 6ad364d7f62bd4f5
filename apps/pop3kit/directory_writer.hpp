// pop3kit command — storing the messages of a bulk retrieval, one file each.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "pop3kit/client.hpp"

namespace pop3kit::cli {

/// Writes each message to DIR/NAME.part, then renames it to DIR/NAME once it
/// is complete: a file under its final name is always a whole message, and
/// no .part is left behind (a message that fails or never ends has its .part
/// removed).
///
/// The files are written on a thread of the writer's own. The MessageHandler
/// calls (on the retrieving thread) gather each message, or each 256 KB block
/// of a large one, and hand it over through a queue bounded in bytes, then
/// return at once: creating, writing and renaming files overlaps with reading
/// the socket instead of stalling it. Memory stays bounded whatever the
/// message sizes (the queue, one block being gathered, one being written); a
/// full queue makes the retrieving thread wait.
///
/// The handler never refuses data. A file error is recorded for its message
/// (errc::sink_failed, "RETR N: storing the message failed: <reason>"), and
/// the other messages go on, as with a message the server refused (failed()).
/// finish() waits for the writer; the results are read after it.
class DirectoryWriter final : public MessageHandler {
 public:
  /// `names`: the file name for each message number that will be retrieved.
  DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names);
  /// finish(), if not done yet.
  ~DirectoryWriter() override;
  DirectoryWriter(const DirectoryWriter&) = delete;
  DirectoryWriter& operator=(const DirectoryWriter&) = delete;

  std::error_code begin(std::uint64_t number) override;
  std::error_code data(std::uint64_t number, std::string_view chunk) override;
  std::error_code end(std::uint64_t number, std::uint64_t octets) override;
  void failed(std::uint64_t number, const Error& error) override;

  /// Waits until everything handed over is written or has failed, and stops
  /// the writer thread. Call it after the retrieval, from the retrieving
  /// thread; the results below are final only after it.
  void finish();

  /// Messages stored under their final name, and their octets.
  std::uint64_t stored() const { return stored_; }
  std::uint64_t octets() const { return octets_; }
  /// Messages not stored: refused by the server, cut off, or not written.
  std::size_t failures() const { return failures_.size(); }
  /// The failure of the earliest of them in the order of retrieval. Only
  /// when failures() is not 0.
  const Error& first_failure() const { return failures_.begin()->second.second; }

  /// Most octets handed over and not yet written (the queue's bound).
  static constexpr std::size_t kMaxQueued = 4 * 1024 * 1024;

 private:
  static constexpr std::size_t kBlock = 256 * 1024;

  struct Piece {
    std::uint64_t number = 0;
    std::size_t order = 0;  // position of the message in the retrieval
    std::string data;
    bool first = true;     // opens the .part file
    bool last = false;     // completes the message: close and rename
    bool discard = false;  // the message failed after some blocks: remove
    std::uint64_t octets = 0;
  };
  // By order: number and error.
  using Failures = std::map<std::size_t, std::pair<std::uint64_t, Error>>;

  void push(Piece piece);
  void write_loop();
  void store(const Piece& piece);
  void write_failed(const Piece& piece, std::error_code ec);
  void remove_part();
  std::error_code write_all(std::string_view data) const;

  const std::string dir_;
  const std::map<std::uint64_t, std::string> names_;

  // Retrieving thread.
  Piece current_;
  bool in_message_ = false;
  std::size_t next_order_ = 0;
  Failures failures_;  // write_failures_ merged in by finish()

  // Shared, under mu_.
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<Piece> queue_;
  std::size_t queued_ = 0;
  bool closed_ = false;

  // Writer thread; read by the retrieving thread only after finish().
  std::string final_, part_;
  int fd_ = -1;
  bool skipping_ = false;
  std::uint64_t stored_ = 0, octets_ = 0;
  Failures write_failures_;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace pop3kit::cli
