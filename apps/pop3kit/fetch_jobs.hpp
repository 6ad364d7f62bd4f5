// pop3kit command — what `pop3kit fetch` decides before the network, and
// the steps of one account that the one-at-a-time run (fetch.cpp) and the
// concurrent run (fetch_many.cpp) share.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fetch.hpp"
#include "pop3kit/delivery.hpp"
#include "pop3kit/fetch.hpp"
#include "pop3kit/state.hpp"

namespace pop3kit::cli {

/// How long a second fetcher of the same account waits for the first.
inline constexpr std::chrono::seconds kLockWait{3};

/// One account to fetch, everything decided before the network.
struct Job {
  std::string name;  ///< config name, or the URL's user@host
  PopUrl url;
  GlobalOptions options;
  LoginPlan plan;
  std::string to;
  store::DestinationOptions destination_options;
  store::FetchPlan fetch;
};

/// What happened to one account.
struct Outcome {
  std::string name;
  std::string destination;
  store::FetchReport report;
  std::optional<std::string> error;  ///< the account failed before or during the session
  int exit_code = 0;
  /// When the account's turn began, in seconds since the run began, and how
  /// long it took (--json: "started", "seconds").
  double started = 0, seconds = 0;
};

/// Sets out.started and, when destroyed, out.seconds.
class Timing {
 public:
  Timing(Outcome& out, std::chrono::steady_clock::time_point run_start)
      : out_(out), begin_(std::chrono::steady_clock::now()) {
    out_.started = std::chrono::duration<double>(begin_ - run_start).count();
  }
  ~Timing() {
    out_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
  }
  Timing(const Timing&) = delete;
  Timing& operator=(const Timing&) = delete;

 private:
  Outcome& out_;
  std::chrono::steady_clock::time_point begin_;
};

/// The exit code of an outcome's report (its failures and session error).
int outcome_code(const Outcome& o);

/// An account ready for its session: its lock held, its destination open
/// (created when missing) and interrupted deliveries resolved (neither in a
/// dry run). Throws Failure.
struct Prepared {
  store::AccountLock lock;
  std::unique_ptr<store::Destination> destination;
};
Prepared prepare(const Job& job, store::StateStore& state, Outcome& out);

/// True when the --state pattern holds "{account}": a database per account.
bool per_account(std::string_view state_pattern);
/// The pattern with "{account}" replaced by the account's file name.
std::string state_path_for(std::string pattern, std::string_view account);

/// An open state database. A dry run without a database yet sees
/// everything as new and creates none (it opens an empty one in a
/// directory removed after). Throws Failure.
class StateFile {
 public:
  StateFile(std::string path, bool dry_run);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;
  store::StateStore& store() { return *store_; }

 private:
  std::string scratch_;  // the dry run's directory, removed after store_
  std::optional<store::StateStore> store_;
};

/// How the concurrent run is bounded.
struct RunLimits {
  unsigned jobs = 16;         ///< Accounts at once.
  unsigned max_per_host = 4;  ///< Sessions to one server (host name) at once.
};

class CleanupOnSignal;

/// Fetches `jobs` concurrently on one event loop (fetch_many.cpp), filling
/// `outcomes` (one per job, in order, names and destinations set by the
/// caller). `shared`: the one state database, or null for one per account
/// from `state_pattern`. The first SIGINT/SIGTERM/SIGHUP (`signals`) ends
/// every session as a dropped connection would: what was stored is made
/// durable and recorded, nothing more is deleted.
void fetch_concurrently(const std::vector<Job>& jobs, std::vector<Outcome>& outcomes,
                        store::StateStore* shared, const std::string& state_pattern,
                        const FetchArgs& args, const RunLimits& limits, CleanupOnSignal& signals,
                        std::chrono::steady_clock::time_point run_start);

}  // namespace pop3kit::cli
