// pop3kit::store — the driver-independent steps of a fetch (fetch_steps.hpp).
#include "fetch_steps.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace pop3kit::store::detail {
namespace {

// The key of a message in the state store: its UID. RFC 1939 lets two
// identical messages share a UID; the second and later get " #k" appended
// (a space never occurs in a UID, so no real UID collides with it).
std::vector<std::string> state_keys(const std::vector<MessageEntry>& listing) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  keys.reserve(listing.size());
  for (const auto& m : listing) {
    const int k = seen[m.uid]++;
    keys.push_back(k == 0 ? m.uid : m.uid + " #" + std::to_string(k));
  }
  return keys;
}

}  // namespace

bool listing_has_uidl(const std::vector<MessageEntry>& listing) {
  return std::all_of(listing.begin(), listing.end(),
                     [](const MessageEntry& m) { return !m.uid.empty(); });
}

Selection select_messages(const std::vector<MessageEntry>& listing,
                          const std::vector<MessageRecord>& records, const FetchOptions& options,
                          const Capabilities& capabilities, FetchReport& report,
                          Progress& progress) {
  report.listed = listing.size();
  report.uidl = listing_has_uidl(listing);
  auto warn = [&](std::string text) {
    progress.warning(text);
    report.warnings.push_back(std::move(text));
  };
  if (!report.uidl) {
    warn(
        "the server has no UIDL: pop3kit cannot tell which messages it fetched before, so every "
        "message is fetched" +
        std::string(options.remove ? "" : " again on each run (use --delete)"));
  }
  if (!options.remove) {
    if (auto expire = capabilities.expire(); expire && expire->value == 0U) {
      warn(
          "the server says EXPIRE 0: it deletes messages once they are retrieved, whether or not "
          "pop3kit keeps them");
    }
  }

  // What the state says about each listed message.
  std::map<std::string, MessageState> known;
  if (report.uidl) {
    for (const auto& r : records)
      if (r.state != MessageState::intent) known[r.uid] = r.state;
  }
  const std::vector<std::string> keys =
      report.uidl ? state_keys(listing) : std::vector<std::string>(listing.size());
  Selection out;
  for (std::size_t i = 0; i < listing.size(); ++i) {
    const MessageEntry& m = listing[i];
    Item item{MessageRef{m.number, m.uid, m.size}, keys[i]};
    const bool fetched_before = report.uidl && known.count(keys[i]) != 0;
    if (fetched_before && !options.all) {
      if (options.remove) out.to_delete.push_back(std::move(item));
      continue;
    }
    if (options.max_size && m.size > *options.max_size) {
      report.too_big.push_back(item.ref);
      continue;
    }
    out.to_fetch.push_back(std::move(item));
  }
  report.fresh = out.to_fetch.size();
  if (options.dry_run) {
    for (const auto& item : out.to_fetch)
      report.would_fetch.push_back(item.ref);
  }
  return out;
}

Deletions deletions(const Selection& selection, const std::vector<std::uint64_t>& delivered_numbers,
                    const FetchOptions& options) {
  Deletions out;
  if (!options.remove) return out;
  for (const auto& item : selection.to_delete) {
    out.numbers.push_back(item.ref.number);
    out.keys.push_back(item.key);
    out.refs.push_back(item.ref);
  }
  std::map<std::uint64_t, const Item*> by_number;
  for (const auto& item : selection.to_fetch)
    by_number[item.ref.number] = &item;
  for (const std::uint64_t n : delivered_numbers) {
    out.numbers.push_back(n);
    out.keys.push_back(by_number.at(n)->key);
    out.refs.push_back(by_number.at(n)->ref);
  }
  return out;
}

std::vector<std::string> dele_answers(const Deletions& deletions,
                                      const std::vector<Result<void>>& answers,
                                      FetchReport& report) {
  std::vector<std::string> deleted;
  for (std::size_t i = 0; i < answers.size() && i < deletions.keys.size(); ++i) {
    if (answers[i]) {
      deleted.push_back(deletions.keys[i]);
    } else {
      report.failures.push_back(MessageFailure{deletions.refs[i], answers[i].error()});
    }
  }
  return deleted;
}

bool quit_answered(Result<void> quit, std::size_t deleted, FetchReport& report) {
  report.quit_ok = quit.ok();
  if (quit) return true;
  if (deleted != 0) {
    Error e = std::move(quit).error();
    e.message = "QUIT: " + e.message + "; the server did not confirm the deletion of " +
                std::to_string(deleted) + " delivered message(s): the next run deletes them";
    report.error = std::move(e);
  }
  return false;
}

}  // namespace pop3kit::store::detail
