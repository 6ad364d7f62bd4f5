// pop3kit command — where the password comes from.
//
// Never from the command line (other users can read it in ps, and it ends up
// in the shell history): either the environment variable POP3KIT_PASSWORD or
// the first line printed by --password-command (e.g. "pass show mail/pop").
#pragma once

#include <optional>
#include <string>

namespace pop3kit::cli {

/// Name of the environment variable holding the password.
inline constexpr const char* kPasswordEnv = "POP3KIT_PASSWORD";

/// Runs `command` with /bin/sh -c, standard error and standard input left
/// to the terminal, and returns the first line of its standard output without
/// its line end ("\n" or "\r\n"). Throws Failure (exit 78) if the command
/// cannot be started, exits non-zero or by a signal, or prints no password.
std::string run_password_command(const std::string& command);

/// The password: from `command` when given (an explicit option wins over the
/// environment), else from POP3KIT_PASSWORD. Throws Failure (exit 78) when
/// neither yields a non-empty password.
std::string obtain_password(const std::optional<std::string>& command);

}  // namespace pop3kit::cli
