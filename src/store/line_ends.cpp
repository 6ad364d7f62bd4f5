// pop3kit::store — streaming line-end conversion and mboxrd "From " quoting.
#include "line_ends.hpp"

namespace pop3kit::store::detail {
namespace {

constexpr std::string_view kFrom = "From ";

}  // namespace

void CrlfToLf::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  if (held_cr_) {
    if (in.empty()) return;
    held_cr_ = false;
    if (in.front() == '\n') {
      out += '\n';
      i = 1;
    } else {
      out += '\r';
    }
  }
  while (i < in.size()) {
    const std::size_t cr = in.find('\r', i);
    if (cr == std::string_view::npos) {
      out.append(in.substr(i));
      return;
    }
    out.append(in.substr(i, cr - i));
    if (cr + 1 == in.size()) {
      held_cr_ = true;  // The next chunk says whether it ends a line.
      return;
    }
    if (in[cr + 1] == '\n') {
      out += '\n';
      i = cr + 2;
    } else {
      out += '\r';
      i = cr + 1;
    }
  }
}

void CrlfToLf::finish(std::string& out) {
  if (held_cr_) out += '\r';
  held_cr_ = false;
}

void FromQuoter::release(std::string& out) {
  out.append(quotes_, '>');
  out.append(kFrom.substr(0, matched_));
  quotes_ = 0;
  matched_ = 0;
  in_line_ = true;
}

void FromQuoter::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size()) {
    if (in_line_) {
      const std::size_t lf = in.find('\n', i);
      if (lf == std::string_view::npos) {
        out.append(in.substr(i));
        return;
      }
      out.append(in.substr(i, lf + 1 - i));
      i = lf + 1;
      in_line_ = false;
      continue;
    }
    const char c = in[i];
    if (matched_ == 0 && c == '>') {
      ++quotes_;
      ++i;
    } else if (c == kFrom[matched_]) {
      ++i;
      if (++matched_ == kFrom.size()) {
        out += '>';
        release(out);
      }
    } else {
      release(out);  // Not a From_ line: c is looked at as part of the line.
    }
  }
}

void FromQuoter::finish(std::string& out) {
  if (!in_line_) release(out);
  reset();
}

void FromQuoter::reset() noexcept {
  in_line_ = false;
  quotes_ = 0;
  matched_ = 0;
}

std::string unquote_mboxrd(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = text.find('\n', i);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const std::string_view line = text.substr(i, end - i);
    const std::size_t quotes = line.find_first_not_of('>');
    const bool quoted = quotes != 0 && quotes != std::string_view::npos &&
                        line.substr(quotes).substr(0, kFrom.size()) == kFrom;
    out.append(quoted ? line.substr(1) : line);
    i = end;
  }
  return out;
}

}  // namespace pop3kit::store::detail
