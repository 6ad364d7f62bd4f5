// pop3kit command — `pop3kit fetch`.
#include "fetch.hpp"

#include "fetch_jobs.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "config.hpp"
#include "exit_codes.hpp"
#include "numbers.hpp"
#include "output.hpp"
#include "pop3kit/delivery.hpp"
#include "pop3kit/fetch.hpp"
#include "pop3kit/state.hpp"
#include "pop3kit/text.hpp"
#include "progress.hpp"
#include "shard.hpp"
#include "signals.hpp"

namespace pop3kit::cli {
namespace {

std::string message_label(const store::MessageRef& m) {
  // UIDs are 0x21-0x7E by the engine's checks: safe to print.
  return m.uid.empty() ? fmt::format("message {}", m.number)
                       : fmt::format("message {} (UID {})", m.number, m.uid);
}

std::uint64_t size_arg(const std::string& text) {
  const auto v = parse_octets(text);
  if (!v.ok()) {
    throw Failure(exit_code::usage,
                  fmt::format("bad --max-size \"{}\": octets, or a number with k, M or G (20M): {}",
                              sanitize(text, 40), v.reason()));
  }
  return v.value();
}

// The command line's global options win over the config file's.
GlobalOptions merge(const GlobalOptions& cli, const AccountConfig& a) {
  GlobalOptions o = cli;
  o.plaintext = cli.plaintext || a.plaintext.value_or(false);
  o.plaintext_password = cli.plaintext_password || a.allow_plaintext_password.value_or(false);
  if (!o.password_command) o.password_command = a.password_command;
  if (!o.token_command) o.token_command = a.token_command;
  if (!o.ca_file) o.ca_file = a.ca_file;
  if (!o.ca_dir) o.ca_dir = a.ca_dir;
  if (!o.client_cert) o.client_cert = a.cert;
  if (!o.client_key) o.client_key = a.key;
  if (o.pins.empty()) o.pins = a.pins;
  o.pin_only = cli.pin_only || a.pin_only.value_or(false);
  if (!o.tls_min) o.tls_min = a.tls_min;
  if (!o.channel_binding) o.channel_binding = a.channel_binding;
  o.no_utf8 = cli.no_utf8 || !a.utf8.value_or(true);
  if (!o.timeout) o.timeout = a.timeout;
  // A password named on the command line (--password-command) wins.
  if (!cli.password_command) o.password = a.password;
  if (!o.connect_timeout) o.connect_timeout = a.connect_timeout;
  if (!o.deadline) o.deadline = a.deadline;
  return o;
}

store::FetchOptions fetch_options(const FetchArgs& args, std::optional<bool> keep,
                                  std::optional<std::uint64_t> max_size) {
  store::FetchOptions o;
  o.remove = args.remove || (!args.keep && keep.has_value() && !*keep);
  o.all = args.all;
  o.dry_run = args.dry_run;
  o.max_size = args.max_size.empty() ? max_size : std::optional(size_arg(args.max_size));
  return o;
}

Job make_job(std::string name, const PopUrl& url, GlobalOptions options, std::string to,
             const store::FetchOptions& fetch, bool mda_crlf) {
  Job job;
  job.name = std::move(name);
  job.url = url;
  job.plan = plan_login(url, options, LoginNeed::required, "fetch");
  job.options = std::move(options);
  job.to = std::move(to);
  job.destination_options.mda_crlf = mda_crlf;
  job.fetch.account = store::AccountId{job.name, url.user, url.host, url.port};
  job.fetch.options = fetch;
  return job;
}

bool looks_like_url(const std::string& s) {
  return s.find("://") != std::string::npos;
}

std::vector<Job> plan_jobs(const GlobalOptions& global, const FetchArgs& args, RunLimits& limits) {
  if (args.jobs != 0) limits.jobs = args.jobs;
  if (args.max_per_host != 0) limits.max_per_host = args.max_per_host;
  if (args.remove && args.keep)
    throw Failure(exit_code::usage, "--keep and --delete exclude each other");
  if (!args.max_size.empty()) (void)size_arg(args.max_size);
  std::optional<Shard> shard;
  if (!args.shard.empty()) shard = parse_shard(args.shard);
  std::vector<Job> jobs;
  if (!args.targets.empty() && looks_like_url(args.targets.front())) {
    if (args.targets.size() != 1) {
      throw Failure(exit_code::usage,
                    "fetch takes one URL (with --to), or account names from the config file");
    }
    if (args.to.empty()) {
      throw Failure(exit_code::usage,
                    "fetch URL needs --to DEST: maildir:PATH, mbox:PATH or mda:COMMAND");
    }
    if (auto d = store::parse_destination(args.to); !d) {
      throw Failure(exit_code::usage, "bad --to: " + d.error().message);
    }
    if (shard) {
      throw Failure(exit_code::usage,
                    "--shard divides the config file's accounts among fetchers; not for a URL");
    }
    const PopUrl url = parse_url_arg(args.targets.front());
    jobs.push_back(make_job("", url, global, args.to, fetch_options(args, {}, {}), false));
    jobs.back().name = fmt::format("{}@{}", url.user, host_port(url));
    return jobs;
  }
  if (!args.to.empty()) {
    throw Failure(exit_code::usage,
                  "--to goes with a URL; an account's destination is its 'to' in the config file");
  }
  const std::string path = args.config_path.empty() ? default_config_path() : args.config_path;
  const Config config = load_config(path);
  if (args.jobs == 0 && config.jobs) limits.jobs = *config.jobs;
  if (args.max_per_host == 0 && config.max_per_host) limits.max_per_host = *config.max_per_host;
  std::vector<const AccountConfig*> chosen;
  if (args.targets.empty()) {
    for (const auto& a : config.accounts)
      chosen.push_back(&a);
    if (chosen.empty()) {
      throw Failure(exit_code::config, fmt::format("{}: no [account.NAME] table: nothing to fetch",
                                                   sanitize(path, 400)));
    }
  }
  for (const auto& name : args.targets) {
    const auto it = std::find_if(config.accounts.begin(), config.accounts.end(),
                                 [&](const AccountConfig& a) { return a.name == name; });
    if (it == config.accounts.end()) {
      std::string names;
      for (const auto& a : config.accounts)
        names += (names.empty() ? "" : ", ") + sanitize(a.name, 64);
      throw Failure(exit_code::usage,
                    fmt::format("no account \"{}\" in {} (accounts: {})", sanitize(name, 64),
                                sanitize(path, 400), names.empty() ? "none" : names));
    }
    chosen.push_back(&*it);
  }
  if (shard) {
    std::erase_if(chosen, [&](const AccountConfig* a) {
      return shard_of(a->name, shard->count) != shard->index;
    });
  }
  for (const AccountConfig* a : chosen) {
    const PopUrl url = parse_url_arg(a->url);
    try {
      jobs.push_back(make_job(a->name, url, merge(global, *a), a->to,
                              fetch_options(args, a->keep, a->max_size), a->mda_crlf));
    } catch (const Failure& f) {
      throw Failure(f.code(), fmt::format("{}: account {}: {}", sanitize(path, 400),
                                          sanitize(a->name, 64), f.what()));
    }
  }
  return jobs;
}

// The summary of one account, one line.
std::string summary_line(const Outcome& o) {
  const auto& r = o.report;
  return fmt::format(
      "{}: {} new, {} delivered ({}), {} deleted, {} skipped (too big), {} failed{}\n",
      sanitize(o.name, 200), r.fresh, r.delivered, human_size(r.octets), r.deleted,
      r.too_big.size(), r.failures.size() + (o.error ? 1 : 0),
      r.recovered != 0 ? fmt::format(", {} recovered", r.recovered) : "");
}

// Each failure on its own line, naming the account, the message and what to do.
void print_failures(const Outcome& o) {
  auto line = [&](const std::string& text) {
    std::fputs(fmt::format("pop3kit: {}: {}\n", sanitize(o.name, 200), text).c_str(), stderr);
  };
  for (const auto& f : o.report.failures) {
    line(fmt::format("{}: {}; it stays on the server and is fetched again on the next run",
                     message_label(f.message), f.error.message));
  }
  for (const auto& m : o.report.too_big) {
    line(fmt::format("{} is {} octets, over --max-size: left on the server", message_label(m),
                     m.size));
  }
  if (o.error) line(*o.error);
}

nlohmann::json refs_json(const std::vector<store::MessageRef>& refs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : refs)
    out.push_back({{"number", m.number}, {"uid", m.uid}, {"size", m.size}});
  return out;
}

nlohmann::json outcome_json(const Outcome& o, bool dry_run) {
  const auto& r = o.report;
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& f : r.failures) {
    failed.push_back({{"number", f.message.number},
                      {"uid", f.message.uid},
                      {"error", f.error.message},
                      {"exit_code", exit_code_for(f.error)}});
  }
  nlohmann::json j = {{"account", o.name},
                      {"destination", o.destination},
                      {"listed", r.listed},
                      {"new", r.fresh},
                      {"delivered", r.delivered},
                      {"octets", r.octets},
                      {"deleted", r.deleted},
                      {"recovered", r.recovered},
                      {"skipped_too_big", refs_json(r.too_big)},
                      {"failed", failed},
                      {"warnings", r.warnings},
                      {"uidl", r.uidl},
                      {"exit_code", o.exit_code},
                      {"started", o.started},
                      {"seconds", o.seconds}};
  j["error"] = o.error ? nlohmann::json(*o.error) : nlohmann::json(nullptr);
  if (dry_run) j["would_fetch"] = refs_json(r.would_fetch);
  return j;
}

// One account, start to end. Failures before or around the session are
// thrown as Failure and caught by the caller; fetch_account's own are in
// its report.
void fetch_one(const Job& job, store::StateStore& state, const FetchArgs& args, Outcome& out) {
  Prepared ready = prepare(job, state, out);
  const bool bar = show_progress(job.options.quiet, args.json, job.options.verbose);
  TerminalProgress progress(sanitize(job.name, 200), bar, job.options.quiet);
  Query listing(Query::Kind::listing);
  Client client = open_session(job.url, job.options, job.plan, &listing);
  out.report = store::fetch_account(client, job.fetch, *ready.destination, state, progress,
                                    &listing.entries());
  progress.clear();
  if (out.report.error) out.error = out.report.error->message;
  out.exit_code = outcome_code(out);
}

void print_dry_run(const Outcome& o) {
  std::string text = fmt::format("{}: would fetch {} message(s)\n", sanitize(o.name, 200),
                                 o.report.would_fetch.size());
  for (const auto& m : o.report.would_fetch)
    text += fmt::format("  {} {} {}\n", m.number, m.size, m.uid);
  print_stdout(text);
}

// "{account}" in --state gives each account a database of its own.
constexpr std::string_view kAccountField = "{account}";

}  // namespace

bool per_account(std::string_view state_pattern) {
  return state_pattern.find(kAccountField) != std::string_view::npos;
}

namespace {

// An account's name as one file name: letters, digits and "-._+@" stay, any
// other byte (and a leading dot) becomes %XX. Distinct names give distinct
// file names, and none leaves the directory or hides.
std::string file_name_of(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool plain = std::isalnum(c) != 0 || c == '-' || c == '_' || c == '+' || c == '@' ||
                       (c == '.' && i != 0);
    out += plain ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

std::string state_path_for(std::string pattern, std::string_view account) {
  const std::string name = file_name_of(account);
  for (auto at = pattern.find(kAccountField); at != std::string::npos;
       at = pattern.find(kAccountField, at + name.size())) {
    pattern.replace(at, kAccountField.size(), name);
  }
  return pattern;
}

StateFile::StateFile(std::string path, bool dry_run) {
  if (dry_run && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    const char* env = std::getenv("TMPDIR");
    std::string pattern =
        std::string(env != nullptr && env[0] == '/' ? env : "/tmp") + "/pop3kit-dry-run.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Failure(exit_code::cant_create,
                    fmt::format("cannot make a temporary directory: {}", std::strerror(errno)));
    }
    scratch_ = pattern;
    path = scratch_ + "/state.db";
  }
  auto opened = store::StateStore::open(path);
  if (!opened) throw failure_from(opened.error());
  store_.emplace(std::move(*opened));
}

StateFile::~StateFile() {
  store_.reset();
  if (!scratch_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_, ec);
  }
}

Prepared prepare(const Job& job, store::StateStore& state, Outcome& out) {
  Prepared ready;
  auto lock = state.lock(job.fetch.account, kLockWait);
  if (!lock) throw failure_from(lock.error());
  ready.lock = std::move(*lock);
  auto made = store::parse_destination(job.to, job.destination_options);
  if (!made) throw Failure(exit_code::config, made.error().message);
  ready.destination = std::move(*made);
  out.destination = ready.destination->spec();
  // A dry run changes nothing: it neither creates the destination nor
  // resolves interrupted deliveries (fetch_account() skips that too).
  if (!job.fetch.options.dry_run) {
    if (auto r = ready.destination->open(); !r) {
      // An mbox locked by another program (a mail reader, a delivery agent)
      // is worth a retry (75); a destination that cannot be made is not (73).
      const bool busy = r.error().code == make_error_code(errc::temporary_failure);
      throw Failure(busy ? exit_code::temp_fail : exit_code::cant_create, r.error().message);
    }
    // Interrupted deliveries are resolved before connecting: they need no server.
    if (auto r = store::recover_pending(job.fetch.account, state, *ready.destination); !r) {
      throw failure_from(r.error());
    }
  }
  return ready;
}

int outcome_code(const Outcome& o) {
  std::vector<int> codes;
  for (const auto& f : o.report.failures)
    codes.push_back(exit_code_for(f.error));
  if (o.report.error) codes.push_back(exit_code_for(*o.report.error));
  return combine_exit_codes(codes);
}

int combine_exit_codes(const std::vector<int>& codes) noexcept {
  // Most serious first: a bug, then what the user must fix, then what the
  // server or the disk refused.
  static constexpr int kOrder[] = {
      exit_code::software,    exit_code::config,   exit_code::no_perm,
      exit_code::protocol,    exit_code::io_error, exit_code::cant_create,
      exit_code::unavailable, exit_code::no_host,  exit_code::usage};
  if (std::find(codes.begin(), codes.end(), exit_code::temp_fail) != codes.end()) {
    return exit_code::temp_fail;
  }
  for (const int c : kOrder) {
    if (std::find(codes.begin(), codes.end(), c) != codes.end()) return c;
  }
  for (const int c : codes) {
    if (c != exit_code::ok) return c;
  }
  return exit_code::ok;
}

void add_fetch_options(CLI::App& sub, FetchArgs& args) {
  sub.add_option("TARGET", args.targets,
                 "A POP URL (with --to), or names of accounts in the config file (default: all)");
  sub.add_option("--to", args.to, "Destination for a URL: maildir:PATH, mbox:PATH or mda:COMMAND")
      ->type_name("DEST");
  sub.add_flag("--keep", args.keep, "Leave the messages on the server (the default)");
  sub.add_flag("--delete", args.remove,
               "Delete each message from the server once it is safely stored");
  sub.add_flag("--all", args.all, "Also fetch messages fetched before (default: new ones only)");
  sub.add_option("--max-size", args.max_size,
                 "Leave messages larger than SIZE on the server (octets, or with k, M, G)")
      ->type_name("SIZE");
  sub.add_flag("--dry-run", args.dry_run, "List what would be fetched; change nothing");
  sub.add_option("--state", args.state_path,
                 "The state database (default $XDG_STATE_HOME/pop3kit/state.db); {account} in "
                 "PATH gives each account its own")
      ->type_name("PATH");
  sub.add_option("--shard", args.shard,
                 "Fetch only the config accounts of shard K of N (0 <= K < N), chosen by a "
                 "stable hash of the account name")
      ->type_name("K/N");
  sub.add_option(
         "--jobs", args.jobs,
         fmt::format("Fetch up to N accounts at once (default {}; config: jobs)", RunLimits{}.jobs))
      ->type_name("N")
      ->check(CLI::Range(1U, kMaxJobs));
  sub.add_option("--max-per-host", args.max_per_host,
                 fmt::format("At most N sessions to one server at once (default {}; config: "
                             "max_per_host)",
                             RunLimits{}.max_per_host))
      ->type_name("N")
      ->check(CLI::Range(1U, kMaxJobs));
  sub.add_flag("--json", args.json, "Print the summary as JSON on stdout");
  sub.add_option("-c,--config", args.config_path,
                 "Config file (default $XDG_CONFIG_HOME/pop3kit/config.toml)")
      ->type_name("FILE");
}

const char* fetch_help_footer() noexcept {
  return "FETCH:\n"
         "  Messages are stored as the server sent them, with LF line ends. A message is\n"
         "  deleted (--delete) only once it is durable at its destination, and counts as\n"
         "  deleted only when the server answers QUIT with +OK. The state database remembers\n"
         "  what was fetched: a crash at any moment loses nothing and, when the server has\n"
         "  UIDL, delivers nothing twice (mda: and servers without UIDL: at least once).\n"
         "  Accounts run at once (--jobs), at most --max-per-host to one server; the first\n"
         "  SIGINT or SIGTERM ends every session, keeps what was stored, prints the\n"
         "  summary and ends the command as the signal would (a second: at once).\n"
         "  Exit status: 0 when every account is done, 75 when any failure was temporary,\n"
         "  otherwise the most serious of the accounts' statuses.\n";
}

int run_fetch(const GlobalOptions& global, const FetchArgs& args) {
  const auto run_start = std::chrono::steady_clock::now();
  RunLimits limits;
  std::vector<Job> jobs = plan_jobs(global, args, limits);
  // SIGINT, SIGTERM and SIGHUP remove the Maildir tmp/ files being written
  // before the command ends (signals.hpp); set up before any thread starts.
  store::TemporaryFiles temporary;
  CleanupOnSignal cleanup(temporary);
  for (Job& job : jobs)
    job.destination_options.temporary_files = &temporary;
  const std::string state_pattern =
      args.state_path.empty() ? store::StateStore::default_path() : args.state_path;
  if (jobs.empty() && !global.quiet && !args.json) {
    print_report(fmt::format("pop3kit: no account of the config file is in shard {}\n",
                             sanitize(args.shard, 40)));
  }
  // One database for every account, opened once; or, with {account} in the
  // path, one per account, opened for it (a failure there is that account's).
  std::optional<StateFile> shared;
  if (!per_account(state_pattern) && !jobs.empty()) shared.emplace(state_pattern, args.dry_run);

  std::vector<Outcome> outcomes(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    outcomes[i].name = jobs[i].name;
    outcomes[i].destination = jobs[i].to;
  }
  if (jobs.size() > 1 && limits.jobs > 1) {
    fetch_concurrently(jobs, outcomes, shared ? &shared->store() : nullptr, state_pattern, args,
                       limits, cleanup, run_start);
  }
  for (std::size_t i = 0; i < jobs.size() && (jobs.size() == 1 || limits.jobs == 1); ++i) {
    const Job& job = jobs[i];
    Outcome& out = outcomes[i];
    const Timing timing(out, run_start);
    try {
      std::optional<StateFile> own;
      if (!shared) own.emplace(state_path_for(state_pattern, job.name), args.dry_run);
      fetch_one(job, shared ? shared->store() : own->store(), args, out);
    } catch (const Failure& f) {
      out.error = f.what();
      out.exit_code = combine_exit_codes({f.code(), outcome_code(out)});
    }
  }

  std::vector<int> codes;
  for (const auto& o : outcomes) {
    codes.push_back(o.exit_code);
    print_failures(o);
  }
  const int status = combine_exit_codes(codes);
  if (args.json) {
    nlohmann::json j = {{"accounts", nlohmann::json::array()}, {"exit_code", status}};
    for (const auto& o : outcomes)
      j["accounts"].push_back(outcome_json(o, args.dry_run));
    print_stdout(j.dump(2) + "\n");
  } else if (args.dry_run) {
    for (const auto& o : outcomes)
      print_dry_run(o);
  } else if (!global.quiet) {
    // A report, not data: on standard error, so that cron mails nothing
    // when -q is given and all went well.
    std::string text;
    for (const auto& o : outcomes)
      text += summary_line(o);
    print_report(text);
  }
  // A signal wound the run down: the command ends as the signal would have.
  if (cleanup.stopped_by() != 0) cleanup.end_as_signalled();
  return status;
}

}  // namespace pop3kit::cli
