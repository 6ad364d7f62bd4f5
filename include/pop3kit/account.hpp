/// pop3kit — an account: from a POP URL and its options to a logged-in session.
///
/// Two steps, so that a mistake costs neither a connection nor a login attempt
/// the server would count against the account:
///
///   1. plan_account() decides everything the account alone can decide: the
///      connection's security, the login method (or the rule that will pick
///      it from CAPA), and which secret the login needs. It refuses options
///      that contradict each other and setups that are unsafe or unsupported.
///      It reads no secret and touches no network.
///   2. open_account() asks the secret sources for what the plan needs, then
///      connects (TLS or STLS as planned), asks CAPA, chooses the method, logs
///      in, and, when asked, lists the mailbox or asks STAT — in the same
///      write as the login when the method is USER/PASS or APOP and the server
///      pipelines.
///
/// @code
///     pop3kit::Account a;
///     a.url = *pop3kit::parse_pop_url("pops://alice@mail.example.org");
///     a.password = [] { return pop3kit::Result<std::string>(read_password()); };
///     auto plan = pop3kit::plan_account(a);            // check plan.ok()
///     pop3kit::Query listing(pop3kit::Query::Kind::listing);
///     auto session = pop3kit::open_account(a, *plan, &listing);
///     // session->client is logged in; listing.entries() holds LIST and UIDL.
/// @endcode
///
/// The `pop3kit` command is a thin layer over these two calls: a program that
/// embeds pop3kit gets the same decisions and the same messages.
///
/// @file
/// @ingroup client
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "pop3kit/client.hpp"
#include "pop3kit/error.hpp"
#include "pop3kit/export.hpp"
#include "pop3kit/tls.hpp"
#include "pop3kit/transport.hpp"
#include "pop3kit/url.hpp"

namespace pop3kit {

/// Why an account cannot be used as written, in the category
/// account_category() ("pop3kit.account"). The two say who must act
/// differently, so that a command can map them to its exit codes (the
/// `pop3kit` command: 64 and 78) without reading the text:
enum class account_errc : int {
  /// The options contradict each other or one is malformed (--plaintext with
  /// pops://, a malformed pin, a key without a certificate, a channel-binding
  /// type without TLS, channel binding none with a "-PLUS" mechanism named):
  /// a mistake in how the account was written down.
  conflicting_options = 1,
  /// Each option is fine but together they ask for something pop3kit refuses
  /// or cannot do: an unknown SASL mechanism, a reusable secret over plain
  /// TCP without allow_plaintext_password, a "-PLUS" mechanism or EXTERNAL
  /// without TLS, EXTERNAL without a client certificate, a token for a
  /// server that offers no OAuth mechanism, no login method the server
  /// offers that is acceptable on this connection, a secret the plan needs
  /// but no source for it.
  unusable_configuration = 2,
};

/// The category of account_errc; name() is "pop3kit.account".
POP3KIT_EXPORT const std::error_category& account_category() noexcept;

/// An error_code of account_category() (lets account_errc convert to std::error_code).
inline std::error_code make_error_code(account_errc e) noexcept {
  return {static_cast<int>(e), account_category()};
}

/// Gives a secret: the password or an OAuth 2 access token. open_account()
/// calls it at most once, only when the plan needs that secret, after
/// planning and before connecting (a failing password command costs no
/// connection). An Error it returns is returned by open_account() as it is;
/// an exception it throws propagates out of open_account(), before anything
/// was connected. pop3kit wipes its copies of the secret once logged in.
using SecretSource = std::function<Result<std::string>()>;

/// How messages name the account's options, so that an error speaks the
/// caller's language: a command-line flag ("--plaintext"), a configuration
/// key. Defaults: the fields of Account.
struct POP3KIT_EXPORT OptionNames {
  std::string plaintext = "allow_plaintext";  ///< Account::allow_plaintext.
  /// Account::allow_plaintext_password.
  std::string plaintext_password = "allow_plaintext_password";
  std::string ca_file = "tls.ca_file";               ///< net::TlsOptions::ca_file.
  std::string ca_dir = "tls.ca_dir";                 ///< net::TlsOptions::ca_dir.
  std::string client_cert = "tls.client_cert_file";  ///< net::TlsOptions::client_cert_file.
  std::string client_key = "tls.client_key_file";    ///< net::TlsOptions::client_key_file.
  std::string pin = "tls.pins";                      ///< net::TlsOptions::pins.
  std::string pin_only = "tls.pins_replace_ca";      ///< net::TlsOptions::pins_replace_ca.
  std::string tls_min = "tls.min_version";           ///< net::TlsOptions::min_version.
  /// Messages write "NAME=VALUE", VALUE as to_string(ChannelBindingChoice).
  std::string channel_binding = "channel_binding";
};

/// A mailbox and how to reach it safely.
struct POP3KIT_EXPORT Account {
  /// Server, user and login method (";auth="; see pop3kit/url.hpp). Without
  /// a user there is no login (the session can only ask CAPA).
  PopUrl url;
  /// pop:// over plain TCP without STLS. Off: pop:// must switch to TLS with
  /// STLS before anything secret is sent; a server without STLS is refused.
  bool allow_plaintext = false;
  /// With allow_plaintext: methods that send a reusable secret (USER/PASS,
  /// and the SASL mechanisms of auth::SaslMechanismInfo::sends_reusable_secret:
  /// PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) may send it in clear text.
  bool allow_plaintext_password = false;
  /// Certificate checks, pins and client certificate (pops://, STLS). Any
  /// of them with allow_plaintext is a contradiction. An empty
  /// client_key_file means the key is in client_cert_file.
  net::TlsOptions tls;
  std::chrono::milliseconds connect_timeout{30'000};  ///< Each TCP handshake attempt.
  std::chrono::milliseconds io_timeout{60'000};       ///< Each read or write.
  /// Each operation in all, plus deadline_per_mib for each MiB it receives
  /// (see ClientOptions::operation_deadline).
  std::chrono::milliseconds operation_deadline{ClientOptions{}.operation_deadline};
  /// The time added to operation_deadline for each MiB received.
  std::chrono::milliseconds deadline_per_mib{ClientOptions{}.deadline_per_mib};
  net::Family family = net::Family::any;  ///< Address families to try.
  /// Channel binding of the "-PLUS" mechanisms (ClientOptions::channel_binding).
  /// automatic: the automatic choice takes -PLUS when offered and, refused,
  /// the same SCRAM once without binding (Client::authenticate_chosen()); a
  /// type: the automatic choice takes only -PLUS, with that type, and never
  /// falls back; none: no -PLUS. A named "-PLUS" mechanism never falls back
  /// either; a named mechanism without -PLUS is used as named, whatever the
  /// choice (none keeps its GS2 flag "n").
  ChannelBindingChoice channel_binding = ChannelBindingChoice::automatic;
  /// UTF8 (RFC 6856) before login when the CAPA lists it: the server then
  /// sends messages whose header holds raw UTF-8 as they are, where without
  /// it some servers send something else (Courier: a generated multipart
  /// "Cannot display Unicode content" around the original), and takes a
  /// UTF-8 user name ("UTF8 USER"). A refused UTF8 is not an error. Not sent
  /// without a login; false: never.
  bool utf8 = true;
  /// Protocol trace (secrets redacted by the engine); empty for none.
  proto::TraceFn trace;

  /// Credential sources (see SecretSource). The password serves USER/PASS,
  /// APOP, PLAIN, LOGIN, CRAM-MD5 and SCRAM; the token XOAUTH2 and
  /// OAUTHBEARER.
  SecretSource password;
  SecretSource token;  ///< The OAuth token (XOAUTH2, OAUTHBEARER).
  /// Whether a token is to be had at planning time: the automatic choice
  /// (no ";auth=", or ";auth=*") then logs in with OAUTHBEARER or XOAUTH2
  /// and the token instead of the password. A method named in the URL does
  /// not look at it.
  bool token_available = false;

  /// How messages name the options above.
  OptionNames names;

  /// Called once connected (TLS verified, CAPA asked), before any
  /// credential is sent: to show the certificate, say. Optional. An
  /// exception it throws propagates out of open_account() (the connection
  /// is closed, nothing secret was sent).
  std::function<void(const Client& client)> on_connected;
  /// Called with an OAuth failure's error challenge (XOAUTH2, OAUTHBEARER:
  /// RFC 7628 §3.2.2, the base64-decoded JSON such as
  /// {"status":"401","schemes":"bearer","scope":"..."}), raw and untrusted,
  /// valid during the call only; open_account() then fails with the login
  /// refusal. pop3kit does not parse it (no JSON dependency): a caller that
  /// wants its status and scope in the message decodes it. Must not throw.
  std::function<void(std::string_view mechanism, std::string_view challenge)> on_oauth_error;
};

/// How the login goes.
enum class LoginChoice : std::uint8_t {
  none,       ///< No user in the URL: no login.
  automatic,  ///< No ";auth=" or ";auth=*": the strongest method the server offers.
  apop,       ///< ";auth=+APOP" (used only when named: MD5 is weak).
  user_pass,  ///< ";auth=USER": USER/PASS by name, for servers whose SASL is broken.
  sasl,       ///< ";auth=MECH": that SASL mechanism or failure, never a substitute.
};

/// How an account connects and logs in: plan_account()'s answer.
struct POP3KIT_EXPORT AccountPlan {
  Security security = Security::starttls;  ///< How the connection is protected.
  LoginChoice login = LoginChoice::none;   ///< How the login goes.
  std::string mechanism;                   ///< LoginChoice::sasl: the upper-case mechanism name.
  bool needs_password = false;             ///< open_account() will call Account::password.
  bool needs_token = false;                ///< open_account() will call Account::token.
};

/// Decides how to connect and log in, from the account alone. Errors:
/// account_errc::conflicting_options and account_errc::unusable_configuration
/// (see there), with a one-line message naming the options by
/// Account::names.
POP3KIT_EXPORT Result<AccountPlan> plan_account(const Account& account);

/// The ClientOptions open_account() uses: the plan's security, the
/// account's TLS options, timeouts, address family and trace.
POP3KIT_EXPORT ClientOptions client_options(const Account& account, const AccountPlan& plan);

/// A connected session, logged in when the plan said so.
struct POP3KIT_EXPORT AccountSession {
  Client client;  ///< The session.
  /// What logged in: "USER", "APOP" or a SASL mechanism (after the automatic
  /// choice's fallback, the one without -PLUS: client.sasl_login() tells
  /// what was refused); empty without login.
  std::string method;
};

/// Reads the secrets `plan` needs (the account's sources), connects, asks
/// CAPA unless STLS already did (a server without CAPA is still usable, with
/// USER/PASS), chooses the method (the plan's, or for LoginChoice::automatic
/// OAUTHBEARER then XOAUTH2 when a token is used, else
/// Client::choose_mechanism()), logs in, then runs `query` when there is
/// one: with USER/PASS and APOP in the write after the login's answer
/// (Client::login), after a SASL login or without login on its own
/// (Client::query). `plan` must come from plan_account() for this account.
///
/// Errors: a secret source's; connect()'s (transport, TLS, certificate,
/// errc::tls_unavailable, greeting); CAPA's when it cost the connection;
/// account_errc::unusable_configuration when the server offers no
/// acceptable method (no OAuth mechanism for a token, none that keeps a
/// reusable secret off a plain connection) or a needed source is missing;
/// a refused login keeps the Client's error code (errc::auth_failed,
/// errc::temporary_failure, ...) and response code, its message prefixed
/// with "login with METHOD failed: " and followed by what the code means
/// (for a refused "-PLUS" login never "the server refused the credentials",
/// but that the server may not support the binding type, and the options
/// that log in otherwise);
/// after a successful login, the query's error unchanged (also in
/// query->outcome()).
POP3KIT_EXPORT Result<AccountSession> open_account(const Account& account, const AccountPlan& plan,
                                                   Query* query = nullptr);

/// What people call a method in messages: "USER/PASS" for "USER", else the
/// name as it is.
POP3KIT_EXPORT std::string login_method_label(std::string_view method);

}  // namespace pop3kit

template <>
struct std::is_error_code_enum<pop3kit::account_errc> : std::true_type {};
