// The state store: one SQLite database (WAL, synchronous=FULL) and one
// flock(2)ed file per account beside it. See pop3kit/state.hpp.
#include "pop3kit/state.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "pop3kit/text.hpp"
#include "state_detail.hpp"
#include "state_sql.hpp"

namespace pop3kit::store {

using detail::display_name;
using detail::file_error;

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

std::string prefix(const std::string& path) {
  return "state database " + sanitize(path, 400);
}

// A busy or locked database means another process holds a write
// transaction past the busy timeout: worth retrying later, unlike the rest.
Error sqlite_error(const std::string& path, const std::string& what, int rc, sqlite3* db) {
  const int primary = rc & 0xff;
  std::string reason = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string msg = prefix(path) + ": " + what + " (" + sanitize(reason) + ")";
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    msg += "; another process is writing it: try again later";
    return Error(errc::temporary_failure, std::move(msg));
  }
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    msg +=
        "; it is not a usable pop3kit state database: move it away (pop3kit then starts a new "
        "one, and may fetch again messages left on the server)";
  } else if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM) {
    msg += "; check that the file and its directory are writable by this user";
  }
  return Error(errc::sink_failed, std::move(msg));
}

std::optional<MessageState> parse_state(std::string_view s) noexcept {
  if (s == "intent") return MessageState::intent;
  if (s == "delivered") return MessageState::delivered;
  if (s == "deleted") return MessageState::deleted;
  return std::nullopt;
}

// Each missing directory of `dir` is created 0700: the state says which
// mail someone has, which is nobody else's business.
Result<void> make_directories(const std::string& db_path, const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return file_error(db_path, "cannot create directory " + sanitize(partial.string(), 400),
                      std::strerror(errno));
  }
  return {};
}

// What a file holds before anything is written to it.
struct Inspection {
  sqlite3_int64 tables = 0;
  sqlite3_int64 application_id = 0;
  sqlite3_int64 user_version = 0;
  // A new file (or one SQLite reads as empty): ours to set up.
  bool empty() const noexcept { return tables == 0 && application_id == 0 && user_version == 0; }
};

Result<void> check_identity(const std::string& path, const Inspection& found) {
  if (found.application_id != detail::kApplicationId || found.user_version < 1) {
    return file_error(path,
                      "is an SQLite database but not a pop3kit state database (application_id " +
                          std::to_string(found.application_id) + ", user_version " +
                          std::to_string(found.user_version) + ", " + std::to_string(found.tables) +
                          " tables): move it away, or give another path");
  }
  if (found.user_version > detail::kSchemaVersion) {
    return file_error(path, "was written by a newer pop3kit (schema version " +
                                std::to_string(found.user_version) + ", this one reads up to " +
                                std::to_string(detail::kSchemaVersion) +
                                "): run that version, or move the file away to start a new one");
  }
  return {};
}

}  // namespace

namespace detail {

Error file_error(const std::string& path, const std::string& what, std::string_view reason) {
  std::string msg = prefix(path) + ": " + what;
  if (!reason.empty()) msg += " (" + std::string(reason) + ")";
  return Error(errc::sink_failed, std::move(msg));
}

std::string display_name(const AccountId& account) {
  if (!account.name.empty()) return sanitize(account.name);
  return sanitize(account.user + "@" + account.host + ":" + std::to_string(account.port));
}

}  // namespace detail

std::string AccountId::key() const {
  return name + "|" + user + "@" + host + ":" + std::to_string(port);
}

// --- StateStore ---------------------------------------------------------------

struct StateStore::Impl {
  // One call at a time: each public call is one transaction on the one
  // connection, and fetch_account() calls from two threads (intents from the
  // delivering one, deliveries from the committing one).
  std::mutex mu;
  std::string path;
  Db db;
  Stmt begin, commit, rollback;
  Stmt supersede, put_intent, deliver, drop_superseded, forget, restore, remove;
  Stmt all, pending;

  Error fail(const std::string& what, int rc) const {
    return sqlite_error(path, what, rc, db.get());
  }

  Result<Stmt> prepare(const char* sql, const char* what = "cannot prepare a statement") const {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) return fail(what, rc);
    return stmt;
  }

  // Runs a statement that returns no rows (or whose rows do not matter) and
  // resets it for the next use.
  Result<void> run(sqlite3_stmt* stmt, const char* what) const {
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) {
      rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_DONE) {
      Error e = fail(what, rc);
      sqlite3_reset(stmt);
      return e;
    }
    sqlite3_reset(stmt);
    return {};
  }

  // One transaction around `body`. BEGIN IMMEDIATE takes the write lock at
  // once, so waiting for another writer goes through the busy timeout
  // instead of failing at the first write of a deferred transaction.
  template <class Body>
  Result<void> transaction(const char* what, Body&& body) {
    if (auto r = run(begin.get(), what); !r) return r;
    Result<void> result = body();
    if (result) result = run(commit.get(), what);
    if (!result && sqlite3_get_autocommit(db.get()) == 0) {
      (void)run(rollback.get(), what);
    }
    return result;
  }

  Result<std::vector<MessageRecord>> select(sqlite3_stmt* stmt, const std::string& key) const;

  // How the connection's commits reach the disk (outside a transaction).
  Result<void> pragma_synchronous(const char* level) const {
    const std::string sql = std::string("PRAGMA synchronous=") + level;
    char* message = nullptr;
    const int rc = sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &message);
    sqlite3_free(message);
    if (rc != SQLITE_OK) return fail("cannot set synchronous=" + std::string(level), rc);
    return {};
  }
};

namespace {

// Not called bind(): with a std::string argument, lookup would also find
// std::bind, and take it.
void bind_param(sqlite3_stmt* stmt, int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, whatever the caller does with
  // them before the step; bound, never spliced into SQL (UIDs are the
  // server's).
  sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void bind_param(sqlite3_stmt* stmt, int index, std::uint64_t value) {
  sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(value));
}

std::string column_text(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  const int size = sqlite3_column_bytes(stmt, index);
  if (text == nullptr || size <= 0) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

}  // namespace

Result<std::vector<MessageRecord>> StateStore::Impl::select(sqlite3_stmt* stmt,
                                                            const std::string& key) const {
  bind_param(stmt, 1, key);
  std::vector<MessageRecord> out;
  int rc = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    MessageRecord rec;
    rec.uid = column_text(stmt, 0);
    const std::string state = column_text(stmt, 1);
    const auto parsed = parse_state(state);
    if (!parsed) {
      sqlite3_reset(stmt);
      return file_error(path, "unknown state '" + sanitize(state) + "' for UID " +
                                  sanitize(rec.uid) + "; move the database away");
    }
    rec.state = *parsed;
    rec.destination = column_text(stmt, 2);
    rec.reservation.uid = rec.uid;
    rec.reservation.name = column_text(stmt, 3);
    rec.reservation.offset = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 4));
    rec.location = column_text(stmt, 5);
    rec.size = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 6));
    out.push_back(std::move(rec));
  }
  if (rc != SQLITE_DONE) {
    Error e = fail("cannot read records", rc);
    sqlite3_reset(stmt);
    return e;
  }
  sqlite3_reset(stmt);
  return out;
}

std::string StateStore::default_path() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  // The XDG spec says a relative value is invalid and is to be ignored.
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/pop3kit/state.db";
  std::string home;
  if (const char* h = std::getenv("HOME"); h != nullptr && h[0] != '\0') {
    home = h;
  } else {
    std::array<char, 4096> buf{};
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
        found->pw_dir != nullptr) {
      home = found->pw_dir;
    }
  }
  if (home.empty()) return {};
  return home + "/.local/state/pop3kit/state.db";
}

StateStore::StateStore(std::unique_ptr<Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}
StateStore::StateStore(StateStore&&) noexcept = default;
StateStore& StateStore::operator=(StateStore&&) noexcept = default;
StateStore::~StateStore() = default;

Result<StateStore> StateStore::open(const std::string& path, const StateOptions& options) {
  if (path.empty()) {
    return Error(errc::invalid_argument,
                 "state database: no path (set HOME or XDG_STATE_HOME, or give one)");
  }
  const std::filesystem::path fs_path(path);
  if (fs_path.has_parent_path()) {
    if (auto r = make_directories(path, fs_path.parent_path()); !r) return std::move(r).error();
  }
  // Created here rather than by SQLite so that it is 0600 whatever the
  // umask (SQLite gives its -wal and -shm files the database's mode). An
  // existing file is left to the checks below.
  if (const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return file_error(path, "cannot create the file", std::strerror(errno));
  }
  // SQLite follows a symbolic link at any of its three names and would
  // write a database into whatever it points to (an empty file passes for
  // a new database): refused, whoever planted it.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    if (::lstat((path + suffix).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      const std::string which = *suffix == '\0' ? "it" : std::string("its ") + suffix + " file";
      return file_error(path, which + " is a symbolic link: refused (give the file it points to)");
    }
  }

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  sqlite3* raw = nullptr;
  // Without SQLITE_OPEN_CREATE: the file exists now, and if it vanished
  // meanwhile, creating another one silently is not wanted.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  impl->db.reset(raw);
  if (rc != SQLITE_OK) return impl->fail("cannot open", rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
                                options.busy_timeout.count(), 0, 24 * 3600 * 1000)));
  // A state database is data, not code: no triggers or views of a crafted
  // file run with this program's rights, and no writes that could corrupt it.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);

  Impl& db = *impl;
  auto inspect = [&]() -> Result<Inspection> {
    auto stmt = db.prepare(detail::kInspect, "cannot read");
    if (!stmt) return std::move(stmt).error();
    const int step = sqlite3_step(stmt->get());
    if (step != SQLITE_ROW) return db.fail("cannot read", step);
    return Inspection{sqlite3_column_int64(stmt->get(), 0), sqlite3_column_int64(stmt->get(), 1),
                      sqlite3_column_int64(stmt->get(), 2)};
  };
  auto exec = [&](const char* sql, const char* what) -> Result<void> {
    char* message = nullptr;
    const int step = sqlite3_exec(raw, sql, nullptr, nullptr, &message);
    sqlite3_free(message);
    if (step != SQLITE_OK) return db.fail(what, step);
    return {};
  };

  struct Named {
    Stmt* stmt;
    const char* sql;
  };
  // Preparing the statements checks the tables and columns too (a file
  // that claims to be ours but was edited by hand). It writes nothing, so it
  // runs before the first write as well as after the schema is made.
  auto prepare_all = [&](bool keep) -> Result<void> {
    const std::array<Named, 12> statements{{
        {&db.begin, "BEGIN IMMEDIATE"},
        {&db.commit, "COMMIT"},
        {&db.rollback, "ROLLBACK"},
        {&db.supersede, detail::kSupersede},
        {&db.put_intent, detail::kPutIntent},
        {&db.deliver, detail::kDeliver},
        {&db.drop_superseded, detail::kDropSuperseded},
        {&db.forget, detail::kForget},
        {&db.restore, detail::kRestore},
        {&db.remove, detail::kMarkDeleted},
        {&db.all, detail::kSelectAll},
        {&db.pending, detail::kSelectPending},
    }};
    for (const Named& n : statements) {
      auto stmt =
          db.prepare(n.sql, "does not have the tables of a pop3kit state database; move it away");
      if (!stmt) return std::move(stmt).error();
      if (keep) *n.stmt = std::move(*stmt);
    }
    return {};
  };

  // Everything is read and checked before the first write: a file that is
  // not ours must come out of this byte for byte as it went in.
  auto first = inspect();
  if (!first) return std::move(first).error();
  if (!first->empty()) {
    if (auto r = check_identity(path, *first); !r) return std::move(r).error();
    auto check = db.prepare("PRAGMA quick_check(1)");
    if (!check) return std::move(check).error();
    const int step = sqlite3_step(check->get());
    if (step != SQLITE_ROW) return db.fail("cannot check", step);
    std::string verdict = column_text(check->get(), 0);
    check->reset();  // no statement may be reading while the schema changes
    if (verdict != "ok") {
      // quick_check starts with "*** in database main ***" and goes on a
      // line per problem: one line is enough to say what is wrong.
      if (verdict.rfind("*** ", 0) == 0 && verdict.find('\n') != std::string::npos) {
        verdict.erase(0, verdict.find('\n') + 1);
      }
      std::replace(verdict.begin(), verdict.end(), '\n', ' ');
      return file_error(path,
                        "is damaged: move it away (pop3kit then starts a new one, and may fetch "
                        "again messages left on the server)",
                        "database disk image is malformed: " + sanitize(verdict));
    }
    // Finalized at once: the journal mode is changed below.
    if (auto r = prepare_all(false); !r) return std::move(r).error();
    // An older schema is brought up to date before anything else is
    // written: a file the upgrade cannot take (rows a hand edit left that
    // the new table refuses) is rolled back and refused as it was.
    if (first->user_version < detail::kSchemaVersion) {
      if (sqlite3_db_readonly(raw, "main") == 1) {
        return file_error(path,
                          "is read-only and needs an upgrade; check that the file and its "
                          "directory are writable by this user");
      }
      if (auto r = exec("BEGIN IMMEDIATE", "cannot write"); !r) return std::move(r).error();
      // Decided again inside the transaction: another process may have done it.
      auto again = inspect();
      Result<void> upgraded;
      if (!again) {
        upgraded = std::move(again).error();
      } else if (again->user_version == 1) {
        upgraded = exec(detail::kUpgradeFrom1,
                        "cannot be upgraded to this pop3kit's schema: move it away (pop3kit then "
                        "starts a new one, and may fetch again messages left on the server)");
      }
      if (upgraded) upgraded = exec("COMMIT", "cannot upgrade the schema");
      if (!upgraded) {
        (void)exec("ROLLBACK", "rollback");
        return std::move(upgraded).error();
      }
    }
  }

  // WAL: readers never block the writer, and a commit is one append plus
  // one flush. synchronous=FULL flushes the WAL at each commit, so that a
  // committed call survives a power cut, not only a crash of the process.
  // Switching a new database needs it to itself, and SQLite does not wait
  // for that through the busy timeout: fetchers started at once (shards)
  // would fail here. Retried until the busy timeout.
  for (const auto give_up = std::chrono::steady_clock::now() + options.busy_timeout;;) {
    auto mode = db.prepare("PRAGMA journal_mode=WAL");
    if (!mode) return std::move(mode).error();
    const int step = sqlite3_step(mode->get());
    const int primary = step & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) &&
        std::chrono::steady_clock::now() < give_up) {
      mode->reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (step != SQLITE_ROW) return db.fail("cannot switch to WAL mode", step);
    if (column_text(mode->get(), 0) != "wal") {
      return file_error(path, "cannot switch to WAL mode (is it on a network file system?)");
    }
    break;
  }
  // A new database is made without a flush per step (synchronous=NORMAL:
  // each commit still atomic; a power cut can only lose the empty schema,
  // which the next run makes again), then FULL for the records.
  if (auto r = db.pragma_synchronous(first->empty() ? "NORMAL" : "FULL"); !r) {
    return std::move(r).error();
  }

  if (first->empty()) {
    // Another process may be creating it too: decide again inside the
    // write transaction, where only one of them can be.
    if (auto r = exec("BEGIN IMMEDIATE", "cannot write"); !r) return std::move(r).error();
    auto again = inspect();
    Result<void> created;
    if (!again) {
      created = std::move(again).error();
    } else if (again->empty()) {
      const std::string ids = "PRAGMA application_id = " + std::to_string(detail::kApplicationId) +
                              "; PRAGMA user_version = " + std::to_string(detail::kSchemaVersion) +
                              ";";
      created = exec(detail::kCreateSchema, "cannot create the schema");
      if (created) created = exec(ids.c_str(), "cannot create the schema");
    }
    if (created) created = exec("COMMIT", "cannot create the schema");
    if (!created) {
      (void)exec("ROLLBACK", "rollback");
      return std::move(created).error();
    }
    auto now = inspect();
    if (!now) return std::move(now).error();
    if (auto r = check_identity(path, *now); !r) return std::move(r).error();
    if (auto r = db.pragma_synchronous("FULL"); !r) return std::move(r).error();
  } else {
    // A database that can be read but not written must fail here, not in
    // the middle of a fetch after messages were retrieved.
    if (sqlite3_db_readonly(raw, "main") == 1) {
      return file_error(path,
                        "is read-only; check that the file and its directory are writable "
                        "by this user");
    }
    if (auto r = exec("BEGIN IMMEDIATE", "cannot write"); !r) return std::move(r).error();
    if (auto r = exec("ROLLBACK", "cannot write"); !r) return std::move(r).error();
  }

  if (auto r = prepare_all(true); !r) return std::move(r).error();
  return StateStore(std::move(impl), path);
}

Result<std::vector<MessageRecord>> StateStore::records(const AccountId& account) {
  const std::lock_guard guard(impl_->mu);
  return impl_->select(impl_->all.get(), account.key());
}

Result<std::vector<MessageRecord>> StateStore::pending(const AccountId& account) {
  const std::lock_guard guard(impl_->mu);
  return impl_->select(impl_->pending.get(), account.key());
}

Result<void> StateStore::record_intents(const AccountId& account, std::string_view destination,
                                        std::span<const Reservation> reservations,
                                        IntentFlush flush) {
  const std::lock_guard guard(impl_->mu);
  if (reservations.empty()) return {};
  for (const Reservation& r : reservations) {
    if (r.uid.empty()) {
      return Error(errc::invalid_argument,
                   prefix(path_) + ": cannot record a message without a UID (no UIDL)");
    }
  }
  const std::string key = account.key();
  Impl& db = *impl_;
  // WAL with synchronous=NORMAL: the commit is appended without a flush,
  // still atomic and safe from corruption (SQLite's documented guarantee
  // for WAL mode); FULL again right after, for every other write.
  const bool deferred = flush == IntentFlush::by_caller;
  if (deferred) {
    if (auto r = db.pragma_synchronous("NORMAL"); !r) return r;
  }
  Result<void> recorded = db.transaction("cannot record intents", [&]() -> Result<void> {
    for (const Reservation& r : reservations) {
      bind_param(db.supersede.get(), 1, key);
      bind_param(db.supersede.get(), 2, r.uid);
      if (auto res = db.run(db.supersede.get(), "cannot record intents"); !res) return res;
      bind_param(db.put_intent.get(), 1, key);
      bind_param(db.put_intent.get(), 2, r.uid);
      bind_param(db.put_intent.get(), 3, destination);
      bind_param(db.put_intent.get(), 4, r.name);
      bind_param(db.put_intent.get(), 5, r.offset);
      if (auto res = db.run(db.put_intent.get(), "cannot record intents"); !res) return res;
    }
    return {};
  });
  if (deferred) {
    if (auto r = db.pragma_synchronous("FULL"); !r && recorded) return r;
  }
  return recorded;
}

Result<void> StateStore::mark_delivered(const AccountId& account,
                                        std::span<const DeliveredMessage> messages) {
  const std::lock_guard guard(impl_->mu);
  if (messages.empty()) return {};
  const std::string key = account.key();
  Impl& db = *impl_;
  return db.transaction("cannot mark delivered", [&]() -> Result<void> {
    for (const DeliveredMessage& m : messages) {
      bind_param(db.deliver.get(), 1, key);
      bind_param(db.deliver.get(), 2, m.uid);
      bind_param(db.deliver.get(), 3, m.stored.location);
      bind_param(db.deliver.get(), 4, m.stored.size);
      if (auto res = db.run(db.deliver.get(), "cannot mark delivered"); !res) return res;
      if (sqlite3_changes(db.db.get()) != 1) {
        return Error(errc::invalid_argument, prefix(path_) + ": no intent recorded for UID " +
                                                 sanitize(m.uid) + " of account " +
                                                 display_name(account));
      }
      bind_param(db.drop_superseded.get(), 1, key);
      bind_param(db.drop_superseded.get(), 2, m.uid);
      if (auto res = db.run(db.drop_superseded.get(), "cannot mark delivered"); !res) return res;
    }
    return {};
  });
}

Result<void> StateStore::forget(const AccountId& account, std::span<const std::string> uids) {
  const std::lock_guard guard(impl_->mu);
  if (uids.empty()) return {};
  const std::string key = account.key();
  Impl& db = *impl_;
  return db.transaction("cannot forget intents", [&]() -> Result<void> {
    for (const std::string& uid : uids) {
      bind_param(db.forget.get(), 1, key);
      bind_param(db.forget.get(), 2, uid);
      if (auto res = db.run(db.forget.get(), "cannot forget intents"); !res) return res;
      if (sqlite3_changes(db.db.get()) != 1) continue;
      for (sqlite3_stmt* stmt : {db.restore.get(), db.drop_superseded.get()}) {
        bind_param(stmt, 1, key);
        bind_param(stmt, 2, uid);
        if (auto res = db.run(stmt, "cannot forget intents"); !res) return res;
      }
    }
    return {};
  });
}

Result<void> StateStore::mark_deleted(const AccountId& account, std::span<const std::string> uids) {
  const std::lock_guard guard(impl_->mu);
  if (uids.empty()) return {};
  const std::string key = account.key();
  Impl& db = *impl_;
  return db.transaction("cannot mark deleted", [&]() -> Result<void> {
    for (const std::string& uid : uids) {
      bind_param(db.remove.get(), 1, key);
      bind_param(db.remove.get(), 2, uid);
      if (auto res = db.run(db.remove.get(), "cannot mark deleted"); !res) return res;
    }
    return {};
  });
}

}  // namespace pop3kit::store
