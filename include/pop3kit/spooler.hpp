/// pop3kit — a MessageHandler that hands a bulk retrieval to a thread of its
/// own.
///
/// fetch_account() delivers inside the pipelined retrieval: files are
/// created and written, and each batch is made durable (syncfs, renames,
/// directory fsyncs, SQLite commits); `retr -o` writes a file per message.
/// Done on the thread that reads the socket, all of that stalls the
/// reading; wrapped in a Spooler, the reading thread only
/// gathers each message's chunks into blocks and queues them, and the
/// delivery runs on the spooler's thread, so the disk and the network work
/// at the same time. The queue is bounded in bytes: memory stays bounded
/// whatever the message sizes, and a slow disk slows the reading down.
///
/// The target handler sees the calls a Client would make, in the same
/// order, on the spooler's thread only; an error it returns from begin(),
/// data() or end() is handled as the Client handles one (the rest of the
/// message is dropped and failed() follows with errc::sink_failed).
///
/// @file
/// @ingroup fetch
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pop3kit/client.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::store {

/// Runs `target`'s calls on a thread of its own, through a queue bounded in
/// bytes (see the file comment).
class POP3KIT_EXPORT Spooler final : public MessageHandler {
 public:
  /// Starts the spooler's thread; `target` must outlive the spooler.
  explicit Spooler(MessageHandler& target);
  /// finish(), if not done yet.
  ~Spooler() override;
  Spooler(const Spooler&) = delete;
  Spooler& operator=(const Spooler&) = delete;

  std::error_code begin(std::uint64_t number) override;
  std::error_code data(std::uint64_t number, std::string_view chunk) override;
  std::error_code end(std::uint64_t number, std::uint64_t octets) override;
  void failed(std::uint64_t number, const Error& error) override;

  /// Waits until the target has seen everything queued and stops the
  /// thread. A message begun and never ended (the retrieval broke off) is
  /// left begun: the caller's target cleans it up.
  void finish();

  /// Most octets queued and not yet handed over.
  static constexpr std::size_t kMaxQueued = 1024 * 1024;

 private:
  static constexpr std::size_t kBlock = 256 * 1024;
  static constexpr std::size_t kSpares = 4;  // buffers kept for reuse

  struct Piece {
    std::uint64_t number = 0;
    bool first = true;    // the message's first piece: begin() first
    bool last = false;    // completes the message: end()
    bool failed = false;  // the client called failed(): `error`
    std::string data;
    std::uint64_t octets = 0;
    Error error;
  };

  void push(Piece piece);
  void run();
  void apply(const Piece& piece);

  MessageHandler& target_;

  // Reading thread.
  Piece current_;
  bool in_message_ = false;
  std::string spare_data_;  // a used buffer for the next piece (may be empty)

  // Shared, under mu_.
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<Piece> queue_;
  std::size_t queued_ = 0;
  bool closed_ = false;
  bool waiting_ = false;             // the reading thread waits for space
  std::vector<std::string> spares_;  // emptied buffers, for the reading thread
  std::size_t spare_bytes_ = 0;      // their capacity

  // Spooler thread.
  bool skipping_ = false;

  std::thread thread_;  // last: started once everything above exists
};

}  // namespace pop3kit::store
