// --shard K/N: parsing, and the account-to-shard mapping that N fetchers
// started by a scheduler rely on to share the accounts out without overlap.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "exit_codes.hpp"
#include "shard.hpp"

namespace pop3kit::cli {
namespace {

int usage_failure(const std::string& text) {
  try {
    (void)parse_shard(text);
  } catch (const Failure& f) {
    EXPECT_NE(std::string(f.what()).find("--shard"), std::string::npos) << f.what();
    return f.code();
  }
  return -1;
}

TEST(Shard, ParsesKOverN) {
  const Shard s = parse_shard("2/5");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(parse_shard("0/1").count, 1u);
  EXPECT_EQ(parse_shard("65535/65536").index, 65535u);
  for (const char* bad : {"", "3", "/", "1/", "/4", "4/4", "5/4", "0/0", "-1/4", "+1/4", " 1/4",
                          "1/4 ", "1/4/5", "0x1/4", "1.0/4", "0/65537", "0/99999999999"}) {
    EXPECT_EQ(usage_failure(bad), exit_code::usage) << bad;
  }
}

// The mapping must never change between versions or machines: a changed
// mapping moves accounts between running fetchers. These values come from
// the published jump consistent hash over the first 64 bits (big-endian) of
// SHA-256(name), computed independently.
TEST(Shard, MappingIsPinned) {
  struct Case {
    const char* name;
    std::array<std::uint32_t, 6> shards;  // for N = 1, 2, 3, 4, 10, 1000
  };
  const Case cases[] = {
      {"alice", {0, 1, 1, 1, 8, 861}},     {"bob", {0, 1, 1, 1, 8, 620}},
      {"carol", {0, 1, 1, 1, 9, 510}},     {"support@example.com", {0, 1, 1, 1, 6, 362}},
      {"acct-0001", {0, 0, 0, 0, 5, 424}}, {"", {0, 1, 2, 2, 5, 22}},
  };
  const std::array<std::uint32_t, 6> counts{1, 2, 3, 4, 10, 1000};
  for (const auto& c : cases) {
    for (std::size_t i = 0; i < counts.size(); ++i)
      EXPECT_EQ(shard_of(c.name, counts[i]), c.shards[i]) << c.name << " N=" << counts[i];
  }
}

// Evenly spread, and growing N by one moves accounts only into the new
// shard: the other fetchers keep theirs.
TEST(Shard, EvenAndConsistentWhenNGrows) {
  constexpr int kAccounts = 20000;
  constexpr std::uint32_t kMaxN = 12;
  for (std::uint32_t n = 1; n <= kMaxN; ++n) {
    std::vector<int> per(n, 0);
    int moved = 0;
    for (int i = 0; i < kAccounts; ++i) {
      const std::string name = "account-" + std::to_string(i);
      const std::uint32_t s = shard_of(name, n);
      ASSERT_LT(s, n);
      ++per[s];
      if (n > 1) {
        const std::uint32_t before = shard_of(name, n - 1);
        if (s != before) {
          EXPECT_EQ(s, n - 1) << name << " moved between old shards going to N=" << n;
          ++moved;
        }
      }
    }
    const double fair = static_cast<double>(kAccounts) / n;
    for (std::uint32_t s = 0; s < n; ++s) {
      EXPECT_GT(per[s], fair * 0.9) << "N=" << n << " shard " << s;
      EXPECT_LT(per[s], fair * 1.1) << "N=" << n << " shard " << s;
    }
    if (n > 1) {
      EXPECT_NEAR(moved, fair, fair * 0.1) << "N=" << n;
    }
  }
}

}  // namespace
}  // namespace pop3kit::cli
