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
  bool all = false;                  ///< retr: every message ("all").
  std::string output_dir;            ///< retr -o DIR: one file per message.
  bool name_by_uid = true;           ///< retr --name: files named by UID (else number).
};

// Each runs one subcommand and returns its exit code (0); failures are
// thrown as Failure and reported by main().
int run_capa(const Invocation& inv);
int run_stat(const Invocation& inv);
int run_list(const Invocation& inv);
int run_retr(const Invocation& inv);
int run_top(const Invocation& inv);
int run_dele(const Invocation& inv);
/// retr with -o DIR (several numbers or "all"): pipelined, one file each.
/// Creates DIR before connecting; the listing follows the login at once.
int run_retr_many(const Invocation& inv, const PopUrl& url, const LoginPlan& plan);

}  // namespace pop3kit::cli
