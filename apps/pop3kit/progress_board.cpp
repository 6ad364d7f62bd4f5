// pop3kit command — the progress of many accounts at once.
//
// The block is drawn with the cursor left at the start of the line below
// it: a redraw goes back up as many lines as were drawn (ESC [ n A), writes
// each line over the old one (ESC [ K erases the rest of it) and erases
// whatever the old block had below (ESC [ J). This needs every line to take
// exactly one row of the terminal, hence the cut to its width; labels are
// sanitize()d to printable ASCII, so one octet is one column.
#include "progress_board.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Widest label, so that the bars line up but a long name does not push
// them off a normal terminal.
constexpr std::size_t kMaxLabel = 24;
// The most account lines, whatever the terminal's height.
constexpr std::size_t kMaxLines = 20;

}  // namespace

ProgressBoard::Options ProgressBoard::for_stderr(bool quiet, bool json, bool verbose) {
  Options o;
  o.quiet = quiet;
  o.enabled = show_progress(quiet, json, verbose);
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
    o.columns = size.ws_col;
    o.rows = size.ws_row;
  }
  return o;
}

ProgressBoard::ProgressBoard(const std::vector<std::string>& accounts, const Options& options,
                             Write write)
    : options_(options),
      write_(std::move(write)),
      accounts_(accounts.size()),
      begun_(std::chrono::steady_clock::now()) {
  for (const auto& a : accounts)
    label_width_ = std::max(label_width_, sanitize(a, kMaxLabel).size());
}

ProgressBoard::~ProgressBoard() {
  clear();
}

std::unique_ptr<ProgressBoard::Row> ProgressBoard::row(const std::string& account) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  Line& line = lines_[id];
  line.name = sanitize(account, 200);
  line.label = sanitize(account, kMaxLabel);
  line.label.resize(std::max(line.label.size(), label_width_), ' ');
  draw_locked(true);
  return std::unique_ptr<Row>(new Row(*this, id));
}

void ProgressBoard::clear() {
  const std::lock_guard lock(mutex_);
  erase_locked();
}

ProgressBoard::Row::~Row() {
  finish(false);
}

// Not shown: the counts are not kept either, so that the writers of every
// account (the disk pool's threads, once per chunk) do not meet at the
// board's lock for nothing.
void ProgressBoard::Row::start(std::uint64_t messages, std::uint64_t octets) {
  if (!board_.options_.enabled) return;
  const std::lock_guard lock(board_.mutex_);
  Line& line = board_.lines_.at(id_);
  line.started = true;
  line.bar.total_messages = messages;
  line.bar.total_octets = octets;
  line.bar.started = std::chrono::steady_clock::now();
  board_.draw_locked(true);
}

void ProgressBoard::Row::received(std::uint64_t octets) {
  if (!board_.options_.enabled) return;
  const std::lock_guard lock(board_.mutex_);
  board_.lines_.at(id_).bar.octets = octets;
  board_.draw_locked(false);
}

void ProgressBoard::Row::message_done(const store::MessageRef&, bool) {
  if (!board_.options_.enabled) return;
  const std::lock_guard lock(board_.mutex_);
  ++board_.lines_.at(id_).bar.done_messages;
  board_.draw_locked(false);
}

void ProgressBoard::Row::warning(const std::string& text) {
  if (board_.options_.quiet) return;
  const std::lock_guard lock(board_.mutex_);
  board_.erase_locked();
  board_.write_(fmt::format("pop3kit: {}: warning: {}\n", board_.lines_.at(id_).name, text));
  board_.draw_locked(true);
}

void ProgressBoard::Row::finish(bool ok) {
  if (finished_) return;
  finished_ = true;
  const std::lock_guard lock(board_.mutex_);
  const auto it = board_.lines_.find(id_);
  board_.octets_done_ += it->second.bar.octets;
  board_.lines_.erase(it);
  ++board_.done_;
  if (!ok) ++board_.failed_;
  board_.draw_locked(true);
}

std::string ProgressBoard::fit(std::string line) const {
  // The last column stays empty: some terminals wrap on writing to it.
  const std::size_t width = options_.columns > 1 ? options_.columns - 1 : 1;
  if (line.size() > width) line.resize(width);
  return line;
}

void ProgressBoard::erase_locked() {
  if (drawn_ == 0) return;
  write_(fmt::format("\r\033[{}A\033[J", drawn_));
  drawn_ = 0;
}

void ProgressBoard::draw_locked(bool force) {
  if (!options_.enabled) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ != 0 && now - last_draw_ < options_.interval) return;
  last_draw_ = now;

  // Room for the totals line and the line the cursor rests on.
  const std::size_t room =
      std::min<std::size_t>(kMaxLines, options_.rows > 3 ? options_.rows - 3 : 1);
  std::string text = drawn_ == 0 ? std::string("\r") : fmt::format("\r\033[{}A", drawn_);
  std::size_t count = 0;
  std::uint64_t octets = octets_done_;
  for (const auto& [id, line] : lines_) {
    octets += line.bar.octets;
    if (count == room) continue;
    const std::string shown =
        line.started ? bar_text(line.label, line.bar, now) : line.label + " connecting";
    text += fit(shown) + "\033[K\n";
    ++count;
  }
  if (lines_.size() > count) {
    text += fit(fmt::format("... and {} more under way", lines_.size() - count)) + "\033[K\n";
    ++count;
  }
  const double elapsed = std::chrono::duration<double>(now - begun_).count();
  const double rate = elapsed > 0 ? static_cast<double>(octets) / elapsed : 0;
  const std::string failed = failed_ == 0 ? std::string() : fmt::format(", {} failed", failed_);
  text += fit(fmt::format("{}/{} accounts done{}  {}  {}/s  {}", done_, accounts_, failed,
                          human_size(octets), human_size(static_cast<std::uint64_t>(rate)),
                          duration_text(elapsed))) +
          "\033[K\n\033[J";
  ++count;
  write_(text);
  drawn_ = count;
}

}  // namespace pop3kit::cli
