/// pop3kit — client side of SASL (RFC 4422) for POP3 AUTH (RFC 5034).
///
/// Sans-I/O: a SaslMechanism turns decoded server challenges into raw client
/// responses; it never touches the network. The Client drives it:
///
///     auto m = make_sasl_mechanism("SCRAM-SHA-256", creds);  // check m.ok()
///     send "AUTH SCRAM-SHA-256 " + base64_encode(*(*m)->initial_response())
///                                        // or "AUTH NAME" alone, see below
///     on "+ B64":  ch = base64_decode(B64)   -> nullopt: send "*" (cancel)
///                  r  = (*m)->step(*ch)      -> Error:   send "*" (cancel)
///                  send base64_encode(*r)    (an empty response is an empty line)
///     on "+OK":    (*m)->finish()            -> Error:   the server was NOT
///                                               authenticated; QUIT, do not use
///     on "-ERR":   login refused; the mechanism object is spent.
///
/// Initial responses: client_first() mechanisms have one. When the server does
/// not take initial responses (no SASL capability) or "AUTH NAME IR" would
/// exceed 255 octets (RFC 5034 §4), send "AUTH NAME" alone; the server answers
/// with an empty challenge, and step("") as the FIRST step returns the initial
/// response (the same bytes initial_response() returns), so either the saved
/// initial_response() or that step() may be sent. An initial response that is
/// the empty string goes on the AUTH line as "=".
///
/// Secrets: make_sasl_mechanism copies what it needs from SaslCredentials (the
/// credentials may be destroyed right after the call); the copies are wiped
/// with OPENSSL_cleanse when no longer needed and at destruction. Responses that
/// carry a password or token (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) are returned
/// to the caller, who should wipe them after sending.
///
/// Errors (Error::code in pop3kit's category):
///  - errc::unsupported:       unknown mechanism name; a "-PLUS" mechanism
///                             without channel binding data; an unknown
///                             channel binding type; OpenSSL refused a
///                             primitive (e.g. MD5 under a FIPS provider,
///                             RAND_bytes without entropy).
///  - errc::invalid_argument:  credentials the mechanism cannot encode (empty
///                             user name or password where required, NUL or
///                             control characters, a malformed test nonce).
///  - errc::malformed_response: a challenge that breaks the mechanism's syntax
///                             (SCRAM attributes out of order, bad base64, a
///                             nonce that does not extend ours, a bad iteration
///                             count, an unknown mandatory "m=" extension), or
///                             one challenge too many.
///  - errc::auth_failed:       the server reported an error inside the exchange
///                             (SCRAM "e="), or it failed to prove it knows the
///                             password (SCRAM server signature missing or
///                             wrong): treat as an impostor, not as a bad
///                             password.
///  - errc::wrong_state:       initial_response() on a mechanism without one,
///                             step() after the exchange ended or failed.
/// After step() returned an Error the mechanism stays failed: every later
/// step() and finish() fails too.
///
/// Not implemented: SASLprep (RFC 4013) normalisation of SCRAM user names and
/// passwords (they are used as given, which is exact for ASCII), security
/// layers (none of these mechanisms has one).
///
/// @file
/// @ingroup transport
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pop3kit/channel_binding.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"

namespace pop3kit::auth {

/// What the mechanisms may need. Only the fields a mechanism uses are read.
struct POP3KIT_EXPORT SaslCredentials {
  std::string authcid{};   ///< User name (authentication identity).
  std::string password{};  ///< For PLAIN, LOGIN, CRAM-MD5, SCRAM-*.
  std::string authzid{};   ///< Optional authorisation identity (PLAIN, EXTERNAL, SCRAM a=,
                           ///< OAUTHBEARER a=; OAUTHBEARER falls back to authcid).
  std::string token{};     ///< OAuth 2 bearer token (XOAUTH2, OAUTHBEARER).
  std::string host{};      ///< OAUTHBEARER host= (omitted when empty).
  std::uint16_t port = 0;  ///< OAUTHBEARER port= (omitted when 0).
  /// XOAUTH2, OAUTHBEARER: called with the server's error challenge (RFC 7628
  /// §3.2.2: JSON such as {"status":"401","schemes":"bearer","scope":"..."}),
  /// base64-decoded but otherwise raw and untrusted (sanitize() before showing
  /// it), valid during the call only; the login then fails. Copied with the
  /// mechanism: what it refers to must outlive the exchange. Must not throw.
  std::function<void(std::string_view challenge)> on_error_challenge{};
};

/// What a mechanism logs in with.
enum class SaslSecret : std::uint8_t {
  password,            ///< PLAIN, LOGIN, CRAM-MD5, `SCRAM-*`.
  token,               ///< An OAuth 2 bearer token: XOAUTH2, OAUTHBEARER.
  client_certificate,  ///< EXTERNAL: the TLS client certificate; nothing secret is sent.
};

/// What is known of a mechanism from its name alone, before any credential
/// is read: what a login plan needs (which secret to ask for, whether the
/// connection must be encrypted).
struct POP3KIT_EXPORT SaslMechanismInfo {
  std::string_view name;  ///< Upper case, as registered.
  SaslSecret secret;      ///< Which secret it needs.
  /// The secret crosses the wire in a form an eavesdropper can replay: the
  /// password itself (PLAIN, LOGIN) or a bearer token (XOAUTH2, OAUTHBEARER:
  /// it opens the mailbox as well as a password until it expires). Such a
  /// mechanism belongs over TLS only. SaslMechanism::sends_reusable_secret()
  /// answers the same.
  bool sends_reusable_secret;
  /// A "-PLUS" mechanism: it binds the login to the TLS channel and needs TLS.
  bool channel_binding;
};

/// TLS channel binding data, computed by the TLS layer
/// (pop3kit/channel_binding.hpp); `data` must not be empty.
using ChannelBinding = pop3kit::ChannelBinding;

/// SCRAM iteration counts below this are accepted but reported in warnings().
inline constexpr std::uint32_t kScramWarnIterations = 4096;

/// One authentication exchange. Not copyable; not thread-safe; one object per
/// AUTH attempt (a spent or failed object cannot be restarted).
class POP3KIT_EXPORT SaslMechanism {
 public:
  SaslMechanism() = default;
  SaslMechanism(const SaslMechanism&) = delete;
  SaslMechanism& operator=(const SaslMechanism&) = delete;
  virtual ~SaslMechanism() = default;

  /// The registered name in upper case, e.g. "SCRAM-SHA-256-PLUS".
  virtual std::string_view name() const noexcept = 0;
  /// True if the mechanism has an initial response (RFC 4422 §3.3).
  virtual bool client_first() const noexcept = 0;
  /// The initial response, raw bytes (not base64). errc::wrong_state when
  /// !client_first(). SCRAM: calling it twice returns the same message.
  virtual Result<std::string> initial_response() = 0;
  /// Decoded challenge -> raw response (possibly empty). On Error the caller
  /// cancels the exchange with "*".
  virtual Result<std::string> step(std::string_view challenge) = 0;
  /// Call after "+OK". SCRAM fails (errc::auth_failed) unless the server's
  /// final message was received and its signature verified; the others
  /// succeed unless the mechanism failed earlier.
  virtual Result<void> finish() = 0;
  /// True if the secret crosses the wire in a form an eavesdropper can replay:
  /// the password itself (PLAIN, LOGIN) or a bearer token (XOAUTH2,
  /// OAUTHBEARER). Only acceptable over TLS. The built-in mechanisms answer
  /// what sasl_mechanism_info() says of their name.
  virtual bool sends_reusable_secret() const noexcept = 0;
  /// Observations for the user that do not stop the exchange, as printable
  /// ASCII lines: a SCRAM iteration count below kScramWarnIterations, the
  /// (sanitised) JSON error of an XOAUTH2/OAUTHBEARER failure challenge.
  virtual const std::vector<std::string>& warnings() const noexcept;
};

/// Options of a SASL mechanism (make_sasl_mechanism()).
struct POP3KIT_EXPORT SaslOptions {
  /// Channel binding data of the current TLS connection, if any. Required for
  /// the "-PLUS" mechanisms. With it, plain SCRAM sends the "y" flag (RFC 5802
  /// §6: the client could bind but believes the server cannot), so choose the
  /// "-PLUS" variant whenever the server offers it.
  std::optional<ChannelBinding> channel_binding{};
  /// SCRAM client nonce to use instead of a random one. Tests only: printable
  /// ASCII except ','. Empty: 18 bytes from RAND_bytes, base64-encoded.
  std::string client_nonce_for_tests{};
  /// SCRAM iteration counts above this are refused (errc::malformed_response):
  /// a hostile server could otherwise make PBKDF2 run for hours.
  std::uint32_t scram_max_iterations = 10'000'000;
};

/// Creates the mechanism `name` (case-insensitive): PLAIN, LOGIN, CRAM-MD5,
/// SCRAM-SHA-1, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-256-PLUS, XOAUTH2,
/// OAUTHBEARER, EXTERNAL. Errors: errc::unsupported (unknown name, "-PLUS"
/// without options.channel_binding, unknown binding type), errc::invalid_argument
/// (credentials unusable by that mechanism; message says which field).
POP3KIT_EXPORT Result<std::unique_ptr<SaslMechanism>> make_sasl_mechanism(
    std::string_view name, const SaslCredentials& credentials, const SaslOptions& options = {});

/// The names make_sasl_mechanism accepts, upper case, roughly strongest first
/// (choosing among the server's mechanisms is the caller's policy).
POP3KIT_EXPORT const std::vector<std::string_view>& sasl_mechanism_names();

/// What is known of the mechanism `name` (case-insensitive), or nullptr when
/// make_sasl_mechanism does not know it. The pointer stays valid for the
/// life of the program.
POP3KIT_EXPORT const SaslMechanismInfo* sasl_mechanism_info(std::string_view name) noexcept;

/// Standard base64 (RFC 4648 §4) with '=' padding, no line breaks.
POP3KIT_EXPORT std::string base64_encode(std::string_view data);

/// Strict base64 decoding: only A-Z a-z 0-9 + /, length a multiple of 4, at
/// most two '=' and only at the end, unused bits zero. Anything else
/// (whitespace, line breaks, missing padding) -> nullopt. "" -> "".
POP3KIT_EXPORT std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pop3kit::auth
