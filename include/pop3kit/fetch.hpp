/// pop3kit — fetching a mailbox: retrieve, deliver, make durable, commit, DELE, QUIT.
///
/// fetch_account() is what `pop3kit fetch` runs for each account, and what a
/// program that embeds pop3kit calls to get the same promises:
///
///  - a message is DELE'd only after it is durable at its destination and
///    the state store has recorded it as delivered;
///  - a message counts as deleted only after the server answered QUIT with
///    +OK (RFC 1939 §6); if the session ends any other way, the state says
///    "delivered, not deleted" and the next run with delete on sends its DELE
///    without fetching it again;
///  - when the server has UIDL, a crash at any instant neither loses nor
///    duplicates a message with a Maildir or mbox destination (intents are
///    recorded before writing and resolved against the destination on the
///    next start); MDA destinations and servers without UIDL are at least
///    once.
///
/// Work goes in batches bounded by bytes and by message count (the sizes
/// come from LIST): per batch, one transaction records the intents, the
/// messages are retrieved pipelined into the destination, one commit makes
/// the whole batch durable, and one transaction marks it delivered; DELE
/// follows for everything delivered. So a large run pays a few disk flushes
/// per batch, not one per message. Three threads share the work: the
/// caller's reads the socket, a spooler's (pop3kit/spooler.hpp) writes the
/// messages, and a committer's makes batch k durable while batch k+1 is
/// written; only the last batch's commit is paid after the last message.
///
/// @file
/// @ingroup fetch
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pop3kit/client.hpp"
#include "pop3kit/delivery.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/state.hpp"

namespace pop3kit::store {

/// What fetch_account() does with the maildrop.
struct POP3KIT_EXPORT FetchOptions {
  /// DELE each message once it is durable (default: keep it on the server).
  bool remove = false;
  /// Fetch messages the state says were fetched before, too.
  bool all = false;
  /// Messages larger than this (LIST size) stay on the server and are reported.
  std::optional<std::uint64_t> max_size;
  /// Only report what would be fetched: no intent, no delivery, no DELE.
  bool dry_run = false;
  /// Batch bounds: a batch closes at whichever is reached first.
  std::uint64_t batch_bytes = 4 * 1024 * 1024;
  std::size_t batch_messages = 250;  ///< See batch_bytes.
};

/// Which account's records a fetch uses, and how it fetches.
struct POP3KIT_EXPORT FetchPlan {
  AccountId account;     ///< Whose records (StateStore) the fetch reads and writes.
  FetchOptions options;  ///< What it does.
};

/// One message fetch_account() looked at.
struct POP3KIT_EXPORT MessageRef {
  std::uint64_t number = 0;  ///< Message number in this session.
  std::string uid;           ///< Empty when the server has no UIDL.
  std::uint64_t size = 0;    ///< LIST size.
};

/// A message that was not delivered (or not deleted), and why.
struct POP3KIT_EXPORT MessageFailure {
  MessageRef message;  ///< The message.
  Error error;         ///< Why.
};

/// What fetch_account() did.
struct POP3KIT_EXPORT FetchReport {
  bool uidl = true;                      ///< False: the server has no UIDL (all messages are new).
  std::uint64_t listed = 0;              ///< Messages in the maildrop.
  std::uint64_t fresh = 0;               ///< Not fetched before (or all, with FetchOptions::all).
  std::uint64_t delivered = 0;           ///< Delivered and durable in this run.
  std::uint64_t octets = 0;              ///< Octets stored by those deliveries.
  std::uint64_t recovered = 0;           ///< Interrupted deliveries found complete at the start.
  std::uint64_t deleted = 0;             ///< Removed by the server (QUIT answered +OK).
  std::vector<MessageRef> too_big;       ///< Skipped by FetchOptions::max_size.
  std::vector<MessageRef> would_fetch;   ///< FetchOptions::dry_run: what would be fetched.
  std::vector<MessageFailure> failures;  ///< Messages not delivered (or not deleted).
  std::vector<std::string> warnings;     ///< One line each (EXPIRE 0 with keep, no UIDL).
  bool quit_ok = false;                  ///< QUIT was answered +OK.
  /// Set when the session or the state store failed as a whole (a dropped
  /// connection, a protocol error, a state store that cannot be written):
  /// the counts above say how far the run got.
  std::optional<Error> error;
  /// No session error and no failed message.
  bool ok() const noexcept { return !error && failures.empty(); }
};

/// What fetch_account() tells a progress display. Called from one thread at
/// a time (during the retrieval, the thread that writes the messages, not
/// the caller's); must not throw.
class POP3KIT_EXPORT Progress {
 public:
  virtual ~Progress() = default;
  /// Before the first message: how many are to be fetched, and their LIST sizes.
  virtual void start(std::uint64_t messages, std::uint64_t octets) = 0;
  /// Octets received so far in this run (called for every chunk).
  virtual void received(std::uint64_t octets) = 0;
  /// A message was stored (not yet durable), or failed.
  virtual void message_done(const MessageRef& message, bool ok) = 0;
  /// A warning for the user, one line (the same as FetchReport::warnings).
  virtual void warning(const std::string& text) = 0;
};

/// A Progress that shows nothing.
class POP3KIT_EXPORT NoProgress final : public Progress {
 public:
  void start(std::uint64_t, std::uint64_t) override {}
  void received(std::uint64_t) override {}
  void message_done(const MessageRef&, bool) override {}
  void warning(const std::string&) override {}
};

/// Resolves interrupted deliveries of the account that the state store
/// holds as intents: each is looked for at the destination it was meant for
/// (Destination::recover) and marked delivered or forgotten. Needs no
/// connection. Returns how many were found delivered. Errors: the state
/// store's and the destination's.
POP3KIT_EXPORT Result<std::uint64_t> recover_pending(const AccountId& account, StateStore& state,
                                                     Destination& destination);

/// Fetches the maildrop of a logged-in `client` (TRANSACTION state) into
/// `destination`, per `plan`, and ends the session with QUIT.
///
/// Preconditions: `destination.open()` succeeded (not needed for a dry
/// run); the caller holds `state.lock(plan.account)`. fetch_account() runs
/// recover_pending() first (not in a dry run, which changes nothing).
///
/// The report says what happened. Single messages can fail while the others
/// go on (report.failures: the server refused one, or the destination could
/// not store it). report.error is set when the session or the state store
/// failed as a whole; every message already made durable and recorded stays
/// so, and nothing that was not durable was DELE'd.
///
/// `listing`: the session's LIST+UIDL when the caller already has it (it
/// can follow the login at once: a listing Query given to Client::login());
/// nullptr to ask here.
POP3KIT_EXPORT FetchReport fetch_account(Client& client, const FetchPlan& plan,
                                         Destination& destination, StateStore& state,
                                         Progress& progress,
                                         const std::vector<MessageEntry>* listing = nullptr);

}  // namespace pop3kit::store
