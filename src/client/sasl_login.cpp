// SASL (RFC 5034) and the automatic choice of a login method: the policy is
// the session layer's (session::SaslLogin, session::choose_mechanism());
// the Client gives it the TLS channel's binding data and runs it.
#include "client_detail.hpp"
#include "deadline.hpp"
#include "pop3kit/client.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

Result<void> Client::authenticate_chosen(std::string_view mechanism,
                                         const auth::SaslCredentials& credentials) {
  return sasl(mechanism, credentials, true);
}

Result<void> Client::authenticate(std::string_view mechanism,
                                  const auth::SaslCredentials& credentials) {
  return sasl(mechanism, credentials, false);
}

Result<void> Client::sasl(std::string_view mechanism, const auth::SaslCredentials& credentials,
                          bool unbound_retry) {
  if (!transport_) return Error(errc::not_connected, "not connected");
  const std::string name = ascii_upper(mechanism);
  session::SaslLoginOptions options;
  options.channel_binding = options_.channel_binding;
  options.unbound_retry = unbound_retry;
  OperationScope op(*this, "AUTH " + name);
  if (auto type =
          session::channel_binding_wanted(name, &caps_, tls_active(), options_.channel_binding)) {
    auto cb = type->empty() ? tls_->channel_binding() : tls_->channel_binding(*type);
    if (!cb) {
      sasl_login_ = {name, {}, false, {}};
      Error e = std::move(cb).error();
      e.message = name + ": " + e.message;
      return e;
    }
    options.sasl.channel_binding = std::move(*cb);
  }
  session::SaslLogin login(name, credentials, std::move(options), facts());
  auto r = run(login);
  // Empty when it refused the mechanism before any exchange began.
  if (!login.info().mechanism.empty()) sasl_login_ = login.info();
  if (login.logged_in()) channel_bound_ = login.channel_bound();
  if (login.capabilities_after()) caps_ = *login.capabilities_after();
  return r;
}

std::string Client::choose_mechanism() const {
  auto m = session::choose_mechanism(caps_, tls_active(), options_.allow_plaintext_password,
                                     options_.channel_binding);
  return m ? std::move(*m) : std::string();
}

Result<void> Client::login_auto(std::string_view user, std::string_view password) {
  auto m = session::choose_mechanism(caps_, tls_active(), options_.allow_plaintext_password,
                                     options_.channel_binding);
  if (!m) return std::move(m).error();
  if (*m == "USER") return login(user, password);
  auth::SaslCredentials creds;
  creds.authcid = user;
  creds.password = password;
  return authenticate_chosen(*m, creds);
}

}  // namespace pop3kit
