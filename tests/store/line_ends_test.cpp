// The streaming converters of src/store/line_ends.hpp, fed every input at
// every chunk size and every two-piece split.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "line_ends.hpp"

namespace pop3kit::store::detail {
namespace {

// Runs `Conv` over `in` cut every way that matters and checks the output.
template <class Conv>
void expect_every_split(const std::string& in, const std::string& expected) {
  const auto run = [&](const std::vector<std::string_view>& pieces) {
    Conv conv;
    std::string out;
    for (const auto piece : pieces)
      conv.feed(piece, out);
    conv.finish(out);
    return out;
  };
  const std::string_view all(in);
  EXPECT_EQ(run({all}), expected) << "whole input";
  for (std::size_t size = 1; size <= in.size(); ++size) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < in.size(); i += size)
      pieces.push_back(all.substr(i, size));
    ASSERT_EQ(run(pieces), expected) << "chunk size " << size << " of '" << in << "'";
  }
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    ASSERT_EQ(run({all.substr(0, cut), all.substr(cut)}), expected)
        << "split at " << cut << " of '" << in << "'";
  }
  // Empty chunks in between change nothing.
  std::vector<std::string_view> with_empty;
  for (std::size_t i = 0; i < in.size(); ++i) {
    with_empty.push_back(all.substr(i, 1));
    with_empty.push_back(all.substr(i, 0));
  }
  EXPECT_EQ(run(with_empty), expected);
}

TEST(CrlfToLf, EverySplit) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"\r\n", "\n"},
      {"a\r\nb\r\n", "a\nb\n"},
      {"\r", "\r"},        // lone CR at the end is kept
      {"a\rb", "a\rb"},    // lone CR inside is kept
      {"\r\r\n", "\r\n"},  // CR then CRLF
      {"\r\r\r\n\r", "\r\r\n\r"},
      {"\n\n", "\n\n"},              // bare LF stays
      {"..x\r\n.\r\n", "..x\n.\n"},  // dot-leading lines as given
      {"Subject: x\r\n\r\nbody\r\nno end", "Subject: x\n\nbody\nno end"},
  };
  for (const auto& [in, out] : cases)
    expect_every_split<CrlfToLf>(in, out);
}

TEST(FromQuoter, EverySplit) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"From x\n", ">From x\n"},
      {">From x\n", ">>From x\n"},
      {">>>From \n", ">>>>From \n"},
      {"From", "From"},     // no space: not a From_ line
      {"From ", ">From "},  // at the end of the input
      {"Fro\nFrom\n", "Fro\nFrom\n"},
      {"x From y\n", "x From y\n"},
      {" From y\n", " From y\n"},
      {"FFrom y\n", "FFrom y\n"},
      {">F>From y\n", ">F>From y\n"},
      {">\n>>\n", ">\n>>\n"},
      {"a\nFrom b\nFrom c\n>From d", "a\n>From b\n>From c\n>>From d"},
      {"\n\nFrom \n", "\n\n>From \n"},
      {"from x\n", "from x\n"},  // case matters
  };
  for (const auto& [in, out] : cases)
    expect_every_split<FromQuoter>(in, out);
}

// A line-at-a-time reference for random inputs.
std::string reference_quote(const std::string& in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t end = in.find('\n', i);
    end = end == std::string::npos ? in.size() : end + 1;
    const std::string line = in.substr(i, end - i);
    const std::size_t q = line.find_first_not_of('>');
    if (q != std::string::npos && line.compare(q, 5, "From ") == 0) out += '>';
    out += line;
    i = end;
  }
  return out;
}

TEST(FromQuoter, RandomInputsMatchReferenceAndUnquoteBack) {
  std::mt19937 rng(12345);  // fixed: the same inputs every run
  const std::string alphabet = ">>From \n\nx";
  for (int n = 0; n < 300; ++n) {
    std::string in;
    const std::size_t len = rng() % 40;
    for (std::size_t i = 0; i < len; ++i)
      in += alphabet[rng() % alphabet.size()];
    const std::string quoted = reference_quote(in);
    expect_every_split<FromQuoter>(in, quoted);
    EXPECT_EQ(unquote_mboxrd(quoted), in);
  }
}

TEST(FromQuoter, LongQuoteRunHeldAsCounters) {
  const std::string in = std::string(100000, '>') + "From x\n";
  FromQuoter q;
  std::string out;
  for (const char c : in)
    q.feed(std::string_view(&c, 1), out);
  q.finish(out);
  EXPECT_EQ(out, ">" + in);
}

}  // namespace
}  // namespace pop3kit::store::detail
