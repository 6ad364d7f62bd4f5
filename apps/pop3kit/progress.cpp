// pop3kit command — the progress bar of `pop3kit fetch`.
#include "progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <unistd.h>

#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

constexpr int kBarWidth = 24;

}  // namespace

bool show_progress(bool quiet, bool json, bool verbose) {
  return !quiet && !json && !verbose && ::isatty(STDERR_FILENO) == 1;
}

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 359999) return "--:--";
  const auto s = static_cast<unsigned>(std::lround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string human_size(std::uint64_t octets) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(octets);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", octets) : fmt::format("{:.1f} {}", value, units[unit]);
}

TerminalProgress::TerminalProgress(const std::string& account, bool enabled, bool quiet)
    : account_(sanitize(account, 40)), enabled_(enabled), quiet_(quiet) {}

TerminalProgress::~TerminalProgress() {
  clear();
}

void TerminalProgress::start(std::uint64_t messages, std::uint64_t octets) {
  bar_.total_messages = messages;
  bar_.total_octets = octets;
  bar_.started = std::chrono::steady_clock::now();
  if (messages != 0) draw(true);
}

void TerminalProgress::received(std::uint64_t octets) {
  bar_.octets = octets;
  draw(false);
}

void TerminalProgress::message_done(const store::MessageRef&, bool) {
  ++bar_.done_messages;
  draw(bar_.done_messages == bar_.total_messages);
}

void TerminalProgress::warning(const std::string& text) {
  if (quiet_) return;
  clear();
  std::fputs(fmt::format("pop3kit: {}: warning: {}\n", account_, text).c_str(), stderr);
}

void TerminalProgress::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

void TerminalProgress::draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && shown_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const std::string line = "\r" + bar_text(account_, bar_, now) + "\033[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  shown_ = true;
}

std::string bar_text(std::string_view label, const BarState& bar,
                     std::chrono::steady_clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - bar.started).count();
  // LIST sizes count CRLFs and the octets received do not count the
  // terminator: near enough for a bar, never past its end.
  const double fraction =
      bar.total_octets == 0
          ? 1.0
          : std::min(1.0, static_cast<double>(bar.octets) / static_cast<double>(bar.total_octets));
  const auto filled = static_cast<int>(fraction * kBarWidth);
  const double rate = elapsed > 0 ? static_cast<double>(bar.octets) / elapsed : 0;
  const double eta =
      rate > 0 ? (static_cast<double>(bar.total_octets) - static_cast<double>(bar.octets)) / rate
               : -1;
  return fmt::format("{} [{}{}] {}/{} messages  {} / {}  {}/s  ETA {}", label,
                     std::string(static_cast<std::size_t>(filled), '#'),
                     std::string(static_cast<std::size_t>(kBarWidth - filled), '.'),
                     bar.done_messages, bar.total_messages, human_size(bar.octets),
                     human_size(bar.total_octets), human_size(static_cast<std::uint64_t>(rate)),
                     duration_text(std::max(0.0, eta)));
}

}  // namespace pop3kit::cli
