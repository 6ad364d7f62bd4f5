// pop3kit::store — open_account() and fetch_account() over an async::Client
// (pop3kit/async_fetch.hpp): the network on the loop, the disk on pools.
#include "pop3kit/async_fetch.hpp"

#include <openssl/crypto.h>

#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <utility>

#include "../../client/account_rules.hpp"
#include "../batch_runner.hpp"
#include "../fetch_steps.hpp"
#include "pool_spooler.hpp"

namespace pop3kit::store {
namespace {

async::Security async_security(Security s) {
  switch (s) {
    case Security::plain:
      return async::Security::plain;
    case Security::tls:
      return async::Security::tls;
    case Security::starttls:
      break;
  }
  return async::Security::starttls;
}

}  // namespace

async::ClientOptions async_client_options(const Account& account, const AccountPlan& plan,
                                          std::shared_ptr<async::TlsContext> tls_context) {
  // The blocking client's options, field by field: one place decides them.
  const ClientOptions blocking = client_options(account, plan);
  async::ClientOptions out;
  out.security = async_security(blocking.security);
  out.tls = blocking.tls;
  out.tls_context = std::move(tls_context);
  out.connect_timeout = blocking.connect_timeout;
  out.io_timeout = blocking.io_timeout;
  out.operation_deadline = blocking.operation_deadline;
  out.deadline_per_mib = blocking.deadline_per_mib;
  out.family = blocking.family;
  out.allow_plaintext_password = blocking.allow_plaintext_password;
  out.channel_binding = blocking.channel_binding;
  out.trace = blocking.trace;
  return out;
}

asio::awaitable<Result<std::string>> open_account_async(async::Client& client,
                                                        const Account& account,
                                                        const AccountPlan& plan,
                                                        session::Query* query,
                                                        const DiskExecutors& disk) {
  // Secrets before connecting (a failing password command costs no
  // connection), off the loop: a password command may take its time.
  pop3kit::detail::Secrets secrets;
  if (plan.needs_password) {
    auto r = co_await run_on_pool<Result<void>>(disk.write, [&] {
      return pop3kit::detail::obtain(account.password, "password", secrets.password);
    });
    if (!r) co_return std::move(r).error();
  }
  if (plan.needs_token) {
    auto r = co_await run_on_pool<Result<void>>(
        disk.write, [&] { return pop3kit::detail::obtain(account.token, "token", secrets.token); });
    if (!r) co_return std::move(r).error();
  }
  if (auto r = co_await client.connect(account.url.host, account.url.port); !r) {
    co_return std::move(r).error();
  }
  // CAPA decides the method and whether commands may be pipelined; after
  // STLS the client has already asked it over TLS.
  if (client.capabilities().entries.empty()) {
    if (auto caps = co_await client.capa(); !caps && !client.connected()) {
      co_return std::move(caps).error();
    }
  }
  if (plan.login == LoginChoice::none) {
    if (query != nullptr) {
      if (auto r = co_await client.query(*query); !r) co_return std::move(r).error();
    }
    co_return std::string();
  }
  auto chosen = pop3kit::detail::choose_method(client.capabilities(), client.choose_mechanism(),
                                               account, plan);
  if (!chosen) co_return std::move(chosen).error();
  std::string method = std::move(*chosen);
  if (account.utf8 && client.capabilities().has("UTF8")) {
    if (auto r = co_await client.utf8(); !r && !client.connected()) co_return std::move(r).error();
  }
  if (method == "USER" || method == "APOP") {
    LoginOptions login;
    if (method == "APOP") login.method = LoginMethod::apop;
    if (auto r = co_await client.login(account.url.user, secrets.password, login, query); !r) {
      // TRANSACTION state: the login worked and what came after it failed.
      if (query != nullptr && client.state() == proto::State::transaction) {
        co_return std::move(r).error();
      }
      co_return pop3kit::detail::login_failure(method, std::move(r).error(), client.capabilities(),
                                               account);
    }
    if (query != nullptr && !query->outcome()) co_return query->outcome().error();
    co_return method;
  }
  auth::SaslCredentials creds;
  creds.authcid = account.url.user;
  creds.password = secrets.password;
  creds.token = secrets.token;
  creds.host = account.url.host;
  creds.port = account.url.port;
  if (account.on_oauth_error) {
    creds.on_error_challenge = [&account, &method](std::string_view challenge) {
      account.on_oauth_error(method, challenge);
    };
  }
  // Not a conditional expression: GCC 12 mishandles co_await in one (it
  // destroys the result of the branch not taken).
  Result<void> r;
  if (plan.login == LoginChoice::automatic) {
    r = co_await client.authenticate_chosen(method, creds);
  } else {
    r = co_await client.authenticate(method, creds);
  }
  if (!client.sasl_login().mechanism.empty()) method = client.sasl_login().mechanism;
  OPENSSL_cleanse(creds.password.data(), creds.password.size());
  OPENSSL_cleanse(creds.token.data(), creds.token.size());
  if (!r) {
    co_return pop3kit::detail::login_failure(method, std::move(r).error(), client.capabilities(),
                                             account, &client.sasl_login());
  }
  if (query != nullptr) {
    if (auto q = co_await client.query(*query); !q) co_return std::move(q).error();
  }
  co_return method;
}

asio::awaitable<FetchReport> fetch_account_async(async::Client& client, const FetchPlan& plan,
                                                 Destination& destination, StateStore& state,
                                                 Progress& progress, const DiskExecutors& disk,
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
    auto recovered = co_await run_on_pool<Result<std::uint64_t>>(
        disk.write, [&] { return recover_pending(plan.account, state, destination); });
    if (!recovered) co_return stop(std::move(recovered).error());
    report.recovered = *recovered;
  }

  std::vector<MessageEntry> own_listing;
  if (listed == nullptr) {
    auto l = co_await client.list_with_uidl();
    if (!l) co_return stop(std::move(l).error());
    own_listing = std::move(*l);
    listed = &own_listing;
  }
  std::vector<MessageRecord> records;
  if (detail::listing_has_uidl(*listed)) {
    auto r = co_await run_on_pool<Result<std::vector<MessageRecord>>>(
        disk.write, [&] { return state.records(plan.account); });
    if (!r) co_return stop(std::move(r).error());
    records = std::move(*r);
  }
  const detail::Selection selection =
      detail::select_messages(*listed, records, options, client.capabilities(), report, progress);
  if (options.dry_run) {
    report.quit_ok = (co_await client.quit()).ok();
    co_return report;
  }

  std::uint64_t total = 0;
  for (const auto& item : selection.to_fetch)
    total += item.ref.size;
  progress.start(selection.to_fetch.size(), total);

  // Commits go to the commit pool: a writing task may wait for one, never
  // the other way round.
  detail::Committer::Post post = [commit = disk.commit](std::function<void()> task) {
    asio::post(commit, std::move(task));
  };
  detail::BatchRunner runner(plan, selection.to_fetch, destination, state, report.uidl, progress,
                             report, std::move(post));
  std::optional<Error> session_error;
  if (!selection.to_fetch.empty()) {
    std::vector<std::uint64_t> numbers, sizes;
    numbers.reserve(selection.to_fetch.size());
    sizes.reserve(selection.to_fetch.size());
    for (const auto& item : selection.to_fetch) {
      numbers.push_back(item.ref.number);
      sizes.push_back(item.ref.size);
    }
    const asio::any_io_executor loop = co_await asio::this_coro::executor;
    detail::PoolSpooler spooler(runner, disk.write, loop);
    async::ReadGate gate = [&spooler]() -> asio::awaitable<void> {
      co_await spooler.wait_for_room();
    };
    if (auto r = co_await client.retrieve_many(numbers, spooler, sizes, std::move(gate)); !r) {
      session_error = std::move(r).error();
    }
    co_await spooler.finish();
  }
  // What ended is made durable and recorded even when the session broke.
  auto finished = co_await run_on_pool<Result<void>>(disk.write, [&] { return runner.finish(); });
  if (!finished) co_return stop(std::move(finished).error());
  if (session_error) co_return stop(std::move(*session_error));

  const detail::Deletions dele = detail::deletions(selection, runner.delivered_numbers(), options);
  std::vector<std::string> deleted_keys;
  if (!dele.numbers.empty()) {
    auto answers = co_await client.dele_many(dele.numbers);
    if (!answers) co_return stop(std::move(answers).error());
    deleted_keys = detail::dele_answers(dele, *answers, report);
  }
  if (!detail::quit_answered(co_await client.quit(), deleted_keys.size(), report)) {
    co_return report;
  }
  if (report.uidl && !deleted_keys.empty()) {
    auto r = co_await run_on_pool<Result<void>>(
        disk.write, [&] { return state.mark_deleted(plan.account, deleted_keys); });
    if (!r) {
      report.error = std::move(r).error();
      co_return report;
    }
  }
  report.deleted = deleted_keys.size();
  co_return report;
}

}  // namespace pop3kit::store
