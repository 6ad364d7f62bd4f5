// pop3kit — the rules of open_account() that do not need a blocking Client:
// reading the secrets, choosing the login method from CAPA, and what a
// refused login says. The asynchronous account opening (the store layer's
// async fetch) uses them too, so that both drivers decide and speak alike.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>

#include "pop3kit/account.hpp"

namespace pop3kit::detail {

/// Secrets read for one login, wiped when done (best effort: the sources
/// and the environment may hold copies).
struct Secrets {
  std::string password;
  std::string token;
  Secrets() = default;
  ~Secrets() {
    OPENSSL_cleanse(password.data(), password.size());
    OPENSSL_cleanse(token.data(), token.size());
  }
  Secrets(const Secrets&) = delete;
  Secrets& operator=(const Secrets&) = delete;
};

/// Calls `source` for `what` ("password", "token") into `out`;
/// account_errc::unusable_configuration when there is no source.
Result<void> obtain(const SecretSource& source, std::string_view what, std::string& out);

/// The method for this session: "USER", "APOP" or a SASL mechanism.
/// `caps`: the CAPA answer; `chosen`: session::choose_mechanism()'s answer
/// for this connection (what the client's choose_mechanism() says).
Result<std::string> choose_method(const Capabilities& caps, const std::string& chosen,
                                  const Account& a, const AccountPlan& plan);

/// A refused login: names the method tried and says what the server's code
/// means; `caps`: what the server said before the login; `sasl`: the SASL
/// exchange, if the login was one.
Error login_failure(std::string_view method, Error error, const Capabilities& caps,
                    const Account& a, const SaslLoginInfo* sasl = nullptr);

}  // namespace pop3kit::detail
