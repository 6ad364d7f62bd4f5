/// pop3kit — the session operations that protect and authenticate a
/// session: STLS (RFC 2595) and SASL logins (RFC 5034), and the automatic
/// choice of a login method.
///
/// Like the rest of the session layer (pop3kit/session.hpp) they own no
/// socket: StartTls asks its driver to start TLS (Want::start_tls), and a
/// SaslLogin takes the TLS channel's binding data from its driver, which
/// computes it (net::TlsTransport::channel_binding()) of the type
/// channel_binding_wanted() names. Certificate checks stay in the driver's
/// transport.
///
/// @file
/// @ingroup session
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/sasl.hpp"
#include "pop3kit/session.hpp"

namespace pop3kit {

/// Which TLS channel binding (RFC 5929, RFC 9266) the SASL -PLUS mechanisms
/// (SCRAM-SHA-1-PLUS, SCRAM-SHA-256-PLUS) use, and whether the automatic
/// choice of a login method takes them.
enum class ChannelBindingChoice : std::uint8_t {
  /// net::TlsTransport::default_channel_binding_type(): tls-exporter with
  /// TLS 1.3; with TLS 1.2 tls-unique under the extended master secret, else
  /// tls-server-end-point. The automatic choice prefers -PLUS and, if the
  /// server refuses it, tries the same SCRAM once without binding (see
  /// Client::authenticate_chosen() and SaslLoginOptions::unbound_retry).
  automatic,
  /// That type, or no login: the automatic choice takes only -PLUS
  /// mechanisms and never falls back; a type the connection cannot give
  /// (tls-unique with TLS 1.3, ...) fails before anything is sent.
  tls_exporter,
  tls_unique,
  tls_server_end_point,
  /// No binding: the automatic choice never takes a -PLUS mechanism, naming
  /// one is errc::invalid_argument, and plain SCRAM sends the GS2 flag "n".
  none,
};

/// "auto", "tls-exporter", "tls-unique", "tls-server-end-point", "none".
POP3KIT_EXPORT std::string_view to_string(ChannelBindingChoice choice) noexcept;
/// The inverse of to_string(); nullopt for anything else.
POP3KIT_EXPORT std::optional<ChannelBindingChoice> parse_channel_binding(
    std::string_view text) noexcept;

/// The last SASL exchange of a session (Client::sasl_login(), SaslLogin::info()).
struct POP3KIT_EXPORT SaslLoginInfo {
  /// The mechanism of the last AUTH sent (after a fallback, the one without
  /// -PLUS); empty before any.
  std::string mechanism;
  /// Its channel-binding type when it was a -PLUS mechanism ("tls-unique");
  /// else empty. After a successful login: the session is bound to the TLS
  /// channel exactly when this is not empty.
  std::string channel_binding;
  /// The server turned the exchange down: a -ERR, or a SCRAM "e=" error
  /// (not a challenge or signature the client rejected).
  bool refused = false;
  /// Client::authenticate_chosen() only: the -PLUS mechanism and binding the
  /// server refused before `mechanism` was tried without binding
  /// ("SCRAM-SHA-256-PLUS with channel binding tls-exporter"); else empty.
  std::string refused_binding;
};

namespace session {

/// STLS (RFC 2595 §4) on a session in the AUTHORIZATION state, with no
/// credential sent: CAPA, STLS when the answer lists it, Want::start_tls
/// once STLS is answered +OK, then CAPA again over TLS (what was learnt
/// before TLS is forgotten).
///
/// The driver answers Want::start_tls by running the TLS handshake on the
/// connection (its certificate checks included) and calling
/// engine.set_tls_active(), then resume(); or, when the handshake fails, by
/// closing the connection and calling transport_failed() with its error,
/// which becomes the outcome. Want::start_tls is asked exactly once, and
/// never when the engine saw bytes after STLS's +OK (the engine fails with
/// errc::unexpected_data: response injection).
///
/// STARTTLS stripping shows as a missing STLS or a -ERR: every failure
/// closes the connection, never going on in the clear. outcome():
/// - errc::wrong_state when TLS is already active (nothing sent);
/// - errc::tls_unavailable when CAPA is refused (the message quotes the
///   server), STLS is not listed, or STLS is answered -ERR (with the
///   server's response code);
/// - the engine's protocol errors (errc::unexpected_data, ...), the
///   driver's transport and handshake errors;
/// - once TLS is up, only what costs the connection: a -ERR to the CAPA
///   over TLS is success, with no capabilities_after().
class POP3KIT_EXPORT StartTls final : public Operation {
 public:
  /// Its outcome is errc::wrong_state ("not sent") until it has run.
  StartTls();

  /// The CAPA's answer before TLS, when it answered +OK (also when STLS
  /// was then missing or refused).
  const std::optional<Capabilities>& capabilities_before() const noexcept { return before_; }
  /// True once the server answered STLS +OK: the capabilities before TLS
  /// are then to be forgotten (the driver keeps them apart).
  bool accepted() const noexcept { return phase_ >= Phase::handshake; }
  /// The CAPA's answer over TLS, when it answered +OK.
  const std::optional<Capabilities>& capabilities_after() const noexcept { return after_; }

 private:
  enum class Phase : std::uint8_t { capa, capa_list, stls, handshake, capa_again, capa_again_list };

  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  void on_tls_started(proto::Engine& engine) override;

  Phase phase_ = Phase::capa;
  Capabilities caps_;  // being read
  std::optional<Capabilities> before_;
  std::optional<Capabilities> after_;
};

/// The login method the automatic choice takes: the strongest the
/// capabilities list of SCRAM-SHA-256-PLUS (with TLS), SCRAM-SHA-256,
/// SCRAM-SHA-1, PLAIN, LOGIN, then "USER" for USER/PASS (also when CAPA
/// was not asked: `capabilities` empty). PLAIN, LOGIN and USER send a
/// reusable password: only with `tls_active` or `allow_plaintext_password`.
/// APOP and CRAM-MD5 are never chosen. With ChannelBindingChoice::none no
/// -PLUS mechanism; with a binding type named, only SCRAM-SHA-256-PLUS or
/// SCRAM-SHA-1-PLUS, over TLS.
///
/// Errors, when nothing acceptable is offered: errc::unsupported, its
/// message saying why (no -PLUS method while a binding type was named, no
/// method that keeps the password off an unencrypted connection, or none
/// pop3kit can use).
POP3KIT_EXPORT Result<std::string> choose_mechanism(const Capabilities& capabilities,
                                                    bool tls_active, bool allow_plaintext_password,
                                                    ChannelBindingChoice choice);

/// The channel binding data a SaslLogin of `mechanism` needs from its
/// driver: nullopt for none; else the type to compute, empty for the
/// connection's default type (net::TlsTransport::default_channel_binding_type()).
/// Only with `tls_active`: a -PLUS mechanism binds to the channel with the
/// type `choice` names (none: nothing, the login refuses it); plain SCRAM
/// gets the default type's data too, unless `choice` is none or the
/// capabilities list its -PLUS variant, so it can tell the server it could
/// have bound (GS2 "y"), and a man in the middle who removed -PLUS is
/// caught.
POP3KIT_EXPORT std::optional<std::string_view> channel_binding_wanted(
    std::string_view mechanism, const Capabilities* capabilities, bool tls_active,
    ChannelBindingChoice choice) noexcept;

/// How a SaslLogin runs.
struct POP3KIT_EXPORT SaslLoginOptions {
  /// Which channel binding -PLUS mechanisms use (see ChannelBindingChoice).
  ChannelBindingChoice channel_binding = ChannelBindingChoice::automatic;
  /// The mechanism's options; `sasl.channel_binding` is the driver's data
  /// of the type channel_binding_wanted() names (unset when it names none).
  auth::SaslOptions sasl{};
  /// With ChannelBindingChoice::automatic: when the server refuses a -PLUS
  /// mechanism (a -ERR to the exchange, or a SCRAM "e=" error, that is
  /// neither temporary nor [SYS/PERM]) and the capabilities list the same
  /// SCRAM without -PLUS, that one is tried once on the same connection,
  /// with the GS2 flag "n" (RFC 5802 §6: "y" to a server that offers -PLUS
  /// must fail). For a mechanism the caller did not name: servers that
  /// support only some binding types (Cyrus SASL: tls-unique alone, so
  /// nothing over TLS 1.3) still let the user in. Refused again: that
  /// error, its message saying the -PLUS attempt was refused too.
  bool unbound_retry = false;
};

/// AUTH (RFC 5034) with one SASL mechanism (a name of pop3kit/sasl.hpp,
/// any case), then what follows a login (AfterLogin: CAPA again when the
/// server may show more now, lock-step).
///
/// - The initial response goes on the AUTH line when the capabilities list
///   SASL and the line stays within the engine's Limits::max_command, else
///   after the server's empty challenge.
/// - A challenge that is not clean base64, or that the mechanism rejects,
///   is cancelled with "*" and the client's error is the outcome (the
///   server's -ERR to the "*" is read); a SCRAM "e=" error is the server's
///   refusal in the mechanism's words. +OK to a cancelled exchange closes
///   the connection (errc::auth_failed: nothing the server says can be
///   trusted).
/// - After +OK the mechanism must agree (SCRAM: the server proved it knows
///   the password), else errc::auth_failed and the connection is closed.
/// - A -ERR is errc::auth_failed, or the code of its response code
///   ([IN-USE] ... errc::temporary_failure); for a -PLUS mechanism the
///   message names the binding type and says the server may not support it.
///
/// Errors before anything is sent: errc::invalid_argument for -PLUS with
/// ChannelBindingChoice::none; the mechanism's (make_sasl_mechanism():
/// errc::unsupported for an unknown name or -PLUS without binding data);
/// the engine's refusal (errc::wrong_state outside AUTHORIZATION).
/// Transport and protocol errors close the connection.
class POP3KIT_EXPORT SaslLogin final : public Operation {
 public:
  /// `credentials` and `facts` (with what it points to) must outlive the
  /// operation.
  SaslLogin(std::string_view mechanism, const auth::SaslCredentials& credentials,
            SaslLoginOptions options, const Facts& facts);

  /// The exchange (the last one, after an unbound retry).
  const SaslLoginInfo& info() const noexcept { return info_; }
  /// True once the server accepted the login (and the mechanism agreed).
  bool logged_in() const noexcept { return after_.has_value(); }
  /// True when logged in with a -PLUS mechanism: bound to the TLS channel.
  bool channel_bound() const noexcept { return logged_in() && !info_.channel_binding.empty(); }
  /// The capabilities of the CAPA asked after login, when it answered +OK.
  const std::optional<Capabilities>& capabilities_after() const noexcept;

 private:
  void start(proto::Engine& engine) override;
  void on_event(proto::Engine& engine, const proto::Event& event) override;
  Error on_lost(Error error) override;
  void attempt(proto::Engine& engine, const std::string& name, const auth::SaslOptions& sasl,
               std::string refused_binding);
  void fail(Error error);
  void on_challenge(proto::Engine& engine, std::string_view data);
  void on_refused(proto::Engine& engine, Error error);

  std::string mechanism_;
  const auth::SaslCredentials& credentials_;
  SaslLoginOptions options_;
  Facts facts_;
  SaslLoginInfo info_;
  std::string what_;  // "AUTH NAME"
  std::unique_ptr<auth::SaslMechanism> mech_;
  std::optional<std::string> initial_;  // the initial response, until sent
  bool retried_ = false;
  std::optional<Error> local_;   // why the client cancelled, if it did
  bool server_said_no_ = false;  // local_ is the server's SCRAM error
  std::optional<AfterLogin> after_;
};

}  // namespace session
}  // namespace pop3kit
