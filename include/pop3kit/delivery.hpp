/// pop3kit — delivery: where fetched messages go (Maildir, mbox, a command).
///
/// A Destination stores messages as the server sent them, dot-unstuffed (the
/// engine did that), with CRLF line ends turned into LF, which is what
/// Maildir and mbox readers expect (a lone CR is kept). Nothing is added: no
/// trace header, so a delivered message is byte for byte the server's message
/// with LF line ends. The state store (pop3kit/state.hpp) records which UID
/// went where.
///
/// The life of one message, driven by fetch_account() (pop3kit/fetch.hpp):
///
///     reserve(uid)   -> Reservation: the name the message will get, decided
///                       BEFORE anything is written, so that the state store can
///                       record the intent to deliver it under that name
///     begin(res)     -> starts writing it (Maildir: tmp/NAME, created with
///                       O_EXCL|O_NOFOLLOW; mbox: appends at the end; MDA: starts
///                       the command)
///     write(chunk)*  -> the message's bytes as the server sent them (CRLF)
///     end()          -> complete; for Maildir and mbox NOT yet durable
///     abort()        -> the message failed: what was written is removed
///     commit()       -> every message ended since the last commit is made
///                       durable and visible together (one group of disk
///                       flushes for a whole batch, not one per message)
///
/// After a crash, recover(res) looks at the destination and says whether,
/// and where, a message whose intent was recorded but whose delivery was not
/// confirmed is there (Maildir: in new/ or cur/, where a reader may have
/// moved it and added flags), and removes any partial trace of it (Maildir:
/// its tmp/ file; mbox: truncates back to where the batch started).
///
/// A Destination is used by one thread at a time. Errors are pop3kit Errors
/// (errc::sink_failed, with the path and the system's reason in the message);
/// an error from begin/write/end leaves no partial message visible to readers.
///
/// @file
/// @ingroup fetch
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/temporary_files.hpp"

namespace pop3kit::store {

/// Where one message will be delivered, decided before it is written.
struct POP3KIT_EXPORT Reservation {
  std::string uid;           ///< The message's UID (empty without UIDL).
  std::string name;          ///< Maildir: the unique base name (no ",S=" and no ":2,"
                             ///< info: those are added when the size is known and by
                             ///< readers); mbox: the "From " line it starts with;
                             ///< MDA: empty.
  std::uint64_t offset = 0;  ///< mbox: the file size when the batch started.
};

/// A message that end() completed.
struct POP3KIT_EXPORT Stored {
  std::string location;    ///< Maildir: "new/NAME,S=SIZE"; mbox: the offset; MDA: "".
  std::uint64_t size = 0;  ///< Octets stored (after CRLF -> LF).
};

/// How many messages commit() makes durable at once, and what a delivery is
/// worth after a crash.
enum class Durability : std::uint8_t {
  batched,      ///< Maildir, mbox: commit() flushes a whole batch; exactly once
                ///< with the state store when the server has UIDL.
  per_message,  ///< MDA: delivered when the command exits 0; a crash between
                ///< that and the state store's commit delivers it again
                ///< (at least once).
};

/// Where fetched messages go: a Maildir, an mbox or a command. See the file
/// comment for the life of one message; made by parse_destination().
class POP3KIT_EXPORT Destination {
 public:
  virtual ~Destination() = default;
  Destination() = default;
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;

  /// "maildir:/abs/path", "mbox:/abs/path" or "mda:COMMAND": what
  /// parse_destination() reads back (paths made absolute).
  virtual const std::string& spec() const noexcept = 0;
  /// What commit() covers and a delivery is worth after a crash.
  virtual Durability durability() const noexcept = 0;

  /// Makes the destination ready: creates a missing Maildir (with cur/,
  /// new/, tmp/, mode 0700) or mbox (0600), checks it is writable, takes
  /// the mbox locks (fcntl and dot-lock, held until the object is
  /// destroyed). Call once, before anything else; cheap to call before
  /// connecting so a bad destination costs no login.
  virtual Result<void> open() = 0;

  /// The name message `uid` will get, decided before anything is written.
  virtual Result<Reservation> reserve(std::string_view uid) = 0;
  /// Starts writing the reserved message.
  virtual Result<void> begin(const Reservation& reservation) = 0;
  /// The message's next bytes as the server sent them (CRLF line ends).
  virtual Result<void> write(std::string_view chunk) = 0;
  /// The message is complete; for Maildir and mbox not yet durable.
  virtual Result<Stored> end() = 0;
  /// The message failed: what was written of it is removed.
  virtual void abort() noexcept = 0;
  /// Makes every message ended since the last commit durable and visible.
  virtual Result<void> commit() = 0;

  /// The work of a commit that may run on another thread (see seal()).
  using CommitJob = std::function<Result<void>()>;
  /// Takes every message ended since the last commit out of the
  /// destination and returns the work that makes them durable and visible,
  /// so that a caller can run it on another thread while this destination
  /// goes on writing later messages (commit() is seal() with the job run at
  /// once). Jobs must run in the order they were sealed, one at a time, and
  /// before the destination is destroyed. The default commits at once and
  /// returns a job with nothing left to do; Maildir hands over its whole
  /// commit (flush, moves into new/, directory flushes).
  virtual Result<CommitJob> seal() {
    if (auto r = commit(); !r) return std::move(r).error();
    return CommitJob([] { return Result<void>(); });
  }

  /// True when the job of every seal() (or commit()) makes the file at
  /// `path` durable too, before it makes any message visible: a Maildir's
  /// syncfs(2) flushes the whole file system its tmp/ is on. fetch_account()
  /// then records a batch's intents without a flush of their own
  /// (StateStore::IntentFlush::by_caller). False when unknown (the default).
  virtual bool flush_covers(const std::string& path) const noexcept {
    (void)path;
    return false;
  }

  /// After a crash: where the reserved message is when it is at the
  /// destination (delivered; only Durability::batched destinations can
  /// tell), as end() would have said it (Maildir: "new/NAME,S=SIZE", or
  /// "cur/NAME,S=SIZE:2,FLAGS" once a reader moved it); nullopt when it is
  /// not (and nothing of it is left). Errors when the destination cannot be
  /// read.
  virtual Result<std::optional<Stored>> recover(const Reservation& reservation) = 0;
};

/// Options of parse_destination().
struct POP3KIT_EXPORT DestinationOptions {
  /// MDA: keep CRLF line ends on the command's input instead of LF.
  bool mda_crlf = false;
  /// MDA: how long one delivery may take. A command still running then is
  /// stopped (SIGTERM to its process group, SIGKILL 5 s later) and the
  /// message fails with errc::sink_failed: a hung command never hangs the
  /// fetch. What the command did with the message is its own business, so
  /// a command that delivered and then hung may get the message again.
  std::chrono::milliseconds mda_timeout = std::chrono::minutes(5);
  /// mbox: how long open() waits for another program's dot-lock or fcntl
  /// lock before it fails with errc::temporary_failure. A dot-lock not
  /// touched for 5 minutes is taken as stale and removed (pop3kit touches
  /// its own while it holds it).
  std::chrono::milliseconds lock_wait = std::chrono::seconds(10);
  /// Maildir: where its tmp/ files are recorded while they exist, so that a
  /// program ended by a signal can remove them (pop3kit/temporary_files.hpp;
  /// the Maildir spec allows them to stay, and recovery removes them on the
  /// next run, but nothing need be left). Not owned; must outlive the
  /// destination. nullptr: not recorded.
  TemporaryFiles* temporary_files = nullptr;
};

/// "maildir:PATH", "mbox:PATH" or "mda:COMMAND" (run with /bin/sh -c; the
/// message on its standard input; exit 0 means delivered). A relative PATH
/// is made absolute; "~/" at its start is the home directory. Errors:
/// errc::invalid_argument with a message naming the three forms.
POP3KIT_EXPORT Result<std::unique_ptr<Destination>> parse_destination(
    std::string_view spec, const DestinationOptions& options = {});

}  // namespace pop3kit::store
