// pop3kit command — `--shard K/N` (see shard.hpp).
#include "shard.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "exit_codes.hpp"
#include "output.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Shards beyond this are a typo, not a deployment.
constexpr std::uint32_t kMaxShards = 65536;

std::uint32_t decimal(std::string_view digits, std::string_view whole) {
  std::uint32_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc{} || ptr != end) {
    throw Failure(exit_code::usage,
                  fmt::format("bad --shard \"{}\": K/N, two decimal numbers with 0 <= K < N "
                              "(for example 0/4)",
                              sanitize(whole, 40)));
  }
  return value;
}

// The first 64 bits of SHA-256(name), big-endian: the same everywhere.
std::uint64_t key_of(std::string_view name) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (EVP_Digest(name.data(), name.size(), md.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length < 8) {
    // Only a broken OpenSSL gets here; guessing a shard could fetch an
    // account twice or never.
    throw Failure(exit_code::software, "SHA-256 failed: cannot place accounts in shards");
  }
  std::uint64_t key = 0;
  for (int i = 0; i < 8; ++i)
    key = (key << 8U) | md[static_cast<std::size_t>(i)];
  return key;
}

}  // namespace

Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) (void)decimal({}, text);
  Shard s;
  s.index = decimal(text.substr(0, slash), text);
  s.count = decimal(text.substr(slash + 1), text);
  if (s.count == 0 || s.count > kMaxShards || s.index >= s.count) {
    throw Failure(exit_code::usage,
                  fmt::format("bad --shard \"{}\": needs 0 <= K < N <= {} (K counts from 0, "
                              "as JOB_COMPLETION_INDEX does)",
                              sanitize(text, 40), kMaxShards));
  }
  return s;
}

std::uint32_t shard_of(std::string_view name, std::uint32_t count) {
  // Jump consistent hash: follows the key's bucket as the number of buckets
  // grows from 1 to `count`; each step jumps only forward, to a new bucket.
  std::uint64_t key = key_of(name);
  std::int64_t bucket = -1;
  std::int64_t next = 0;
  while (next < static_cast<std::int64_t>(count)) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = static_cast<std::int64_t>(
        static_cast<double>(bucket + 1) *
        (static_cast<double>(std::int64_t{1} << 31) / static_cast<double>((key >> 33U) + 1)));
  }
  return static_cast<std::uint32_t>(bucket);
}

}  // namespace pop3kit::cli
