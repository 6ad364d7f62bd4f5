// pop3kit command — the progress of many accounts at once (the concurrent
// `pop3kit fetch`, fetch_many.cpp) on standard error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "progress.hpp"

namespace pop3kit::cli {

/// A block of lines redrawn in place: one per account under way (its bar as
/// TerminalProgress draws it, or "connecting" before its listing is in),
/// and last the run's totals (accounts done and failed, octets, rate,
/// time). When more accounts are under way than the terminal has rows, the
/// last of them are counted on one line. Lines are cut to the terminal's
/// width, so that none wraps and the block can be found again to redraw.
///
/// Rows are told of progress from any thread (the disk pool's writers, the
/// event loop): every call takes the board's lock (when shown; else the
/// counts are not kept). The block is redrawn on
/// a row's start and end, and otherwise at most once per `interval`.
/// Warnings are printed above the block, as lines that stay. When not
/// `enabled` (standard error is not a terminal, -q, --json or -v), nothing
/// but the warnings is written, and none with `quiet`.
class ProgressBoard {
 public:
  /// Receives the text to show, with the terminal's control sequences (CR,
  /// LF, ESC [ n A, ESC [ K, ESC [ J).
  using Write = std::function<void(std::string_view)>;

  struct Options {
    bool enabled = false;
    bool quiet = false;
    unsigned columns = 80;  ///< The terminal's width.
    unsigned rows = 24;     ///< Its height: the block keeps within it.
    std::chrono::milliseconds interval{100};
  };

  /// `accounts`: the names of every account of the run (their number is the
  /// totals line's, and their labels are as wide as the widest of them).
  ProgressBoard(const std::vector<std::string>& accounts, const Options& options, Write write);
  /// Clears the block.
  ~ProgressBoard();
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  /// One account's line, from when the account begins until the row is
  /// destroyed. Not copyable; lives no longer than its board.
  class Row final : public store::Progress {
   public:
    ~Row() override;
    Row(const Row&) = delete;
    Row& operator=(const Row&) = delete;

    void start(std::uint64_t messages, std::uint64_t octets) override;
    void received(std::uint64_t octets) override;
    void message_done(const store::MessageRef& message, bool ok) override;
    void warning(const std::string& text) override;

    /// The account is over, well (`ok`) or not: its line leaves the block
    /// and the totals count it. Once; the destructor does it (as failed)
    /// when it was not called.
    void finish(bool ok);

   private:
    friend class ProgressBoard;
    Row(ProgressBoard& board, std::uint64_t id) : board_(board), id_(id) {}
    ProgressBoard& board_;
    std::uint64_t id_;
    bool finished_ = false;
  };

  /// A row for `account`, shown at once (as connecting).
  std::unique_ptr<Row> row(const std::string& account);

  /// Erases the block (before the summary is printed); a later change
  /// draws it again.
  void clear();

  /// The options for standard error: enabled when it is a terminal and
  /// neither `quiet`, `json` nor `verbose` asks otherwise; its size from
  /// the terminal.
  static Options for_stderr(bool quiet, bool json, bool verbose);

 private:
  struct Line {
    std::string name;   // sanitized, for warnings
    std::string label;  // the name padded to the labels' width
    bool started = false;
    BarState bar;
  };

  void draw_locked(bool force);
  void erase_locked();
  std::string fit(std::string line) const;

  const Options options_;
  const Write write_;
  const std::size_t accounts_;
  std::size_t label_width_ = 0;
  const std::chrono::steady_clock::time_point begun_;

  std::mutex mutex_;
  std::map<std::uint64_t, Line> lines_;  // by id: in the order the accounts began
  std::uint64_t next_id_ = 0;
  std::size_t done_ = 0, failed_ = 0;
  std::uint64_t octets_done_ = 0;  // of the accounts that ended
  std::size_t drawn_ = 0;          // lines of the block now on the terminal
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace pop3kit::cli
