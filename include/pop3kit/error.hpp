/// pop3kit — error currency shared by every layer.
///
/// Every fallible call in pop3kit reports failure as a value, never by throwing
/// (the sans-I/O engine never throws; the client and transports only throw
/// std::bad_alloc). A failure is a std::error_code in pop3kit's category plus,
/// where there is one, the RFC 2449/3206 response code and a human-readable
/// message that already includes the server's (sanitised) text.
///
/// @file
/// @ingroup engine
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "pop3kit/export.hpp"

namespace pop3kit {

/// Error values of pop3kit's category ("pop3kit").
///
/// Groups (see the predicates below):
///  - caller errors: the API was misused; nothing was sent.
///  - protocol errors: the peer broke RFC 1939/2449; the engine is failed for good.
///  - server errors: the server answered -ERR.
///  - transport errors: name resolution, connect, read/write, deadlines.
enum class errc : int {
  // Caller errors (1xx).
  invalid_argument = 100,  ///< CR, LF or NUL in an argument, empty or out-of-range argument.
  command_too_long = 101,  ///< The encoded command exceeds 255 octets (RFC 2449 §4).
  wrong_state = 102,       ///< The command is not allowed in the session's state.
  not_connected = 103,     ///< The client has no open connection.
  engine_failed = 104,     ///< The engine failed earlier (errors are sticky).
  sink_failed = 105,       ///< The caller's sink refused data (its own error in the message).
  unsupported = 106,       ///< The server lacks what the call needs (no APOP timestamp, ...).
  // Protocol errors (2xx): the peer broke the protocol.
  bad_status = 200,             ///< A response line is neither "+OK" nor "-ERR".
  line_too_long = 201,          ///< A status or capability line exceeds the configured limit.
  bare_line_feed = 202,         ///< A status line ends with LF not preceded by CR.
  malformed_response = 203,     ///< A number, message number or field is malformed.
  malformed_uid = 204,          ///< A UID is empty, too long, or has octets outside 0x21-0x7E.
  too_many_capabilities = 205,  ///< The CAPA list exceeds the configured limit.
  unexpected_data = 206,        ///< The server sent data while no response was outstanding.
  bad_greeting = 207,           ///< The greeting is malformed.
  /// A LIST or UIDL listing has more entries than it may: more than the
  /// messages STAT counted, or more than ClientOptions::max_listing.
  listing_too_long = 208,
  /// A LIST or UIDL entry names message 0, a message beyond those STAT
  /// counted, a message already listed, or (in list_with_uidl) a message the
  /// other listing does not have.
  bad_message_number = 209,
  /// A SASL challenge after the client cancelled with "*", or more challenges
  /// than proto::Limits::max_sasl_challenges.
  bad_sasl_exchange = 210,
  // Server errors (3xx): a -ERR answer, classified by its response code.
  server_error = 300,       ///< -ERR without a more specific classification.
  auth_failed = 301,        ///< Login refused (credentials, or the server's [AUTH]).
  temporary_failure = 302,  ///< [SYS/TEMP], [IN-USE] or [LOGIN-DELAY]: try again later.
  permanent_failure = 303,  ///< [SYS/PERM]: tell the user, do not retry blindly.
  greeting_refused = 304,   ///< The server greeted with -ERR.
  tls_unavailable =
      305,  ///< TLS was required but STLS is missing or refused (nothing secret sent).
  // Transport errors (4xx).
  host_not_found = 400,       ///< getaddrinfo could not resolve the host.
  connect_failed = 401,       ///< Every address refused or failed.
  timed_out = 402,            ///< A connect, read or write deadline passed.
  connection_closed = 403,    ///< The peer closed the connection unexpectedly.
  io_error = 404,             ///< A socket call failed (errno in the message).
  tls_failed = 405,           ///< The TLS handshake or a TLS record failed.
  certificate_invalid = 406,  ///< The server's certificate was rejected (reason in the message).
  /// A call of the Client took longer than its overall deadline
  /// (ClientOptions::operation_deadline), however steadily the server sent:
  /// a server trickling a byte now and then. The message names the
  /// operation and the deadline.
  deadline_exceeded = 407,
  /// The caller ended the session while a call ran (async::Client::cancel()).
  cancelled = 408,
};

/// The category of pop3kit's error codes; name() is "pop3kit".
POP3KIT_EXPORT const std::error_category& category() noexcept;

/// An error_code of category() (lets errc convert to std::error_code).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// True for errors where the API was misused (1xx).
POP3KIT_EXPORT bool is_caller_error(std::error_code ec) noexcept;
/// True for errors where the peer broke the protocol (2xx).
POP3KIT_EXPORT bool is_protocol_error(std::error_code ec) noexcept;
/// True for server errors (3xx): the server answered -ERR, to a command, to
/// the greeting (greeting_refused) or to STLS (tls_unavailable, which also
/// covers a server that does not offer STLS where TLS is required). The
/// connection worked and the server spoke POP3; it refused what was asked.
/// False for caller, protocol and transport errors, whose messages do not
/// carry a server's answer. Classify by this, never by the message text.
POP3KIT_EXPORT bool is_server_error(std::error_code ec) noexcept;
/// True for errors that say "try again later": temporary server answers,
/// deadlines (timed_out, deadline_exceeded), dropped or failed connections.
POP3KIT_EXPORT bool is_temporary(std::error_code ec) noexcept;

/// Extended response codes of RFC 2449 §8 / RFC 3206 / RFC 6856 that pop3kit
/// understands. Sub-levels it does not know are ignored ("SYS/TEMP/X" is
/// sys_temp); a top level it does not know is `other`.
enum class ResponseCode : std::uint8_t {
  none,         ///< No "[...]" after the status indicator.
  in_use,       ///< [IN-USE]: the maildrop is locked by another session.
  login_delay,  ///< [LOGIN-DELAY]: logged in too recently.
  sys_temp,     ///< [SYS/TEMP]: transient server problem.
  sys_perm,     ///< [SYS/PERM]: permanent server problem.
  auth,         ///< [AUTH]: the credentials are wrong.
  utf8,         ///< [UTF8] (RFC 6856).
  other,        ///< A bracketed code pop3kit does not know.
};

/// Upper-case name as it appears on the wire ("SYS/TEMP"), "" for none/other.
POP3KIT_EXPORT const char* to_string(ResponseCode rc) noexcept;

/// A failure: the code, the server's response code if any, and one line of
/// text for a person. `message` never contains control characters; server
/// text in it has been sanitised.
struct POP3KIT_EXPORT Error {
  std::error_code code;  ///< What failed; classify by this (is_server_error(), ...).
  ResponseCode response_code = ResponseCode::none;  ///< The server's RFC 2449 code, if any.
  std::string message;  ///< One line for a person; server text sanitised.

  /// No error (an empty code).
  Error() = default;
  /// An error with `c`, the message `msg` and the server's response code `rc`.
  Error(std::error_code c, std::string msg, ResponseCode rc = ResponseCode::none)
      : code(c), response_code(rc), message(std::move(msg)) {}
  /// An error of pop3kit's category.
  Error(errc c, std::string msg, ResponseCode rc = ResponseCode::none)
      : Error(make_error_code(c), std::move(msg), rc) {}
};

/// is_server_error(error.code): the server answered -ERR.
POP3KIT_EXPORT bool is_server_error(const Error& error) noexcept;

/// A value or an Error. Minimal stand-in for std::expected (C++23), which
/// Clang 14's library does not have.
template <class T>
class [[nodiscard]] Result {
 public:
  /// A success holding `value`.
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  /// A failure holding `error`.
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  /// True when it holds a value.
  bool ok() const noexcept { return v_.index() == 0; }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }

  ///@{
  /// The value; precondition ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  ///@}

  ///@{
  /// The error; precondition !ok().
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }
  ///@}

 private:
  std::variant<T, Error> v_;
};

/// Result<void>: success, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// A success.
  Result() = default;
  /// A failure holding `error`.
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit by design

  /// True on success.
  bool ok() const noexcept { return !failed_; }
  /// ok().
  explicit operator bool() const noexcept { return ok(); }
  ///@{
  /// The error; precondition !ok().
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }
  ///@}

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace pop3kit

template <>
struct std::is_error_code_enum<pop3kit::errc> : std::true_type {};
