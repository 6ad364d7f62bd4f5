// pop3kit command — where the password and the OAuth token come from.
//
// Never from the command line (other users can read it in ps, and it ends up
// in the shell history): either the environment variable POP3KIT_PASSWORD
// (POP3KIT_TOKEN) or the first line printed by --password-command
// (--token-command), e.g. "pass show mail/pop" or "oauth2-helper --token".
#pragma once

#include <optional>
#include <string>

namespace pop3kit::cli {

/// Name of the environment variable holding the password.
inline constexpr const char* kPasswordEnv = "POP3KIT_PASSWORD";
/// Name of the environment variable holding the OAuth 2 access token.
inline constexpr const char* kTokenEnv = "POP3KIT_TOKEN";

/// Runs `command` with /bin/sh -c, standard error and standard input left
/// to the terminal, and returns the first line of its standard output without
/// its line end ("\n" or "\r\n"). Throws Failure (exit 78) if the command
/// cannot be started, exits non-zero or by a signal, or prints no password.
std::string run_password_command(const std::string& command);

/// The password: from `command` when given (an explicit option wins over the
/// environment), else from POP3KIT_PASSWORD. Throws Failure (exit 78) when
/// neither yields a non-empty password.
std::string obtain_password(const std::optional<std::string>& command);

/// The OAuth 2 access token for XOAUTH2 and OAUTHBEARER: from `command`
/// (--token-command; first line, up to 64 KiB) when given, else from
/// POP3KIT_TOKEN. Same errors as obtain_password(), worded for a token.
std::string obtain_token(const std::optional<std::string>& command);

}  // namespace pop3kit::cli
