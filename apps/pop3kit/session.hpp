// pop3kit command — from URL and options to a logged-in Client.
//
// The order of the checks is deliberate: everything that can be decided from
// the command line (URL, login method, plaintext policy) is decided before
// the password is read, and the password is read before connecting, so that
// a configuration mistake never costs a connection, and never a login
// attempt the server would count against the account.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "pop3kit/client.hpp"
#include "pop3kit/url.hpp"

namespace pop3kit::cli {

/// Options shared by every subcommand.
struct GlobalOptions {
  bool verbose = false;                         ///< -v: protocol trace on stderr.
  std::optional<double> timeout;                ///< --timeout SECONDS (each read/write).
  std::optional<double> connect_timeout;        ///< --connect-timeout SECONDS.
  bool ipv4_only = false;                       ///< -4
  bool ipv6_only = false;                       ///< -6
  bool allow_plaintext = false;                 ///< --allow-plaintext
  std::optional<std::string> password_command;  ///< --password-command CMD
};

/// Whether a subcommand logs in.
enum class LoginNeed {
  optional,  ///< capa: logs in only when the URL names a user.
  required,  ///< stat, list, retr, top, dele: the URL must name a user.
};

struct LoginPlan {
  bool login = false;
  LoginMethod method = LoginMethod::user_pass;
};

/// Decides how to log in. Throws Failure: 64 when `need` is required and the
/// URL has no user; 78 for a SASL mechanism (not supported yet) and for
/// USER/PASS over plain TCP without --allow-plaintext.
LoginPlan plan_login(const PopUrl& url, const GlobalOptions& options, LoginNeed need,
                     const std::string& command);

/// ClientOptions for the global options (timeouts, address family, trace).
ClientOptions client_options(const GlobalOptions& options);

/// Reads the password (if the plan logs in), connects and logs in. Throws
/// Failure with the exit code of the library error.
Client open_session(const PopUrl& url, const GlobalOptions& options, const LoginPlan& plan);

/// Ends a session that changed nothing: QUIT, with its outcome ignored (the
/// work is done; a failed QUIT of a read-only session loses nothing).
void finish_read_only(Client& client);

}  // namespace pop3kit::cli
