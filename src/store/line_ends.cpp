// pop3kit::store — streaming line-end conversion and mboxrd "From " quoting.
#include "line_ends.hpp"

#include <cstring>

namespace pop3kit::store::detail {
namespace {

constexpr std::string_view kFrom = "From ";

}  // namespace

// Written through a pointer into room made once per chunk: appending line by
// line (a text message has a line every 60 octets or so) cost more than
// the search and the copy themselves.
void CrlfToLf::feed(std::string_view in, std::string& out) {
  if (in.empty()) return;
  const std::size_t start = out.size();
  out.resize(start + in.size() + 1);  // the most: a CR held back, then `in`
  char* w = out.data() + start;
  const char* p = in.data();
  const char* const end = p + in.size();
  if (held_cr_) {
    held_cr_ = false;
    if (*p == '\n') {
      *w++ = '\n';
      ++p;
    } else {
      *w++ = '\r';
    }
  }
  while (p < end) {
    const auto left = static_cast<std::size_t>(end - p);
    const auto* cr = static_cast<const char*>(std::memchr(p, '\r', left));
    if (cr == nullptr) {
      std::memcpy(w, p, left);
      w += left;
      break;
    }
    const auto run = static_cast<std::size_t>(cr - p);
    std::memcpy(w, p, run);
    w += run;
    if (cr + 1 == end) {
      held_cr_ = true;  // The next chunk says whether it ends a line.
      break;
    }
    if (cr[1] == '\n') {
      *w++ = '\n';
      p = cr + 2;
    } else {
      *w++ = '\r';
      p = cr + 1;
    }
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
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
