// pop3kit command — from URL and options to a logged-in Client.
//
// A thin layer over pop3kit/account.hpp, which decides: the options become a
// pop3kit::Account, the library plans (security, login method, which secret)
// before any secret is read, reads the secrets before connecting, then
// connects and logs in, so that a configuration mistake never costs a
// connection, and never a login attempt the server would count against the
// account. What stays here is the command's: option names in messages, the
// hints after a failure, and exit codes (Failure).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exit_codes.hpp"
#include "pop3kit/account.hpp"
#include "pop3kit/client.hpp"
#include "pop3kit/url.hpp"

namespace pop3kit::cli {

/// Options shared by every subcommand.
struct GlobalOptions {
  bool verbose = false;  ///< -v: protocol trace on stderr.
  bool quiet = false;    ///< -q: no report when things went well.
  // Durations, checked by numbers.hpp's parse_seconds().
  std::optional<std::chrono::milliseconds> timeout;          ///< --timeout (each read/write).
  std::optional<std::chrono::milliseconds> connect_timeout;  ///< --connect-timeout.
  std::optional<std::chrono::milliseconds> deadline;  ///< --deadline (each operation in all).
  bool ipv4_only = false;                             ///< -4
  bool ipv6_only = false;                             ///< -6
  /// --plaintext: pop:// without TLS (default: STLS required).
  bool plaintext = false;
  /// --allow-plaintext-password: with --plaintext, let USER/PASS, PLAIN,
  /// LOGIN, XOAUTH2 and OAUTHBEARER send their reusable secret in the clear.
  bool plaintext_password = false;
  std::optional<std::string> password_command;  ///< --password-command CMD
  /// A literal password (the config file's `password`, from a file only
  /// its owner can read); wins over the command and the environment.
  std::optional<std::string> password;
  std::optional<std::string> token_command;  ///< --token-command CMD
  // TLS (pops://, and pop:// with STLS).
  std::optional<std::string> ca_file;      ///< --ca-file PEM
  std::optional<std::string> ca_dir;       ///< --ca-dir DIR
  std::optional<std::string> client_cert;  ///< --cert PEM
  std::optional<std::string> client_key;   ///< --key PEM
  std::vector<std::string> pins;           ///< --pin [cert:|spki:]SHA256 (repeatable)
  bool pin_only = false;                   ///< --pin-only: a matching pin replaces CA checks.
  std::optional<std::string> tls_min;      ///< --tls-min 1.2|1.3
  /// --channel-binding auto|tls-exporter|tls-unique|tls-server-end-point|none
  /// (parse_channel_binding() names).
  std::optional<std::string> channel_binding;
  /// --no-utf8: never send UTF8 (RFC 6856), even when the server offers it.
  bool no_utf8 = false;
};

/// Whether a subcommand logs in.
enum class LoginNeed {
  optional,  ///< capa: logs in only when the URL names a user.
  required,  ///< stat, list, retr, top, dele: the URL must name a user.
};

/// How the login goes.
enum class LoginKind : std::uint8_t {
  none,       ///< No login (capa without a user).
  automatic,  ///< ";auth=*" or no ";auth=": the strongest the server offers.
  apop,       ///< ";auth=+APOP".
  sasl,       ///< ";auth=MECH": that mechanism or failure, never a substitute.
};

struct LoginPlan {
  bool login = false;
  LoginKind kind = LoginKind::none;
  std::string mechanism;  ///< LoginKind::sasl: upper-case mechanism name.
  bool needs_password = false;
  bool needs_token = false;  ///< OAuth (XOAUTH2, OAUTHBEARER; automatic with --token-command).
  Security security = Security::starttls;
};

/// The options as the library's account: URL, security options (messages
/// name them by their flags), timeouts, address family, trace (-v), the
/// password and token sources (--password-command/POP3KIT_PASSWORD,
/// --token-command/POP3KIT_TOKEN; they throw Failure 78 when read and
/// missing), and with -v the certificate printed once connected.
Account account_for(const PopUrl& url, const GlobalOptions& options);

/// Decides how to connect and log in, from the URL and the options alone
/// (pop3kit::plan_account). Throws Failure: 64 for a missing user when
/// `need` is required and for account_errc::conflicting_options (--plaintext
/// with pops://, TLS options with --plaintext, --allow-plaintext-password
/// without --plaintext, a malformed pin, --pin-only without --pin, --key
/// without --cert); 78 for account_errc::unusable_configuration (an unknown
/// mechanism, a mechanism that sends a reusable secret over plain TCP
/// without --allow-plaintext-password, -PLUS or EXTERNAL without TLS,
/// EXTERNAL without --cert).
LoginPlan plan_login(const PopUrl& url, const GlobalOptions& options, LoginNeed need,
                     const std::string& command);

/// ClientOptions for the global options (timeouts, address family, trace,
/// TLS options) and the plan's security.
ClientOptions client_options(const GlobalOptions& options, const LoginPlan& plan = {});

/// Reads the secrets the plan needs, connects (TLS or STLS as planned), asks
/// CAPA, logs in, and runs `query` when there is one (pop3kit::open_account):
/// with USER/PASS or APOP its commands go out as soon as the login is
/// answered, so the listing or STAT costs no round trip of its own. Throws
/// Failure with the exit code of the library error (78 when the server
/// offers no acceptable method); a failed login names the mechanism tried,
/// and for OAuth the status and scope of the server's error; a rejected
/// certificate says what would make it acceptable; a refused query, its
/// error.
Client open_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan,
                    Query* query = nullptr);

/// For a driver other than open_session() (the concurrent fetch): the
/// library's account and plan, with an OAuth refusal's description captured
/// into `oauth_error` for session_failure(). With -v, each line of the
/// trace begins with `trace_label` and ": " (sessions at once share
/// standard error), unless it is empty.
struct SessionSetup {
  Account account;
  AccountPlan plan;
  std::shared_ptr<std::string> oauth_error;
};
SessionSetup session_setup(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan,
                           std::string_view trace_label = {});

/// A library error from connecting or logging in, as the command reports it
/// (exit code, and a hint for a rejected certificate, a missing STLS or an
/// OAuth refusal).
Failure session_failure(const Error& error, const GlobalOptions& options,
                        const std::string& oauth_error);

/// Ends a session that changed nothing: QUIT, with its outcome ignored (the
/// work is done; a failed QUIT of a read-only session loses nothing).
void finish_read_only(Client& client);

}  // namespace pop3kit::cli
