/// pop3kit — the sans-I/O session layer: the policy above the engine.
///
/// The engine (pop3kit/engine.hpp) turns commands into bytes and bytes into
/// events; it knows nothing of logging in or of what follows a login. That
/// policy lives here, once, for every driver (the blocking Client, the NetX
/// API, an async client): the APOP→USER/PASS fallback, USER and PASS without
/// a round trip between them under PIPELINING, the CAPA asked again after login, the follow-ups
/// sent together once the login is answered, the checks of a listing, QUIT
/// and the close after it. Like the engine, an operation owns no socket,
/// reads no clock and touches no file.
///
/// A driver runs an operation over the session's engine:
///
///     session::Login login(credentials, options, facts);
///     for (;;) {
///       switch (login.resume(engine)) {
///         case session::Want::write:      // write all of engine.pending_output()
///           ...; engine.consume_output(n); break;
///         case session::Want::write_ready:  // write what the transport takes now
///           ...; engine.consume_output(n); break;  // (Batch asks; see below)
///         case session::Want::read:       // read once: commit_received(n), or receive_eof()
///           ...; break;                   // a failed read: login.transport_failed(error)
///         case session::Want::start_tls:  // TLS handshake, engine.set_tls_active()
///           ...; break;                     // a failed handshake: transport_failed(error)
///         case session::Want::done:
///           if (login.closes_connection()) close();
///           return login.outcome();
///       }
///     }
///
/// resume() takes the engine's events itself (next_event()) and answers what
/// it needs next. It never blocks. Input may arrive in any split; the
/// operation sees the same events and sends the same bytes whatever the split
/// (tests/session runs every operation at every split).
///
/// Errors are values: outcome() is the operation's Result. A server's -ERR
/// leaves the session usable; a protocol error, a failed transport, or an
/// answer out of step ends it: closes_connection() is then true and the driver
/// closes the connection before it reports the outcome.
///
/// @file
/// @ingroup session
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pop3kit/engine.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit {

/// CAPA's answer (RFC 2449 §5). Names compare case-insensitively.
struct POP3KIT_EXPORT Capabilities {
  /// One capability line.
  struct Entry {
    std::string name;       ///< As sent ("SASL").
    std::string arguments;  ///< Rest of the line ("PLAIN LOGIN"), may be empty.
  };
  std::vector<Entry> entries;  ///< The lines, in the server's order.

  /// Whether `name` is listed.
  bool has(std::string_view name) const noexcept;
  /// Arguments of `name`, or nullopt when absent.
  std::optional<std::string_view> arguments(std::string_view name) const noexcept;

  /// A policy of RFC 2449 §6.5 (LOGIN-DELAY, seconds) or §6.7 (EXPIRE, days).
  struct Policy {
    std::optional<std::uint64_t> value;  ///< nullopt for "EXPIRE NEVER".
    bool per_user = false;               ///< "USER" follows: the value may differ after login.
  };
  /// LOGIN-DELAY: minimum seconds between logins. nullopt when absent or malformed.
  std::optional<Policy> login_delay() const;
  /// EXPIRE: days the server keeps retrieved mail (0: the client may not leave
  /// mail on the server). nullopt when absent or malformed.
  std::optional<Policy> expire() const;
  /// IMPLEMENTATION text, for display only: pop3kit never acts on it.
  std::optional<std::string_view> implementation() const noexcept;
  /// The mechanisms listed by SASL (RFC 5034), as sent.
  std::vector<std::string_view> sasl_mechanisms() const;
  /// Whether SASL lists `mechanism` (names compared case-insensitively).
  bool offers_sasl(std::string_view mechanism) const;
};

/// STAT's answer.
struct POP3KIT_EXPORT MailboxStat {
  std::uint64_t count = 0;  ///< Messages in the maildrop (not counting those marked deleted).
  std::uint64_t size = 0;   ///< Their size in octets.
};

/// LIST and UIDL merged: one entry per message.
struct POP3KIT_EXPORT MessageEntry {
  std::uint64_t number = 0;  ///< Message number, from 1.
  std::uint64_t size = 0;    ///< Its size in octets (LIST).
  std::string uid;           ///< Empty when the server has no UIDL.
};

/// How to log in.
enum class LoginMethod : std::uint8_t {
  user_pass,  ///< USER then PASS (RFC 1939 §7).
  apop,       ///< APOP with the greeting's timestamp (RFC 1939 §7).
};

/// Options of Client::login() and session::Login.
struct POP3KIT_EXPORT LoginOptions {
  LoginMethod method = LoginMethod::user_pass;  ///< USER/PASS or APOP.
  /// With LoginMethod::apop: if the greeting has no timestamp or the server
  /// refuses APOP, try USER/PASS on the same connection. Off by default: APOP
  /// was asked for so that the password does not cross the wire.
  bool allow_fallback = false;
};

namespace session {

/// What an operation needs from its driver next.
enum class Want : std::uint8_t {
  /// Write all of engine.pending_output() (consume_output() as it goes),
  /// then resume(). The clients first make sure the server said nothing
  /// unasked (must_be_quiet()).
  write,
  /// Write what the transport takes now, without waiting for it to take
  /// more (possibly nothing; consume_output() what went), then resume().
  /// A pipeline (session::Batch) asks for it instead of Want::write so that
  /// the driver never sits in a write while the server sits in one (a server
  /// that answers in full before it reads on fills both sockets when nobody
  /// reads): what is left waits in the engine while the operation takes the
  /// answers, asking Want::read when it needs input, and is offered again
  /// after the next event. The read is safe: commands go out in order, so
  /// the command whose answer is awaited is in the transport already. It
  /// is asked at most once between two events, so a driver need not wait
  /// for the transport to become writable. As for Want::write, the clients
  /// first make sure the server said nothing unasked. A driver whose
  /// writes cannot block the server's (small windows, or it writes and reads
  /// at once) may write everything, as for Want::write.
  write_ready,
  /// Read once into the engine (commit_received(), or receive_eof() when the
  /// peer closed), then resume(). A failed read: transport_failed().
  read,
  /// Start TLS on the connection now, tell the engine (set_tls_active()),
  /// then resume(); a failed handshake: close, then transport_failed().
  /// Asked for by StartTls only (pop3kit/session_auth.hpp).
  start_tls,
  /// Finished: outcome(); close the connection first when closes_connection().
  done,
};

/// What the driver knows of the session when an operation starts. Views
/// and pointers must outlive the operation.
struct POP3KIT_EXPORT Facts {
  /// The greeting's APOP timestamp ("<...@...>"), or empty.
  std::string_view apop_timestamp;
  /// The last CAPA's answer; empty when CAPA was not asked (or refused).
  const Capabilities* capabilities = nullptr;
  /// False when the caller turned pipelining off (one command at a time).
  bool pipelining_allowed = true;
  /// Most octets of commands in flight (see ClientOptions::pipeline_window).
  std::size_t pipeline_window = 2048;
  /// Most octets of answers expected in flight in a Batch (see
  /// ClientOptions::pipeline_octets).
  std::uint64_t pipeline_octets = 16 * 1024 * 1024;
  /// The highest message number (STAT's count plus the messages deleted
  /// before it) once a STAT was answered in the session.
  std::optional<std::uint64_t> highest;
  /// Most entries of one LIST or UIDL listing (ClientOptions::max_listing).
  std::size_t max_listing = 100'000;

  /// True when commands may go out together: allowed, and the capabilities list PIPELINING.
  bool pipelining() const noexcept;
};

/// One session operation. Not copyable; one run each.
class POP3KIT_EXPORT Operation {
 public:
  Operation() = default;
  virtual ~Operation() = default;
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  /// Queues what it can on `engine`, takes the events that have arrived, and
  /// answers what it needs next. Call again after doing what it asked; after
  /// Want::done it keeps answering Want::done. Always the same engine.
  Want resume(proto::Engine& engine);
  /// The driver could not read, write or start TLS (timeout, reset, ...) and
  /// has closed the connection: the operation ends with `error`, or with the
  /// error that matters more to the caller (a refused login before the
  /// server hung up). While closing() the end of the connection is expected
  /// and the operation ends with its own outcome.
  void transport_failed(Error error);

  /// True once the operation has ended (resume() answers Want::done).
  bool done() const noexcept { return done_; }
  /// True while Want::read only waits for the server to close the
  /// connection (after QUIT): a driver waits briefly, and may report a
  /// timeout through transport_failed().
  bool closing() const noexcept { return closing_; }
  /// After Want::done: the session cannot go on (protocol error, transport
  /// failure, answers out of step); the driver closes the connection.
  bool closes_connection() const noexcept { return closes_; }
  /// The result; meaningful once done().
  const Result<void>& outcome() const noexcept { return outcome_; }

 protected:
  /// An operation whose outcome is `initial` until it finishes.
  explicit Operation(Error initial) : outcome_(std::move(initial)) {}
  /// Queues the first commands (or finishes).
  virtual void start(proto::Engine& engine) = 0;
  /// One event (never NeedData or Failed).
  virtual void on_event(proto::Engine& engine, const proto::Event& event) = 0;
  /// The server closed the connection while closing() (or the read for it
  /// failed): the operation ends with its own outcome.
  virtual void on_closed() { finish(); }
  /// The error reported when the connection is lost with `error`.
  virtual Error on_lost(Error error) { return error; }
  /// Everything queued has been written: a command that must go out in a
  /// write of its own (see Login) is queued here.
  virtual void on_written(proto::Engine& engine) { (void)engine; }
  /// The driver started TLS, as asked by want_start_tls().
  virtual void on_tls_started(proto::Engine& /*engine*/) {}

  /// Ends with success.
  void finish() {
    outcome_ = Result<void>();
    done_ = true;
  }
  /// Ends with `error`.
  void finish(Error error) {
    outcome_ = std::move(error);
    done_ = true;
  }
  /// Ends the session: the connection must be closed.
  void lose(Error error) {
    closes_ = true;
    closing_ = false;
    finish(on_lost(std::move(error)));
  }
  /// From now on the end of the connection is expected (see closing()).
  void set_closing() noexcept { closing_ = true; }
  /// From now on pending output is asked for with Want::write_ready, once
  /// after each event, and the answers are taken while the rest waits.
  void use_write_ready() noexcept { write_ready_ = true; }
  /// Asks the driver to start TLS (Want::start_tls) once the output is
  /// written; on_tls_started() follows when the engine says TLS is active.
  void want_start_tls() noexcept { tls_wanted_ = true; }
  /// The rest is `sub`'s: this operation ends when `sub` ends, closing the
  /// connection if it does, with `sub`'s outcome when `adopt` (through
  /// on_lost() when it cost the connection), else with success (the caller
  /// reads `sub`'s own).
  void hand_over(Operation& sub, bool adopt) noexcept {
    sub_ = &sub;
    adopt_ = adopt;
  }

 private:
  Result<void> outcome_;
  Operation* sub_ = nullptr;
  bool adopt_ = false;
  void end_sub();
  bool started_ = false;
  bool done_ = false;
  bool closing_ = false;
  bool close_read_ = false;  // the read for the close was asked for
  bool wrote_ = false;       // Want::write was the last answer
  bool closes_ = false;
  bool write_ready_ = false;  // use_write_ready()
  bool offered_ = false;      // Want::write_ready asked since the last event
  bool tls_wanted_ = false;
};

/// The error for a server's -ERR to `status`: errc::auth_failed for [AUTH],
/// errc::temporary_failure for [IN-USE], [LOGIN-DELAY] and [SYS/TEMP],
/// errc::permanent_failure for [SYS/PERM], else errc::server_error; the
/// message is `what` and the sanitised server text. With `capabilities`, a
/// refused TOP or UIDL the capabilities leave out says so.
POP3KIT_EXPORT Error server_error(const proto::Status& status, std::string_view what,
                                  const Capabilities* capabilities = nullptr);
/// The error for a command the engine refused to queue (a caller error,
/// nothing sent): "cannot send USER: not allowed in the TRANSACTION state".
POP3KIT_EXPORT Error refused(std::error_code ec, proto::Command command, proto::State state);

/// @name The check that the server said nothing unasked
/// Before commands go out while none awaits an answer, the server must have
/// said nothing: what it said would be read as the answer to them (an extra
/// "+OK" after DELE turns a QUIT -ERR into success). A driver, before it
/// writes (Want::write, Want::write_ready):
///
///     if (session::must_be_quiet(engine)) {
///       if (auto e = session::buffered_unasked(engine)) return fail(*e);
///       n = read what has arrived, without waiting;   // nothing there: go on
///       return fail(session::unasked_error(said));    // the n octets read
///     }
///
/// With nothing outstanding that costs one read per lock-step command, and
/// nothing while a pipeline is full. Each error ends the session.
///@{
/// True when the server must have been quiet: commands wait in
/// `engine`'s output and none awaits an answer.
POP3KIT_EXPORT bool must_be_quiet(const proto::Engine& engine) noexcept;
/// What `engine` already holds, unparsed (left over after the last answer,
/// or come with the greeting): when it holds something, its next event is
/// taken (next_event()) and, when that is a failure, returned as an Error
/// with the engine's code and message (errc::unexpected_data for octets
/// that answer no command). nullopt when it holds nothing or no failure.
POP3KIT_EXPORT std::optional<Error> buffered_unasked(proto::Engine& engine);
/// The error for what a read that did not wait found, `said` (its first
/// octets; empty: the server closed the connection). Empty:
/// errc::connection_closed "the server closed the connection while no
/// command was outstanding". A "-ERR" line, a parting word before the
/// server hangs up (Dovecot's "-ERR Disconnected for inactivity."):
/// errc::connection_closed "the server ended the session: '...'" with the
/// sanitised line, a dropped session to retry. Anything else:
/// errc::unexpected_data "server sent data while no response was
/// expected: '...'" with the sanitised octets. A quote is sanitize()d
/// and cut at 80 characters.
POP3KIT_EXPORT Error unasked_error(std::string_view said);
///@}

/// Checks a LIST or UIDL scan listing entry by entry, before the entry is
/// stored: the message number is 1..highest (when STAT told the highest), it
/// was not listed before, and the listing stays within `max_entries`. A
/// server that repeats "1 100" for ever is stopped at its second line; one
/// that lists new numbers for ever at the limit. Errors are protocol errors:
/// errc::bad_message_number, errc::listing_too_long.
class POP3KIT_EXPORT ListingCheck {
 public:
  /// `what` names the listing in messages ("LIST"; a static string);
  /// `highest` is the highest message number, when known; `max_entries`
  /// the most entries accepted.
  ListingCheck(const char* what, std::optional<std::uint64_t> highest, std::size_t max_entries)
      : what_(what), highest_(highest), max_entries_(max_entries) {}
  /// The next entry's number: an error or nothing.
  std::optional<Error> add(std::uint64_t number);
  /// After the listing's end: repeats among numbers that came out of order.
  std::optional<Error> finish();
  /// The numbers seen, in arrival order.
  const std::vector<std::uint64_t>& numbers() const noexcept { return numbers_; }

 private:
  const char* what_;
  std::optional<std::uint64_t> highest_;
  std::size_t max_entries_;
  std::vector<std::uint64_t> numbers_;
  bool ascending_ = true;
};

/// What to ask once logged in, in the write that follows the login's
/// answer: the listing (LIST and UIDL, merged) or STAT. Runs on its own
/// too, on a session already logged in.
///
/// Listing: each listing is checked by a ListingCheck (Facts::highest,
/// Facts::max_listing); UIDL refused or absent leaves the uids empty; when
/// UIDL answers +OK it must list exactly the numbers LIST listed, else
/// errc::bad_message_number. LIST refused: the server's error. Protocol
/// errors close the connection. Without pipelining LIST and UIDL go one at
/// a time, with the same results.
///
/// Stat: STAT; refused: the server's error.
class POP3KIT_EXPORT Query final : public Operation {
 public:
  /// What the query asks.
  enum class Kind : std::uint8_t {
    listing,  ///< LIST and UIDL, merged into MessageEntry rows.
    stat,     ///< STAT.
  };

  /// Its outcome is errc::wrong_state ("not sent") until it has run.
  explicit Query(Kind kind);

  /// What it asks.
  Kind kind() const noexcept { return kind_; }
  /// Kind::listing, once done without error: one entry per message, in LIST's order.
  std::vector<MessageEntry>& entries() noexcept { return entries_; }
  /// Kind::stat, once done without error.
  const MailboxStat& mailbox() const noexcept { return stat_; }

  /// Sets the bounds and the pipelining of the run; a driver calls it before
  /// the first resume() (Login does for the query it carries).
  void prepare(const Facts& facts, bool pipelining);
  /// The commands not yet queued (a Login queues them with the CAPA after
  /// the login, in one write). A caller error (nothing more queued) or {}.
  std::error_code queue_all(proto::Engine& engine);

 private:
  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void fill(proto::Engine& engine);
  std::error_code queue(proto::Engine& engine) const;
  // True when the event ends the answer of the command it belongs to.
  bool on_listing_event(const proto::Event& event);
  bool on_stat_event(const proto::Event& event);
  void merge();
  std::size_t count() const noexcept { return kind_ == Kind::listing ? 2 : 1; }

  Kind kind_;
  bool deep_ = false;
  std::size_t window_ = 2048;
  std::optional<std::uint64_t> highest_;
  std::size_t max_listing_ = 100'000;
  std::size_t queued_ = 0;  // commands queued
  std::size_t answered_ = 0;
  std::vector<MessageEntry> entries_;
  std::map<std::uint64_t, std::string> uids_;
  std::optional<ListingCheck> list_check_;
  std::optional<ListingCheck> uidl_check_;
  std::optional<Error> list_error_;
  std::optional<Error> stat_error_;
  bool uidl_ok_ = false;
  MailboxStat stat_;
};

/// What follows a successful login (USER/PASS, APOP, SASL): when CAPA was
/// asked before and the server may show more now (values marked USER,
/// RFC 2449 §6.5 and §6.7, or no PIPELINING yet: Gmail lists it only after
/// login), CAPA again, then the query when there is one. `together` (the
/// server pipelines): the CAPA and the query's commands are queued at once,
/// to go out in one write; else CAPA first, then the query, pipelined if the
/// new CAPA lists PIPELINING. A -ERR to that CAPA keeps the capabilities
/// from before.
///
/// outcome(): the CAPA's error when it cost the connection (or the engine
/// refused to queue it), else success; the query's own is its outcome().
class POP3KIT_EXPORT AfterLogin final : public Operation {
 public:
  /// `query` (optional) must outlive the operation; it is prepared here.
  AfterLogin(const Facts& facts, bool together, Query* query = nullptr);

  /// The capabilities of the CAPA asked again, when it answered +OK.
  const std::optional<Capabilities>& capabilities_after() const noexcept { return caps_after_; }

 private:
  enum class Phase : std::uint8_t { capa, capa_list, query };

  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void start_query();

  Facts facts_;
  bool together_;
  Query* query_;
  Phase phase_ = Phase::capa;
  Capabilities caps_;  // being read
  std::optional<Capabilities> caps_after_;
};

/// Which refusals of APOP lead to USER/PASS when LoginOptions::allow_fallback.
enum class ApopFallback : std::uint8_t {
  /// A refusal of the credentials (classified auth_failed or server_error);
  /// a temporary or permanent failure ([IN-USE], [SYS/TEMP], ...) is
  /// reported as it is.
  credentials,
  /// Any -ERR: the NetX Duo API's documented behaviour.
  any,
};

/// The user and the password (or the secret APOP digests). Views: they must
/// outlive the Login.
struct POP3KIT_EXPORT Credentials {
  std::string_view user;      ///< The user name.
  std::string_view password;  ///< The password (APOP: the secret it digests).
};

/// USER/PASS or APOP (RFC 1939 §7), then the CAPA asked again and a Query.
///
/// - APOP needs the greeting's timestamp (Facts::apop_timestamp); without
///   one, errc::unsupported unless LoginOptions::allow_fallback. A refused
///   APOP is errc::auth_failed (or the temporary/permanent code of its
///   response code, with no fallback); with allow_fallback a refusal
///   classified auth_failed or server_error goes on with USER/PASS on the
///   same connection, and if the server then hangs up, the APOP refusal is
///   what is reported.
/// - With pipelining (Facts::pipelining()) PASS goes out right after
///   USER, without waiting for its answer, in a write of its own: Dovecot
///   2.3 answers a PASS that arrives in the same segment as USER about
///   15 ms late (measured on loopback: 42 ms against 26 ms for the login); a refused USER is
///   reported (errc::auth_failed unless its response code says more) once PASS's answer is read and
///   dropped.
/// - Nothing is queued behind PASS or APOP before its answer (the engine
///   refuses it: Courier drops what came with the login).
/// - Once the login is answered, AfterLogin: the CAPA asked again and the
///   query, in one write with pipelining.
///
/// outcome(): the login's (and the CAPA's after it, when it cost the
/// connection). The query's own is query->outcome(); the query runs only
/// after a successful login.
class POP3KIT_EXPORT Login final : public Operation {
 public:
  /// `query` (optional) must outlive the Login; it is prepared here.
  Login(Credentials credentials, LoginOptions options, const Facts& facts, Query* query = nullptr,
        ApopFallback fallback = ApopFallback::credentials);

  /// True once the server accepted the credentials.
  bool logged_in() const noexcept { return after_.has_value(); }
  /// The method the server accepted; meaningful when logged_in().
  LoginMethod method() const noexcept {
    return user_sent_ ? LoginMethod::user_pass : LoginMethod::apop;
  }
  /// The capabilities of the CAPA asked after login, when it answered +OK.
  const std::optional<Capabilities>& capabilities_after() const noexcept;

 private:
  enum class Phase : std::uint8_t { apop, user, pass, drain, after };

  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  Error on_lost(Error error) override;
  void user_pass(proto::Engine& engine);
  void on_written(proto::Engine& engine) override;
  void on_status(proto::Engine& engine, const proto::Status& st);
  void after_login();

  Credentials credentials_;
  LoginOptions options_;
  Facts facts_;
  Query* query_;
  ApopFallback fallback_;
  Phase phase_ = Phase::user;
  bool together_ = false;
  bool user_sent_ = false;
  bool pass_after_write_ = false;  // PASS goes once USER is written
  std::optional<Error> apop_refused_;
  std::optional<Error> user_refused_;
  std::optional<AfterLogin> after_;
};

/// QUIT (RFC 1939 §6), then the close. The server closes right after its
/// answer; whatever it sends before closing answers no command: its answers
/// were out of step with the commands (an unsolicited line earlier was taken
/// for the answer to a later command), so the line taken for QUIT's answer
/// may have been another command's. After the answer Quit asks for one more
/// read while closing(): the close (or a timeout, or a failed read) ends it
/// with QUIT's outcome; any byte is errc::unexpected_data. A -ERR to QUIT
/// is the server's error ("some deleted messages not removed"). The driver
/// closes the connection in every case.
class POP3KIT_EXPORT Quit final : public Operation {
 public:
  Quit() = default;

 private:
  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void on_closed() override;
  Error on_lost(Error error) override;

  bool answered_ = false;
  std::optional<Error> refusal_;
};

}  // namespace session
}  // namespace pop3kit
