// pop3kit command — `--shard K/N`: which of N fetchers takes an account.
//
// Each account goes to exactly one of N shards, by its name alone, so that
// N fetchers started by any scheduler (a Kubernetes Indexed Job with
// JOB_COMPLETION_INDEX, systemd template units, GNU parallel) fetch every
// account once and none twice, with no coordination between them.
//
// The mapping is a jump consistent hash (Lamping and Veach, 2014) of the
// first 64 bits of the SHA-256 of the account's name: it is the same on
// every machine and in every version of pop3kit (tests pin it), it spreads
// accounts evenly, and going from N to N+1 shards moves only the accounts
// that the new shard takes (about 1/(N+1) of them), never one between two
// old shards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pop3kit::cli {

struct Shard {
  std::uint32_t index = 0;  ///< K: 0 <= K < N (JOB_COMPLETION_INDEX counts from 0).
  std::uint32_t count = 1;  ///< N >= 1.
};

/// Parses "K/N" (decimal, 0 <= K < N <= 65536). Throws Failure (exit 64)
/// naming what is wrong.
Shard parse_shard(std::string_view text);

/// The shard, in [0, count), that the account named `name` belongs to.
/// `count` must be at least 1.
std::uint32_t shard_of(std::string_view name, std::uint32_t count);

}  // namespace pop3kit::cli
