// pop3kit — one file per message in a directory (`pop3kit retr -o DIR`).
//
// Not a mail store: the files hold each message as the server sent it
// (CRLF line ends), named by the caller (uid_file_name() for UIDs); nothing
// is fsync'd, and nothing records what was fetched. For mail delivery see
// pop3kit/delivery.hpp and pop3kit/fetch.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "pop3kit/client.hpp"

namespace pop3kit::store {

/// A file name for a UID (0x21-0x7E by the engine's checks): "/" and "%"
/// escaped as %XX, and a leading "." too, so that no name is hidden, "."
/// or "..", and no two UIDs share a name.
std::string uid_file_name(std::string_view uid);

/// Writes each message to DIR/NAME.part, then renames it to DIR/NAME once
/// it is complete: a file under its final name is always a whole message,
/// and no .part is left behind (a message that fails or never ends has its
/// .part removed).
///
/// A MessageHandler for Client::retrieve_many; it does its file work in the
/// calls themselves, so wrap it in a Spooler (pop3kit/spooler.hpp) to
/// overlap the files with reading the socket. It never refuses data: a file
/// error is recorded for its message (errc::sink_failed, "RETR N: storing
/// the message failed: <reason>"), and the other messages go on, as with a
/// message the server refused (failed()).
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

  /// Removes the .part of a message that began and never ended (the
  /// retrieval broke off). The results below are final after it.
  void finish();

  /// Messages stored under their final name, and their octets.
  std::uint64_t stored() const { return stored_; }
  std::uint64_t octets() const { return octets_; }
  /// Messages not stored: refused by the server, cut off, or not written.
  std::size_t failures() const { return failures_.size(); }
  /// The failure of the earliest of them in the order of retrieval. Only
  /// when failures() is not 0.
  const Error& first_failure() const { return failures_.begin()->second.second; }

 private:
  // Chunks end at every dot-stuffed line: gathered, and written in blocks.
  static constexpr std::size_t kBlock = 256 * 1024;

  void write_failed(std::uint64_t number, std::error_code ec);
  void remove_part();
  std::error_code flush();

  const std::string dir_;
  const std::map<std::uint64_t, std::string> names_;

  std::string final_, part_, buffer_;
  int fd_ = -1;
  bool in_message_ = false;
  bool skipping_ = false;  // the current message failed to be written
  std::size_t next_order_ = 0, order_ = 0;
  std::uint64_t stored_ = 0, octets_ = 0;
  // By order of retrieval: number and error.
  std::map<std::size_t, std::pair<std::uint64_t, Error>> failures_;
};

}  // namespace pop3kit::store
