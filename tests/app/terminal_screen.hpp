// Test helper: what a terminal shows after some output, for the control
// sequences pop3kit's progress bars use: CR, LF (as the terminal's ONLCR
// turns it into CR LF), ESC [ n A (up), ESC [ K (erase to the line's end)
// and ESC [ J (erase to the screen's end). The screen is as tall as needed
// and never scrolls, so "up" is relative to what was written. Anything
// else that starts with ESC is counted in unknown().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pop3kit::test {

class TerminalScreen {
 public:
  void feed(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (c == '\r') {
        col_ = 0;
      } else if (c == '\n') {
        ++row_;
        col_ = 0;
      } else if (c == '\033') {
        i = control(bytes, i);
      } else {
        put(c);
      }
    }
  }

  /// The screen's lines, trailing blanks and empty last lines removed.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& r : rows_) {
      std::string line = r;
      while (!line.empty() && line.back() == ' ')
        line.pop_back();
      out.push_back(line);
    }
    while (!out.empty() && out.back().empty())
      out.pop_back();
    return out;
  }

  std::size_t row() const { return row_; }
  std::size_t widest() const { return widest_; }    ///< The most columns any line took.
  std::size_t unknown() const { return unknown_; }  ///< Sequences not understood.

 private:
  void ensure_row() {
    if (rows_.size() <= row_) rows_.resize(row_ + 1);
  }
  void put(char c) {
    ensure_row();
    std::string& r = rows_[row_];
    if (r.size() <= col_) r.resize(col_ + 1, ' ');
    r[col_++] = c;
    if (col_ > widest_) widest_ = col_;
  }
  std::size_t control(std::string_view b, std::size_t i) {
    if (i + 1 >= b.size() || b[i + 1] != '[') {
      ++unknown_;
      return i;
    }
    std::size_t j = i + 2;
    std::size_t n = 0;
    bool digits = false;
    while (j < b.size() && b[j] >= '0' && b[j] <= '9') {
      n = n * 10 + static_cast<std::size_t>(b[j] - '0');
      digits = true;
      ++j;
    }
    if (j >= b.size()) {
      ++unknown_;
      return j;
    }
    const char op = b[j];
    if (op == 'A') {
      const std::size_t up = (!digits || n == 0) ? 1 : n;
      row_ = up > row_ ? 0 : row_ - up;
    } else if (op == 'K' && !digits) {
      ensure_row();
      if (rows_[row_].size() > col_) rows_[row_].resize(col_);
    } else if (op == 'J' && !digits) {
      ensure_row();
      if (rows_[row_].size() > col_) rows_[row_].resize(col_);
      rows_.resize(row_ + 1);
    } else {
      ++unknown_;
    }
    return j;
  }

  std::vector<std::string> rows_;
  std::size_t row_ = 0, col_ = 0, widest_ = 0, unknown_ = 0;
};

}  // namespace pop3kit::test
