// pop3kit command — the progress bars of `pop3kit fetch`: one account's
// (TerminalProgress), and many accounts' at once (progress_board.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pop3kit/fetch.hpp"

namespace pop3kit::cli {

/// How far one account is: what store::Progress was told.
struct BarState {
  std::uint64_t total_messages = 0, total_octets = 0;
  std::uint64_t done_messages = 0, octets = 0;
  std::chrono::steady_clock::time_point started;
};

/// One account's bar, without line control: "LABEL [####....] n/N messages
/// 1.2 MiB / 3.4 MiB  512.0 KiB/s  ETA 0:05". `label` is printed as given.
std::string bar_text(std::string_view label, const BarState& bar,
                     std::chrono::steady_clock::time_point now);

/// Whether `pop3kit fetch` shows progress: standard error is a terminal,
/// and none of -q, --json and -v (whose trace would be drawn over) was given.
bool show_progress(bool quiet, bool json, bool verbose);

/// "1:05", "2:03:04": a duration for people ("--:--" when unknown).
std::string duration_text(double seconds);

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
  BarState bar_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "12.3 MiB", "512 B": octets for people.
std::string human_size(std::uint64_t octets);

}  // namespace pop3kit::cli
