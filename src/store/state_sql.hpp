// The state database's schema and statements (private to state.cpp).
//
// Kept apart from the C++ so that the SQL reads as what a person finds with
// `sqlite3 state.db .schema`. Every value is a bound parameter (?1, ?2...):
// UIDs and names are the server's, and never become SQL text.
#pragma once

#include <cstdint>

namespace pop3kit::store::detail {

/// PRAGMA application_id of a pop3kit state database ("P3KS"), so that a
/// database of another program is told apart from ours.
inline constexpr std::int64_t kApplicationId = 0x50334b53;
/// PRAGMA user_version this code writes and reads. A later version that
/// changes the schema migrates older ones up in open() (kUpgrade); an older
/// pop3kit refuses a newer file rather than misread it.
inline constexpr std::int64_t kSchemaVersion = 2;

/// Tables in the file, its application_id and user_version: one read.
inline constexpr const char* kInspect =
    "SELECT (SELECT count(*) FROM sqlite_schema),"
    " (SELECT application_id FROM pragma_application_id),"
    " (SELECT user_version FROM pragma_user_version)";

// The state CHECK is written with OR, not `state IN ('intent', 'delivered',
// 'deleted')`: SQLite (3.40) evaluates an IN list of more than two values
// by building a temporary b-tree, and a CHECK is evaluated on every insert
// and update. With IN, recording and marking a batch of messages cost about
// 60,000 instructions a message, half of all the fetch's CPU in user space.
#define POP3KIT_MESSAGES_TABLE                                                                \
  "CREATE TABLE messages (\n"                                                                 \
  "  account         TEXT NOT NULL,     -- NAME|user@host:port\n"                             \
  "  uid             TEXT NOT NULL,     -- the server's UIDL\n"                               \
  "  state           TEXT NOT NULL\n"                                                         \
  "                  CHECK (state = 'intent' OR state = 'delivered' OR state = 'deleted'),\n" \
  "  destination     TEXT NOT NULL,     -- maildir:/path, mbox:/path or mda:command\n"        \
  "  reserved_name   TEXT NOT NULL,     -- Maildir base name, mbox From line\n"               \
  "  reserved_offset INTEGER NOT NULL,  -- mbox: its size when the batch started\n"           \
  "  location        TEXT NOT NULL,     -- once delivered: new/NAME,S=SIZE, mbox offset\n"    \
  "  size            INTEGER NOT NULL,  -- once delivered: octets stored\n"                   \
  "  changed         TEXT NOT NULL,     -- UTC, of the last change\n"                         \
  "  PRIMARY KEY (account, uid)\n"                                                            \
  ") WITHOUT ROWID;\n"

/// The current version. open() then sets application_id and user_version,
/// in the same transaction.
inline constexpr const char* kCreateSchema = POP3KIT_MESSAGES_TABLE R"sql(
-- Records that an intent replaced (fetching again with --all), kept until
-- the intent is resolved: forgetting the intent puts them back.
CREATE TABLE superseded (
  account         TEXT NOT NULL,
  uid             TEXT NOT NULL,
  state           TEXT NOT NULL,
  destination     TEXT NOT NULL,
  reserved_name   TEXT NOT NULL,
  reserved_offset INTEGER NOT NULL,
  location        TEXT NOT NULL,
  size            INTEGER NOT NULL,
  changed         TEXT NOT NULL,
  PRIMARY KEY (account, uid)
) WITHOUT ROWID;
)sql";

/// Version 1 to 2: messages gets the CHECK written with OR. SQLite cannot
/// change a CHECK in place, so the table is made again and its rows copied
/// (one transaction, run by open()).
inline constexpr const char* kUpgradeFrom1 =
    "ALTER TABLE messages RENAME TO messages_version_1;\n" POP3KIT_MESSAGES_TABLE
    "INSERT INTO messages (account, uid, state, destination, reserved_name, reserved_offset,"
    " location, size, changed) SELECT account, uid, state, destination, reserved_name,"
    " reserved_offset, location, size, changed FROM messages_version_1;\n"
    "DROP TABLE messages_version_1;\n"
    "PRAGMA user_version = 2;\n";

#undef POP3KIT_MESSAGES_TABLE

#define POP3KIT_STATE_COLUMNS \
  "account, uid, state, destination, reserved_name, reserved_offset, location, size, changed"
#define POP3KIT_STATE_NOW "strftime('%Y-%m-%d %H:%M:%fZ', 'now')"

inline constexpr const char* kSupersede =
    "INSERT OR REPLACE INTO superseded (" POP3KIT_STATE_COLUMNS ") SELECT " POP3KIT_STATE_COLUMNS
    " FROM messages WHERE account = ?1 AND uid = ?2 AND state <> 'intent'";

inline constexpr const char* kPutIntent =
    "INSERT OR REPLACE INTO messages (" POP3KIT_STATE_COLUMNS
    ") VALUES (?1, ?2, 'intent', ?3, ?4, ?5, '', 0, " POP3KIT_STATE_NOW ")";

inline constexpr const char* kDeliver =
    "UPDATE messages SET state = 'delivered', location = ?3, size = ?4, changed "
    "= " POP3KIT_STATE_NOW " WHERE account = ?1 AND uid = ?2 AND state = 'intent'";

inline constexpr const char* kDropSuperseded =
    "DELETE FROM superseded WHERE account = ?1 AND uid = ?2";

inline constexpr const char* kForget =
    "DELETE FROM messages WHERE account = ?1 AND uid = ?2 AND state = 'intent'";

inline constexpr const char* kRestore =
    "INSERT INTO messages (" POP3KIT_STATE_COLUMNS ") SELECT " POP3KIT_STATE_COLUMNS
    " FROM superseded WHERE account = ?1 AND uid = ?2";

inline constexpr const char* kMarkDeleted =
    "UPDATE messages SET state = 'deleted', changed = " POP3KIT_STATE_NOW
    " WHERE account = ?1 AND uid = ?2 AND state = 'delivered'";

#define POP3KIT_STATE_SELECT                                                                     \
  "SELECT uid, state, destination, reserved_name, reserved_offset, location, size FROM messages" \
  " WHERE account = ?1"

inline constexpr const char* kSelectAll = POP3KIT_STATE_SELECT " ORDER BY uid";
inline constexpr const char* kSelectPending =
    POP3KIT_STATE_SELECT " AND state = 'intent' ORDER BY uid";

#undef POP3KIT_STATE_SELECT
#undef POP3KIT_STATE_NOW
#undef POP3KIT_STATE_COLUMNS

}  // namespace pop3kit::store::detail
