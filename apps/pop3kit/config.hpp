// pop3kit command — the config file of `pop3kit fetch`.
//
//   # ~/.config/pop3kit/config.toml
//   [defaults]
//   keep = true
//   max_size = "20M"
//   jobs = 16           # accounts fetched at once (only in [defaults])
//   max_per_host = 4    # sessions to one server at once (only in [defaults])
//
//   [account.work]
//   url = "pops://alice@mail.example.net"
//   to = "maildir:~/Mail/work"
//   password_command = "pass show mail/work"
//
// The file is untrusted input like everything else: every error names the
// file, the line and the key, and is found before any network traffic
// (exit 78). A literal `password` is refused unless only the file's owner
// can read it, as ssh does with its keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pop3kit::cli {

/// One account, with [defaults] merged in (an account's own keys win).
struct AccountConfig {
  std::string name;  ///< NAME of [account.NAME].
  std::string url;
  std::string to;
  std::optional<bool> keep;
  std::optional<std::uint64_t> max_size;
  std::optional<std::string> password_command;
  std::optional<std::string> token_command;
  std::optional<std::string> password;  ///< Only from a file nobody else can read.
  bool mda_crlf = false;
  // Security and TLS, as the command-line options of the same names.
  std::optional<bool> plaintext;
  std::optional<bool> allow_plaintext_password;
  std::optional<std::string> ca_file, ca_dir, cert, key, tls_min, channel_binding;
  std::vector<std::string> pins;
  std::optional<bool> pin_only;
  std::optional<bool> utf8;  ///< false: as --no-utf8.
  /// timeout, connect_timeout, deadline: seconds, checked as the options are
  /// (numbers.hpp), kept in milliseconds.
  std::optional<std::chrono::milliseconds> timeout, connect_timeout, deadline;
  /// [defaults] only (they are the run's, not an account's): jobs and
  /// max_per_host, 1 to kMaxJobs.
  std::optional<unsigned> jobs, max_per_host;
};

/// The most accounts fetched at once (--jobs, jobs), and the most sessions
/// to one host (--max-per-host, max_per_host).
inline constexpr unsigned kMaxJobs = 1000;

struct Config {
  std::string path;
  std::vector<AccountConfig> accounts;   ///< In the order of the file.
  std::optional<unsigned> jobs;          ///< [defaults] jobs
  std::optional<unsigned> max_per_host;  ///< [defaults] max_per_host
};

/// $XDG_CONFIG_HOME/pop3kit/config.toml, else ~/.config/pop3kit/config.toml.
std::string default_config_path();

/// Reads and checks the config file: TOML syntax, known keys only, the
/// right type for each, url and to present and well-formed in every account,
/// and the permissions of a file that holds a password. Throws Failure
/// (exit 78) with "FILE:LINE: ..." naming the key.
Config load_config(const std::string& path);

/// A size: a number of octets, optionally followed by k, M or G (1024-based).
/// nullopt when malformed or too large (parse_octets() of numbers.hpp with
/// no minimum; the max_size key and --max-size also refuse 0).
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace pop3kit::cli
