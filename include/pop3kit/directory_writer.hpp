/// pop3kit — one file per message in a directory (`pop3kit retr -o DIR`).
///
/// Not a mail store: the files hold each message as the server sent it
/// (CRLF line ends), named by the caller (uid_file_name() for UIDs); nothing
/// is fsync'd, and nothing records what was fetched. For mail delivery see
/// pop3kit/delivery.hpp and pop3kit/fetch.hpp.
///
/// The directory may be shared with other programs and other users' files:
/// - Nothing outside DIR is written: DIR itself is opened without following
///   a symbolic link, and every file is made relative to that descriptor.
/// - A file is only ever created new (O_EXCL | O_NOFOLLOW): a symbolic link or
///   any file planted under a temporary name is never followed or reused.
/// - No existing file is ever replaced. A message whose name is taken (a file
///   that was there before, a second UID that maps to the same name on a
///   case-insensitive file system) is NOT stored and counts as a failure:
///   "RETR N: not stored: a file named 'NAME' is already in the directory".
///   pop3kit does not pick another name, so that a name always means one UID
///   and a rerun into the same directory never makes copies.
/// - Temporary names begin with '.', which no final name may (see
///   valid_file_name(); uid_file_name() escapes a leading '.'), so a
///   temporary file and a message file can never have the same name.
/// - Two writers into one DIR do not run at the same time: open() takes an
///   exclusive flock(2) on DIR and holds it until the writer is destroyed.
///
/// @file
/// @ingroup fetch
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "pop3kit/client.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/temporary_files.hpp"

namespace pop3kit::store {

/// A file name for a UID (0x21-0x7E by the engine's checks): "/" and "%"
/// escaped as %XX, and a leading "." too, so that no name is hidden, "."
/// or "..", no name is a DirectoryWriter's temporary name, and no two
/// UIDs share a name.
POP3KIT_EXPORT std::string uid_file_name(std::string_view uid);

/// True for a name DirectoryWriter accepts as a final name: 1 to 255
/// octets, no '/' and no NUL, and not beginning with '.' (the temporary
/// names do). Every uid_file_name() and every decimal number is one.
POP3KIT_EXPORT bool valid_file_name(std::string_view name) noexcept;

/// Options of a DirectoryWriter.
struct POP3KIT_EXPORT DirectoryOptions {
  /// How long open() waits for another writer's lock on the directory.
  std::chrono::milliseconds lock_wait{3000};
  /// Where the temporary files are recorded, so that a program ended by a
  /// signal can remove them (pop3kit/temporary_files.hpp). Not owned; must
  /// outlive the writer. nullptr: not recorded.
  TemporaryFiles* temporary_files = nullptr;
};

/// Writes each message to a temporary file in DIR, named
/// ".pop3kit-tmp-PID-N-RANDOM", and moves it to DIR/NAME once it is
/// complete, never replacing a file (renameat2 RENAME_NOREPLACE, or link and
/// unlink where the file system lacks it): a file under its final name is
/// always a whole message, and no temporary file is left behind (a message
/// that fails or never ends has its file removed).
///
/// A MessageHandler for Client::retrieve_many; it does its file work in the
/// calls themselves, so wrap it in a Spooler (pop3kit/spooler.hpp) to
/// overlap the files with reading the socket. It never refuses data: a file
/// error is recorded for its message (errc::sink_failed, "RETR N: storing
/// the message failed: <reason>" or "RETR N: not stored: ..."), and the
/// other messages go on, as with a message the server refused (failed()).
class POP3KIT_EXPORT DirectoryWriter final : public MessageHandler {
 public:
  /// `names`: the file name for each message number that will be
  /// retrieved; set_names() can give them later (after open()).
  explicit DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names = {},
                           DirectoryOptions options = {});
  /// finish(), if not done yet; releases the lock.
  ~DirectoryWriter() override;
  DirectoryWriter(const DirectoryWriter&) = delete;
  DirectoryWriter& operator=(const DirectoryWriter&) = delete;

  /// Makes DIR (mode 0700) if it is missing, opens it and locks it. Call it
  /// before the first begin(); a writer that is not open stores nothing
  /// (every message fails with errc::wrong_state).
  ///
  /// Errors: errc::temporary_failure when another process holds the lock
  /// for longer than lock_wait ("the directory 'DIR' is in use by process
  /// PID ..." with the holder's pid when /proc/locks shows it);
  /// errc::sink_failed when DIR cannot be made, is not a directory, is a
  /// symbolic link, or cannot be written to (the system's reason in the
  /// message). On a file system that cannot lock a directory (flock fails
  /// with something else than EWOULDBLOCK, as on NFS) the writer goes on
  /// without the lock: no file is replaced even then.
  Result<void> open();

  /// The file names, by message number (see `names` above).
  void set_names(std::map<std::uint64_t, std::string> names) { names_ = std::move(names); }

  std::error_code begin(std::uint64_t number) override;
  std::error_code data(std::uint64_t number, std::string_view chunk) override;
  std::error_code end(std::uint64_t number, std::uint64_t octets) override;
  void failed(std::uint64_t number, const Error& error) override;

  /// Removes the temporary file of a message that began and never ended
  /// (the retrieval broke off). The results below are final after it.
  void finish();

  /// Messages stored under their final name, and their octets.
  std::uint64_t stored() const { return stored_; }
  /// Octets of the messages stored().
  std::uint64_t octets() const { return octets_; }
  /// Messages not stored: refused by the server, cut off, not written, or
  /// whose name was taken.
  std::size_t failures() const { return failures_.size(); }
  /// The failure of the earliest of them in the order of retrieval. Only
  /// when failures() is not 0.
  const Error& first_failure() const { return failures_.begin()->second.second; }

 private:
  // Chunks end at every dot-stuffed line: gathered, and written in blocks.
  static constexpr std::size_t kBlock = 256 * 1024;

  void fail_message(std::uint64_t number, std::string text);
  void write_failed(std::uint64_t number, std::error_code ec);
  void remove_temporary();
  std::error_code flush();

  const std::string dir_;
  std::map<std::uint64_t, std::string> names_;
  const DirectoryOptions options_;
  int dir_fd_ = -1;
  bool no_renameat2_ = false;

  std::string final_, temporary_, buffer_;
  int fd_ = -1;
  bool in_message_ = false;
  bool skipping_ = false;  // the current message failed to be written
  std::size_t next_order_ = 0, order_ = 0;
  std::uint64_t counter_ = 0;
  std::uint64_t stored_ = 0, octets_ = 0;
  // By order of retrieval: number and error.
  std::map<std::size_t, std::pair<std::uint64_t, Error>> failures_;
};

}  // namespace pop3kit::store
