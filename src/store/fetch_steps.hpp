// pop3kit::store — the steps of a fetch that do not depend on the driver.
//
// fetch_account() (blocking) and the asynchronous fetch run the same steps
// around their network calls: which messages to fetch and which to delete
// (from the listing, the state's records and the options), and what the
// DELE answers and QUIT's mean for the report and the state. Keeping them
// here keeps the two drivers' promises the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pop3kit/client.hpp"
#include "pop3kit/fetch.hpp"
#include "pop3kit/state.hpp"

namespace pop3kit::store::detail {

/// One message to fetch (or delete), with its state key.
struct Item {
  MessageRef ref;
  std::string key;
};

/// What a run does with the listed messages.
struct Selection {
  std::vector<Item> to_fetch;
  std::vector<Item> to_delete;  ///< Delivered in an earlier run, not yet deleted.
};

/// True when every listed message has a UID (the state can be used).
bool listing_has_uidl(const std::vector<MessageEntry>& listing);

/// Chooses what to fetch and what to delete. Sets report.listed, uidl (from
/// the listing), warnings (also given to `progress`), too_big and fresh.
/// `records`: the account's records in the state (not read without UIDL).
Selection select_messages(const std::vector<MessageEntry>& listing,
                          const std::vector<MessageRecord>& records, const FetchOptions& options,
                          const Capabilities& capabilities, FetchReport& report,
                          Progress& progress);

/// The DELE commands of a run: what is durable and recorded as delivered
/// (this run's deliveries, `delivered_numbers`, and earlier ones whose
/// deletion was never confirmed). Empty unless options.remove.
struct Deletions {
  std::vector<std::uint64_t> numbers;
  std::vector<std::string> keys;
  std::vector<MessageRef> refs;
};
Deletions deletions(const Selection& selection, const std::vector<std::uint64_t>& delivered_numbers,
                    const FetchOptions& options);

/// The DELE answers: failures go to the report; the keys of the messages
/// marked deleted are returned.
std::vector<std::string> dele_answers(const Deletions& deletions,
                                      const std::vector<Result<void>>& answers,
                                      FetchReport& report);

/// QUIT's answer (RFC 1939 §6: the messages go only when QUIT is answered
/// +OK): sets report.quit_ok; when QUIT failed and `deleted` messages were
/// marked, report.error says that their deletion is not confirmed. Returns
/// quit.ok().
bool quit_answered(Result<void> quit, std::size_t deleted, FetchReport& report);

}  // namespace pop3kit::store::detail
