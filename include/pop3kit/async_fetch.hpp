/// pop3kit — fetching mailboxes on an event loop: the account opening and
/// fetch_account() of pop3kit/account.hpp and pop3kit/fetch.hpp, over an
/// async::Client, so that one thread serves the sessions of many accounts.
///
/// Same decisions, same promises: the login method is chosen by the same
/// rules (a refused login reads the same), and a fetch keeps every promise
/// of fetch_account() (a message is DELE'd only once durable and recorded,
/// deleted only after QUIT's +OK, exactly once with UIDL and Maildir or
/// mbox). The selection, the batches, the commits and the deletion rules
/// are the same code.
///
/// What differs is where the work runs. The network runs on the client's
/// executor (the event loop). Everything that touches the disk or may block
/// runs on the executors of DiskExecutors, never on the loop: reading a
/// password (a command may be run), the state store, recovering interrupted
/// deliveries, writing the messages, and the commits (syncfs, fsync,
/// SQLite). The retrieval's messages are queued to the `write` executor
/// through a queue bounded in bytes (1 MiB per account); when it is full,
/// that account's socket is not read until the disk catches up
/// (async::ReadGate), so a slow disk slows only the accounts it holds back
/// and memory stays bounded. The commits run on the `commit` executor,
/// which must be a different pool from `write`: a writing task may wait for
/// a commit (at most two batches wait per account), a commit never waits
/// for a writing task.
///
/// Build: the CMake target pop3kit::async_fetch (with pop3kit::async);
/// compile with ASIO_STANDALONE (the target sets it).
///
/// @file
/// @ingroup fetch
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pop3kit/account.hpp"
#include "pop3kit/async.hpp"
#include "pop3kit/fetch.hpp"

namespace pop3kit::store {

/// Where the disk work of the async calls runs: executors of two thread
/// pools (asio::thread_pool::get_executor()), different ones (see the file
/// comment). They must outlive the calls that use them.
struct DiskExecutors {
  asio::any_io_executor write;   ///< Secrets, the state store, recovery, the messages.
  asio::any_io_executor commit;  ///< The batches' commits.
};

/// Runs `work` (a blocking call returning T) on `pool` and resumes the
/// calling coroutine on its own executor with the result: how the async
/// calls keep the disk off the loop. An exception `work` throws is rethrown
/// in the coroutine. `work` and what it refers to live in the coroutine's
/// frame, which waits.
template <class T, class F>
asio::awaitable<T> run_on_pool(const asio::any_io_executor& pool, F work) {
  std::optional<T> out;
  std::exception_ptr failure;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        auto home = asio::get_associated_executor(handler);
        asio::post(pool, [&, handler = std::move(handler), home]() mutable {
          try {
            out.emplace(work());
          } catch (...) {
            failure = std::current_exception();
          }
          asio::post(home, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*out);
}

/// The async::ClientOptions for `account` and `plan` (as client_options()
/// for the blocking client); `tls_context`, when set, is shared (see
/// async::TlsContext) and must have been made from the account's TLS
/// options (with the key file defaulting to the certificate file).
async::ClientOptions async_client_options(const Account& account, const AccountPlan& plan,
                                          std::shared_ptr<async::TlsContext> tls_context = {});

/// open_account() over `client` (made with async_client_options()): reads
/// the secrets the plan needs (on `disk.write`), connects, asks CAPA,
/// chooses the method by the same rules, sends UTF8 when offered, logs in,
/// and runs `query` when there is one (after USER/PASS and APOP in the
/// write that follows the login's answer). Returns the method that logged
/// in ("USER", "APOP", a SASL mechanism; empty without login). Errors: those
/// of open_account(), worded the same. Account::on_connected is not called
/// (it takes a blocking Client). `account`, `plan`, `query` and `disk` must
/// outlive the call.
asio::awaitable<Result<std::string>> open_account_async(async::Client& client,
                                                        const Account& account,
                                                        const AccountPlan& plan,
                                                        session::Query* query,
                                                        const DiskExecutors& disk);

/// fetch_account() over a logged-in `client`: the same preconditions (the
/// destination open, the account's state lock held), the same report, the
/// same promises. Progress is called from the `write` executor's threads
/// (one at a time for one fetch) and from the client's executor (warnings).
/// Every argument must outlive the call. When the client is closed while
/// the call runs (to cancel it), the call ends as after a dropped
/// connection: what was stored is made durable and recorded, nothing more
/// is deleted, and report.error says the session ended.
asio::awaitable<FetchReport> fetch_account_async(
    async::Client& client, const FetchPlan& plan, Destination& destination, StateStore& state,
    Progress& progress, const DiskExecutors& disk,
    const std::vector<MessageEntry>* listing = nullptr);

}  // namespace pop3kit::store
