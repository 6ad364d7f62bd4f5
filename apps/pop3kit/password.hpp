// pop3kit command — where the password and the OAuth token come from.
//
// Never from the command line (other users can read it in ps, and it ends up
// in the shell history): either the environment variable POP3KIT_PASSWORD
// (POP3KIT_TOKEN) or the first line printed by --password-command
// (--token-command), e.g. "pass show mail/pop" or "oauth2-helper --token".
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace pop3kit::cli {

/// Name of the environment variable holding the password.
inline constexpr const char* kPasswordEnv = "POP3KIT_PASSWORD";
/// Name of the environment variable holding the OAuth 2 access token.
inline constexpr const char* kTokenEnv = "POP3KIT_TOKEN";

/// How long a password or token command may run: long enough for a person
/// to answer a passphrase prompt (gpg-agent's pinentry), not for ever.
inline constexpr std::chrono::milliseconds kSecretCommandLimit{60'000};

/// Runs `command` with /bin/sh -c, standard error and standard input left
/// to the terminal, and returns the first line of its standard output without
/// its line end ("\n" or "\r\n"). Waits for the command to exit, not for
/// the end of its output: a background process it leaves running ("agent
/// &") may keep the pipe open, and is neither waited for nor killed; only
/// what the command printed before it exited counts. Throws Failure (exit
/// 78) if the command cannot be started, exits non-zero or by a signal,
/// prints no password, or has not exited within `limit` (it is then killed
/// with SIGKILL and reaped; processes it started may live on).
std::string run_password_command(const std::string& command,
                                 std::chrono::milliseconds limit = kSecretCommandLimit);

/// The password: from `command` when given (an explicit option wins over the
/// environment), else from POP3KIT_PASSWORD. Throws Failure (exit 78) when
/// neither yields a non-empty password.
std::string obtain_password(const std::optional<std::string>& command,
                            std::chrono::milliseconds limit = kSecretCommandLimit);

/// The OAuth 2 access token for XOAUTH2 and OAUTHBEARER: from `command`
/// (--token-command; first line, up to 64 KiB) when given, else from
/// POP3KIT_TOKEN. Same errors as obtain_password(), worded for a token.
std::string obtain_token(const std::optional<std::string>& command,
                         std::chrono::milliseconds limit = kSecretCommandLimit);

}  // namespace pop3kit::cli
