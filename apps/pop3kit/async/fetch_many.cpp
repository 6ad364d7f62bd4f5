// pop3kit command — many accounts at once: `pop3kit fetch` over the config
// file's accounts on one event loop (fetch_jobs.hpp).
//
// One thread runs an io_context with every session (async::Client); the
// disk work runs on two small pools (pop3kit/async_fetch.hpp: the writing
// and the commits). `jobs` workers take accounts in the file's order; a
// worker skips ahead past an account whose server already has
// `max_per_host` sessions, and waits only when every account left is held
// back that way. Each account's steps are those of the one-at-a-time run:
// its lock, its destination, its recovery, then the session and the same
// fetch; one account's failure or slowness is its own.
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "../exit_codes.hpp"
#include "../fetch_jobs.hpp"
#include "../output.hpp"
#include "../progress_board.hpp"
#include "../signals.hpp"
#include "pop3kit/async_fetch.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Threads of the disk pools: the writing (and the state store's reads,
// secrets, recovery) and the commits. Few: the disk, not the CPU, is what
// they wait for, and each account's work is one task at a time anyway.
unsigned pool_threads(unsigned jobs) {
  return std::clamp(jobs / 4, 2U, 8U);
}

// The key of a TLS context: every option it is made from.
std::string tls_key(const net::TlsOptions& t) {
  std::string key = t.ca_file + '\0' + t.ca_dir + '\0' + t.client_cert_file + '\0' +
                    t.client_key_file + '\0' + (t.pins_replace_ca ? "1" : "0") +
                    (t.min_version == net::TlsVersion::tls1_3 ? "3" : "2");
  for (const auto& p : t.pins)
    key += '\0' + p;
  return key;
}

std::vector<std::string> names_of(const std::vector<Job>& jobs) {
  std::vector<std::string> names;
  names.reserve(jobs.size());
  for (const auto& j : jobs)
    names.push_back(j.name);
  return names;
}

ProgressBoard::Options board_options(const std::vector<Job>& jobs, const FetchArgs& args) {
  // -q and -v are the command line's, the same in every job.
  const GlobalOptions& o = jobs.front().options;
  return ProgressBoard::for_stderr(o.quiet, args.json, o.verbose);
}

void to_stderr(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

std::string host_key(const PopUrl& url) {
  std::string h = url.host;
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return h;
}

class Run {
 public:
  Run(const std::vector<Job>& jobs, std::vector<Outcome>& outcomes, store::StateStore* shared,
      std::string state_pattern, const FetchArgs& args, const RunLimits& limits,
      std::chrono::steady_clock::time_point run_start)
      : run_start_(run_start),
        jobs_(jobs),
        outcomes_(outcomes),
        shared_(shared),
        state_pattern_(std::move(state_pattern)),
        args_(args),
        limits_(limits),
        write_pool_(pool_threads(limits.jobs)),
        commit_pool_(pool_threads(limits.jobs)),
        disk_{write_pool_.get_executor(), commit_pool_.get_executor()},
        changed_(io_, asio::steady_timer::time_point::max()),
        board_(names_of(jobs), board_options(jobs, args), to_stderr) {
    for (std::size_t i = 0; i < jobs.size(); ++i)
      pending_.push_back(i);
  }

  ~Run() {
    write_pool_.join();
    commit_pool_.join();
  }

  void run() {
    const std::size_t workers = std::min<std::size_t>(limits_.jobs, jobs_.size());
    // An exception that escapes a worker (not a Failure: those are the
    // account's) leaves io_.run() and the command reports it.
    for (std::size_t i = 0; i < workers; ++i) {
      asio::co_spawn(io_, worker(), [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
    }
    io_.run();
  }

  // From any thread: every session ends, no account starts.
  void stop() {
    asio::post(io_, [this] {
      stopping_ = true;
      for (async::Client* c : live_)
        c->cancel();
      changed_.cancel();
    });
  }

 private:
  // The next account whose server has a free slot, or none.
  std::optional<std::size_t> pick() {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (per_host_[host_key(jobs_[*it].url)] < limits_.max_per_host) {
        const std::size_t i = *it;
        pending_.erase(it);
        return i;
      }
    }
    return std::nullopt;
  }

  asio::awaitable<void> worker() {
    while (!pending_.empty()) {
      if (stopping_) {
        // Not started: said so, and fetched by the next run.
        const std::size_t i = pending_.front();
        pending_.pop_front();
        outcomes_[i].error = "not fetched: the run was interrupted";
        outcomes_[i].exit_code = exit_code::temp_fail;
        continue;
      }
      const auto next = pick();
      if (!next) {
        // Every account left waits for its server: until a session ends.
        (void)co_await changed_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      const std::string host = host_key(jobs_[*next].url);
      ++per_host_[host];
      co_await fetch_job(jobs_[*next], outcomes_[*next]);
      --per_host_[host];
      // Wakes the workers that wait (the timer never expires: cancel()
      // completes the waits, and later waits wait again).
      changed_.cancel();
    }
  }

  // A TLS context per distinct set of TLS options, made once off the loop
  // (it reads the trust store).
  asio::awaitable<std::shared_ptr<async::TlsContext>> tls_context(const net::TlsOptions& options) {
    const std::string key = tls_key(options);
    if (auto it = contexts_.find(key); it != contexts_.end()) co_return it->second;
    auto made = co_await store::run_on_pool<Result<std::shared_ptr<async::TlsContext>>>(
        disk_.write, [&] { return async::TlsContext::make(options); });
    if (!made) throw failure_from(made.error());
    // Another account may have made it meanwhile: either serves.
    co_return contexts_.emplace(key, std::move(*made)).first->second;
  }

  asio::awaitable<void> fetch_job(const Job& job, Outcome& out) {
    const Timing timing(out, run_start_);
    const std::unique_ptr<ProgressBoard::Row> row = board_.row(job.name);
    std::unique_ptr<StateFile> own;
    std::optional<Prepared> ready;
    try {
      store::StateStore* state = shared_;
      ready.emplace(co_await store::run_on_pool<Prepared>(disk_.write, [&] {
        if (state == nullptr) {
          own =
              std::make_unique<StateFile>(state_path_for(state_pattern_, job.name), args_.dry_run);
          state = &own->store();
        }
        return prepare(job, *state, out);
      }));
      SessionSetup setup = session_setup(job.url, job.options, job.plan, job.name);
      std::shared_ptr<async::TlsContext> context;
      if (setup.plan.security != Security::plain) {
        net::TlsOptions tls = setup.account.tls;
        if (tls.client_key_file.empty()) tls.client_key_file = tls.client_cert_file;
        context = co_await tls_context(tls);
      }
      if (stopping_) throw Failure(exit_code::temp_fail, "not fetched: the run was interrupted");
      async::Client client(io_.get_executor(),
                           store::async_client_options(setup.account, setup.plan, context));
      live_.insert(&client);
      struct Forget {
        std::set<async::Client*>& live;
        async::Client* client;
        ~Forget() { live.erase(client); }
      } forget{live_, &client};
      session::Query listing(session::Query::Kind::listing);
      auto method =
          co_await store::open_account_async(client, setup.account, setup.plan, &listing, disk_);
      if (!method) throw session_failure(method.error(), job.options, *setup.oauth_error);
      out.report = co_await store::fetch_account_async(client, job.fetch, *ready->destination,
                                                       *state, *row, disk_, &listing.entries());
      if (out.report.error) out.error = out.report.error->message;
      out.exit_code = outcome_code(out);
    } catch (const Failure& f) {
      out.error = f.what();
      out.exit_code = combine_exit_codes({f.code(), outcome_code(out)});
    }
    // Closing the destination and the database may flush: off the loop.
    co_await store::run_on_pool<bool>(disk_.write, [&] {
      ready.reset();
      own.reset();
      return true;
    });
    row->finish(out.exit_code == 0);
  }

  const std::chrono::steady_clock::time_point run_start_;
  const std::vector<Job>& jobs_;
  std::vector<Outcome>& outcomes_;
  store::StateStore* shared_;
  const std::string state_pattern_;
  const FetchArgs& args_;
  const RunLimits limits_;

  asio::io_context io_;
  asio::thread_pool write_pool_;
  asio::thread_pool commit_pool_;
  store::DiskExecutors disk_;
  asio::steady_timer changed_;
  std::deque<std::size_t> pending_;
  std::map<std::string, unsigned> per_host_;
  std::map<std::string, std::shared_ptr<async::TlsContext>> contexts_;
  std::set<async::Client*> live_;
  bool stopping_ = false;
  ProgressBoard board_;
};

}  // namespace

void fetch_concurrently(const std::vector<Job>& jobs, std::vector<Outcome>& outcomes,
                        store::StateStore* shared, const std::string& state_pattern,
                        const FetchArgs& args, const RunLimits& limits, CleanupOnSignal& signals,
                        std::chrono::steady_clock::time_point run_start) {
  Run run(jobs, outcomes, shared, state_pattern, args, limits, run_start);
  signals.stop_gracefully([&run](int) { run.stop(); });
  run.run();
  signals.stop_gracefully({});
}

}  // namespace pop3kit::cli
