// pop3kit command — checked writes to standard output, reports on standard error.
#include "output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "exit_codes.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

std::error_code write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Levenshtein distance, with an adjacent swap counting as one edit
// ("lsit" is one edit from "list").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::error_code write_stdout(std::string_view data) noexcept {
  return write_all(STDOUT_FILENO, data);
}

std::error_code BlockWriter::write(std::string_view data) {
  if (error_) return error_;
  if (buffer_.size() + data.size() < kBlock) {
    buffer_.append(data);
    return {};
  }
  if (buffer_.empty() && data.size() >= kBlock) return error_ = write_all(fd_, data);
  // Fill the block, write it, and keep the rest (a large piece goes out
  // whole: no copy of it).
  const std::size_t take = kBlock - buffer_.size();
  buffer_.append(data.substr(0, take));
  data.remove_prefix(std::min(take, data.size()));
  if ((error_ = flush())) return error_;
  if (data.size() >= kBlock) return error_ = write_all(fd_, data);
  buffer_.append(data);
  return {};
}

std::error_code BlockWriter::flush() {
  if (error_) return error_;
  error_ = write_all(fd_, buffer_);
  buffer_.clear();
  return error_;
}

void print_stdout(std::string_view data) {
  if (const auto ec = write_stdout(data)) {
    throw Failure(exit_code::io_error, "cannot write to standard output: " + ec.message());
  }
}

void print_report(std::string_view text) noexcept {
  (void)write_all(STDERR_FILENO, text);
}

std::string closest_command(std::string_view name, const std::vector<std::string>& commands) {
  std::string best;
  std::size_t best_distance = 3;  // at most two edits
  for (const std::string& c : commands) {
    std::size_t distance = edit_distance(name, c);
    // "retrieve" for retr, "fet" for fetch.
    const bool prefix = name.size() >= 2 && (std::string_view(c).substr(0, name.size()) == name ||
                                             name.substr(0, c.size()) == c);
    if (prefix) distance = std::min<std::size_t>(distance, 1);
    if (distance < best_distance && distance < std::max(c.size(), name.size())) {
      best = c;
      best_distance = distance;
    }
  }
  return best;
}

std::string unknown_command_message(std::string_view name,
                                    const std::vector<std::string>& commands) {
  std::string out = fmt::format("unknown command \"{}\"", sanitize(name, 40));
  if (const std::string guess = closest_command(name, commands); !guess.empty()) {
    out += fmt::format(" (did you mean {}?)", guess);
  }
  out += "; the commands are";
  for (std::size_t i = 0; i < commands.size(); ++i) {
    out += (i == 0 ? " " : ", ") + commands[i];
  }
  out += " (see pop3kit --help)";
  return out;
}

}  // namespace pop3kit::cli
