// pop3kit command — `pop3kit fetch`: accounts from the config file or a URL,
// delivered by the library's fetch_account() (pop3kit/fetch.hpp).
//
//   pop3kit fetch URL --to DEST [options]   a one-off run
//   pop3kit fetch [ACCOUNT...]              the config file's accounts (all when none is named)
//
// Everything that can be checked without the network is checked first, for
// every account: the config file, the URLs, the login plans, the
// destinations' syntax. An error there exits 78 (64 for the command line)
// before any connection. Then for each account: its lock in the state
// store, its destination opened (created when missing), connect, log in,
// fetch_account(). Several accounts run at once on one event loop
// (fetch_many.cpp: --jobs, --max-per-host); one alone runs on the blocking
// client, whose threads overlap its disk and its network. One account's
// failure does not stop the others.
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace CLI {
class App;
}

namespace pop3kit::cli {

struct FetchArgs {
  std::vector<std::string> targets;  ///< One URL, or account names.
  std::string to;                    ///< --to DEST (with a URL).
  bool keep = false;                 ///< --keep (the default unless the config says otherwise).
  bool remove = false;               ///< --delete
  bool all = false;                  ///< --all
  bool dry_run = false;              ///< --dry-run
  bool json = false;                 ///< --json
  std::string max_size;              ///< --max-size SIZE
  std::string state_path;            ///< --state PATH
  std::string config_path;           ///< -c FILE
  std::string shard;                 ///< --shard K/N (config accounts only)
  unsigned jobs = 0;                 ///< --jobs N (0: the config's, else the default)
  unsigned max_per_host = 0;         ///< --max-per-host N (0: likewise)
};

/// Registers fetch's own options and positional arguments on `sub`.
void add_fetch_options(CLI::App& sub, FetchArgs& args);

/// The --help text after fetch's options.
const char* fetch_help_footer() noexcept;

/// Runs fetch; returns the exit status (see fetch_help_footer()).
int run_fetch(const GlobalOptions& global, const FetchArgs& args);

/// Exit status of several outcomes: 0 when all are 0; 75 when any is 75
/// (try again later); otherwise the most serious of them.
int combine_exit_codes(const std::vector<int>& codes) noexcept;

}  // namespace pop3kit::cli
