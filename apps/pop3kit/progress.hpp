// pop3kit command — the progress bar of `pop3kit fetch`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "pop3kit/fetch.hpp"

namespace pop3kit::cli {

/// A one-line progress bar on standard error for one account: messages
/// n/N, octets, rate and ETA, redrawn at most ten times a second. Shows
/// nothing unless `enabled` (the command enables it when standard error is a
/// terminal and -q was not given). Warnings are printed on a line of their
/// own either way (unless `quiet`).
class TerminalProgress final : public store::Progress {
 public:
  TerminalProgress(const std::string& account, bool enabled, bool quiet);
  ~TerminalProgress() override;
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  void start(std::uint64_t messages, std::uint64_t octets) override;
  void received(std::uint64_t octets) override;
  void message_done(const store::MessageRef& message, bool ok) override;
  void warning(const std::string& text) override;

  /// Erases the bar (before the summary is printed).
  void clear();

 private:
  void draw(bool force);

  std::string account_;
  bool enabled_;
  bool quiet_;
  bool shown_ = false;
  std::uint64_t total_messages_ = 0, total_octets_ = 0;
  std::uint64_t done_messages_ = 0, octets_ = 0;
  std::chrono::steady_clock::time_point started_, last_draw_;
};

/// "12.3 MiB", "512 B": octets for people.
std::string human_size(std::uint64_t octets);

}  // namespace pop3kit::cli
