// fetch_account(): retrieve → deliver → make durable → commit → DELE → QUIT.
#include "pop3kit/fetch.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch_runner.hpp"
#include "fetch_steps.hpp"
#include "pop3kit/spooler.hpp"

namespace pop3kit::store {

Result<std::uint64_t> recover_pending(const AccountId& account, StateStore& state,
                                      Destination& destination) {
  auto pending = state.pending(account);
  if (!pending) return std::move(pending).error();
  std::vector<DeliveredMessage> found;
  std::vector<std::string> gone;
  // An intent recorded for another destination (the configuration changed
  // since the crash) is resolved there, not here.
  std::map<std::string, std::unique_ptr<Destination>> others;
  for (const MessageRecord& rec : *pending) {
    Destination* where = &destination;
    if (rec.destination != destination.spec()) {
      auto& other = others[rec.destination];
      if (!other) {
        auto made = parse_destination(rec.destination);
        if (!made) return std::move(made).error();
        if (auto r = (*made)->open(); !r) return std::move(r).error();
        other = std::move(*made);
      }
      where = other.get();
    }
    auto there = where->recover(rec.reservation);
    if (!there) return std::move(there).error();
    if (*there) {
      found.push_back(DeliveredMessage{rec.uid, std::move(**there)});
    } else {
      gone.push_back(rec.uid);
    }
  }
  if (!found.empty()) {
    if (auto r = state.mark_delivered(account, found); !r) return std::move(r).error();
  }
  if (!gone.empty()) {
    if (auto r = state.forget(account, gone); !r) return std::move(r).error();
  }
  return static_cast<std::uint64_t>(found.size());
}

FetchReport fetch_account(Client& client, const FetchPlan& plan, Destination& destination,
                          StateStore& state, Progress& progress,
                          const std::vector<MessageEntry>* listed) {
  FetchReport report;
  const FetchOptions& options = plan.options;
  auto stop = [&](Error e) {
    // No QUIT: nothing marked deleted in this session is removed.
    client.close();
    report.error = std::move(e);
    return report;
  };

  if (!options.dry_run) {
    auto recovered = recover_pending(plan.account, state, destination);
    if (!recovered) return stop(std::move(recovered).error());
    report.recovered = *recovered;
  }

  std::vector<MessageEntry> own_listing;
  if (listed == nullptr) {
    auto l = client.list_with_uidl();
    if (!l) return stop(std::move(l).error());
    own_listing = std::move(*l);
    listed = &own_listing;
  }
  std::vector<MessageRecord> records;
  if (detail::listing_has_uidl(*listed)) {
    auto r = state.records(plan.account);
    if (!r) return stop(std::move(r).error());
    records = std::move(*r);
  }
  const detail::Selection selection =
      detail::select_messages(*listed, records, options, client.capabilities(), report, progress);
  if (options.dry_run) {
    report.quit_ok = client.quit().ok();
    return report;
  }

  std::uint64_t total = 0;
  for (const auto& item : selection.to_fetch)
    total += item.ref.size;
  progress.start(selection.to_fetch.size(), total);

  detail::BatchRunner runner(plan, selection.to_fetch, destination, state, report.uidl, progress,
                             report);
  std::optional<Error> session_error;
  if (!selection.to_fetch.empty()) {
    std::vector<std::uint64_t> numbers, sizes;
    numbers.reserve(selection.to_fetch.size());
    sizes.reserve(selection.to_fetch.size());
    for (const auto& item : selection.to_fetch) {
      numbers.push_back(item.ref.number);
      sizes.push_back(item.ref.size);
    }
    // The deliveries run on the spooler's thread while this one reads.
    Spooler spooler(runner);
    if (auto r = client.retrieve_many(numbers, spooler, sizes); !r) {
      session_error = std::move(r).error();
    }
    spooler.finish();
  }
  // What ended is made durable and recorded even when the session broke.
  if (auto r = runner.finish(); !r) return stop(std::move(r).error());
  if (session_error) return stop(std::move(*session_error));

  const detail::Deletions dele = detail::deletions(selection, runner.delivered_numbers(), options);
  std::vector<std::string> deleted_keys;
  if (!dele.numbers.empty()) {
    auto answers = client.dele_many(dele.numbers);
    if (!answers) return stop(std::move(answers).error());
    deleted_keys = detail::dele_answers(dele, *answers, report);
  }
  if (!detail::quit_answered(client.quit(), deleted_keys.size(), report)) return report;
  if (report.uidl && !deleted_keys.empty()) {
    if (auto r = state.mark_deleted(plan.account, deleted_keys); !r) {
      report.error = std::move(r).error();
      return report;
    }
  }
  report.deleted = deleted_keys.size();
  return report;
}

}  // namespace pop3kit::store
