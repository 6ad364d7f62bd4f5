/// pop3kit — the record of what was fetched, in SQLite.
///
/// One database (default $XDG_STATE_HOME/pop3kit/state.db, else
/// ~/.local/state/pop3kit/state.db), in WAL mode with synchronous=FULL: a
/// committed call survives a crash and a power cut. Nothing here is a
/// home-made journal: SQLite does the atomic commits, the recovery and the
/// locking, and a person can ask it "did I get that message?":
///
///   sqlite3 ~/.local/state/pop3kit/state.db "SELECT * FROM messages WHERE uid = '...'"
///
/// Records are keyed by account (AccountId::key()) and UID. A message moves
/// through three states:
///
///   intent     recorded before it is written: the destination and the name
///              it will get (Reservation). A crash leaves it here; the next
///              run looks at the destination (Destination::recover) and
///              either confirms it or forgets it.
///   delivered  durable at its destination. Never fetched again (unless
///              asked with --all); with --delete, DELE'd on the next session.
///   deleted    the server answered +OK to the QUIT that followed its DELE.
///
/// Every call that changes records is one transaction: a batch of messages
/// costs one commit (one disk flush), not one per message.
///
/// Two fetchers of one account exclude each other with lock(): an flock(2)
/// on a file beside the database (released by the kernel when a holder
/// dies, so a crash never leaves a stale lock), which records the holder's
/// pid, host and start time so that the one waiting can name it.
///
/// A StateStore may be used from several threads: its calls are serialised.
///
/// Errors (pop3kit Errors): errc::sink_failed for a database that cannot be
/// opened, created, read or written (the message names the path and
/// SQLite's reason: "database disk image is malformed", "attempt to write a
/// readonly database", ...); errc::temporary_failure when the database or
/// the account lock stays busy past the wait.
///
/// @file
/// @ingroup fetch
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/delivery.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::store {

/// Who the records belong to.
struct POP3KIT_EXPORT AccountId {
  std::string name;        ///< The config file's account name, or "" for a URL given alone.
  std::string user;        ///< The login name.
  std::string host;        ///< The server's host name, as given.
  std::uint16_t port = 0;  ///< The server's port.
  /// "NAME|user@host:port" (the name part empty for a URL alone): the key
  /// of the account's records.
  std::string key() const;
};

/// Where a message is in its life (see the file comment).
enum class MessageState : std::uint8_t {
  intent,     ///< Recorded before it is written.
  delivered,  ///< Durable at its destination.
  deleted,    ///< Removed by the server (QUIT answered +OK after its DELE).
};

/// What the store knows of one UID of an account.
struct POP3KIT_EXPORT MessageRecord {
  std::string uid;                            ///< The message's UID.
  MessageState state = MessageState::intent;  ///< Where it is in its life.
  std::string destination;                    ///< Destination::spec() it was (to be) delivered to.
  Reservation reservation;                    ///< The name it was reserved under (uid included).
  std::string location;                       ///< Stored::location once delivered.
  std::uint64_t size = 0;                     ///< Stored::size once delivered.
};

/// A delivery confirmed durable.
struct POP3KIT_EXPORT DeliveredMessage {
  std::string uid;  ///< The message's UID.
  Stored stored;    ///< Where it is and its size (Destination::end()).
};

/// Options of StateStore::open().
struct POP3KIT_EXPORT StateOptions {
  /// How long a call waits for another process's write transaction on the
  /// same database (SQLite's busy timeout) before failing with
  /// errc::temporary_failure.
  std::chrono::milliseconds busy_timeout{5000};
};

/// Held while an account is being fetched; released by the destructor (and
/// by the kernel if the process dies).
class POP3KIT_EXPORT AccountLock {
 public:
  AccountLock() = default;
  ~AccountLock();
  /// Takes `other`'s lock; `other` then holds none.
  AccountLock(AccountLock&& other) noexcept;
  /// Releases this lock, if held, and takes `other`'s.
  AccountLock& operator=(AccountLock&& other) noexcept;
  AccountLock(const AccountLock&) = delete;
  AccountLock& operator=(const AccountLock&) = delete;
  /// True while the lock is held (not default-constructed or moved from).
  bool held() const noexcept { return fd_ >= 0; }

 private:
  friend class StateStore;
  int fd_ = -1;
};

/// The state database: see the file comment for its records, transactions
/// and errors.
class POP3KIT_EXPORT StateStore {
 public:
  /// $XDG_STATE_HOME/pop3kit/state.db when XDG_STATE_HOME is an absolute
  /// path, else $HOME/.local/state/pop3kit/state.db; "" when neither
  /// variable nor the password database gives a home directory.
  static std::string default_path();

  /// Opens (or creates, with mode 0600, its missing directories 0700) the
  /// database and checks that it is a pop3kit state database of a version
  /// this code reads, that it is not damaged (PRAGMA quick_check) and that
  /// it can be written. A file that is not one, is damaged, belongs to
  /// another program or to a newer pop3kit is an error that names the path
  /// and says to move it away: it is never overwritten or "repaired".
  static Result<StateStore> open(const std::string& path, const StateOptions& options = {});

  /// Moves the open database; the moved-from store may only be destroyed
  /// or assigned to.
  StateStore(StateStore&&) noexcept;
  /// Closes this database and takes the other's.
  StateStore& operator=(StateStore&&) noexcept;
  /// Closes the database.
  ~StateStore();

  /// The database file, as given to open().
  const std::string& path() const noexcept { return path_; }

  /// Takes the account's lock (an flock(2) on PATH.locks/HASH.lock, HASH
  /// the hex SHA-256 of AccountId::key()), waiting up to `wait` for another
  /// fetcher to let go. errc::temporary_failure when it does not, with a
  /// message that names the holder ("account NAME is being fetched by pid
  /// 123 on HOST since 2026-12-01 22:40:05 UTC"). Another lock() of the same
  /// account in the same process waits too: the lock belongs to the
  /// AccountLock, not to the process.
  Result<AccountLock> lock(const AccountId& account, std::chrono::milliseconds wait);

  /// Every record of the account.
  Result<std::vector<MessageRecord>> records(const AccountId& account);
  /// Records in state intent (interrupted deliveries).
  Result<std::vector<MessageRecord>> pending(const AccountId& account);

  /// How record_intents() makes its transaction durable.
  enum class IntentFlush : std::uint8_t {
    now,        ///< Durable before the call returns.
    by_caller,  ///< Committed without a flush; the caller flushes the file system.
  };

  /// Records the intent to deliver each reserved message to `destination`
  /// (replacing an earlier record of the same UID: --all fetches again; the
  /// replaced record is kept aside until the intent is resolved). UIDs must
  /// not be empty: a server without UIDL gives nothing to key a record by
  /// (errc::invalid_argument, nothing recorded). One transaction.
  ///
  /// `flush`: IntentFlush::now makes the transaction durable before the call
  /// returns (one flush of the WAL). IntentFlush::by_caller commits it
  /// without a flush: it is atomic and survives a crash of the process, and
  /// the caller makes it durable before anything relies on it surviving a
  /// power cut, by flushing the file system that holds the database (a
  /// Maildir on the same file system flushes it with syncfs(2) before it
  /// moves any message into new/; see Destination::flush_covers()).
  Result<void> record_intents(const AccountId& account, std::string_view destination,
                              std::span<const Reservation> reservations,
                              IntentFlush flush = IntentFlush::now);
  /// intent -> delivered. A UID without an intent is a caller error
  /// (errc::invalid_argument) and nothing of the batch is recorded. One
  /// transaction.
  Result<void> mark_delivered(const AccountId& account, std::span<const DeliveredMessage> messages);
  /// Drops intents that were not delivered; where an intent had replaced an
  /// earlier record (--all), that record comes back, so a message delivered
  /// before stays known as delivered. UIDs without an intent are left as
  /// they are. One transaction.
  Result<void> forget(const AccountId& account, std::span<const std::string> uids);
  /// delivered -> deleted (after QUIT +OK); UIDs in another state are left
  /// as they are. One transaction.
  Result<void> mark_deleted(const AccountId& account, std::span<const std::string> uids);

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace pop3kit::store
