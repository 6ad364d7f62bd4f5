// pop3kit command — the subcommands.
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace pop3kit::cli {

/// What the command line said, after CLI11 parsed it.
struct Invocation {
  GlobalOptions global;
  std::string url;
  std::vector<std::string> numbers;  ///< retr/top: one; dele: one or more.
  std::string lines;                 ///< top: line count.
};

// Each runs one subcommand and returns its exit code (0); failures are
// thrown as Failure and reported by main().
int run_capa(const Invocation& inv);
int run_stat(const Invocation& inv);
int run_list(const Invocation& inv);
int run_retr(const Invocation& inv);
int run_top(const Invocation& inv);
int run_dele(const Invocation& inv);

}  // namespace pop3kit::cli
