// pop3kit — PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
// (RFC 2195) and EXTERNAL (RFC 4422 appendix A).
#include <string>

#include "sasl_internal.hpp"

namespace pop3kit::auth::detail {

namespace {

bool has_nul(std::string_view s) noexcept {
  return s.find('\0') != std::string_view::npos;
}

Error bad_credentials(std::string_view mech, std::string_view what) {
  return Error(errc::invalid_argument, std::string(mech) + ": " + std::string(what));
}

// PLAIN: authzid NUL authcid NUL password, all in the initial response.
class Plain final : public MechanismBase {
 public:
  explicit Plain(const SaslCredentials& c) {
    message_.str().reserve(c.authzid.size() + c.authcid.size() + c.password.size() + 2);
    message_.str().append(c.authzid).append(1, '\0').append(c.authcid).append(1, '\0');
    message_.str().append(c.password);
  }
  std::string_view name() const noexcept override { return "PLAIN"; }
  bool client_first() const noexcept override { return true; }
  Result<std::string> initial_response() override {
    if (failed()) return failure();
    return message_.str();
  }
  Result<std::string> step(std::string_view challenge) override {
    if (failed()) return failure();
    if (done_) return fail(wrong_state("no challenge expected after the response"));
    done_ = true;
    if (!challenge.empty()) return fail(bad_challenge(name(), "unexpected non-empty challenge"));
    return message_.str();  // the server asked for the initial response
  }
  Result<void> finish() override {
    if (failed()) return failure();
    message_.clear();
    return {};
  }

 private:
  Secret message_;
  bool done_ = false;
};

// LOGIN: the first challenge gets the user name, the second the password,
// whatever their text ("Username:", "Password:", or anything else).
class Login final : public MechanismBase {
 public:
  explicit Login(const SaslCredentials& c) : user_(c.authcid), password_(c.password) {}
  std::string_view name() const noexcept override { return "LOGIN"; }
  bool client_first() const noexcept override { return false; }
  Result<std::string> initial_response() override {
    return wrong_state("LOGIN has no initial response");
  }
  Result<std::string> step(std::string_view) override {
    if (failed()) return failure();
    switch (count_++) {
      case 0:
        return user_.str();
      case 1: {
        std::string r = password_.str();
        password_.clear();
        return r;
      }
      default:
        return fail(bad_challenge(name(), "a third challenge (only user name and password)"));
    }
  }
  Result<void> finish() override {
    if (failed()) return failure();
    password_.clear();
    return {};
  }

 private:
  Secret user_;
  Secret password_;
  int count_ = 0;
};

// CRAM-MD5: "user " + hex(HMAC-MD5(password, challenge)).
class CramMd5 final : public MechanismBase {
 public:
  explicit CramMd5(const SaslCredentials& c) : user_(c.authcid), password_(c.password) {}
  std::string_view name() const noexcept override { return "CRAM-MD5"; }
  bool client_first() const noexcept override { return false; }
  Result<std::string> initial_response() override {
    return wrong_state("CRAM-MD5 has no initial response");
  }
  Result<std::string> step(std::string_view challenge) override {
    if (failed()) return failure();
    if (done_) return fail(bad_challenge(name(), "a second challenge"));
    done_ = true;
    if (challenge.empty()) return fail(bad_challenge(name(), "empty challenge"));
    auto mac = hmac(Hash::md5, password_.str(), challenge);
    password_.clear();
    if (!mac) return fail(openssl_error("HMAC-MD5"));
    std::string r = user_.str() + ' ' + hex(*mac);
    wipe(*mac);
    return r;
  }
  Result<void> finish() override {
    if (failed()) return failure();
    password_.clear();
    return {};
  }

 private:
  Secret user_;
  Secret password_;
  bool done_ = false;
};

// EXTERNAL: the initial response is the authorisation identity (may be empty).
class External final : public MechanismBase {
 public:
  explicit External(const SaslCredentials& c) : authzid_(c.authzid) {}
  std::string_view name() const noexcept override { return "EXTERNAL"; }
  bool client_first() const noexcept override { return true; }
  Result<std::string> initial_response() override {
    if (failed()) return failure();
    return authzid_;
  }
  Result<std::string> step(std::string_view challenge) override {
    if (failed()) return failure();
    if (done_) return fail(wrong_state("no challenge expected after the response"));
    done_ = true;
    if (!challenge.empty()) return fail(bad_challenge(name(), "unexpected non-empty challenge"));
    return authzid_;
  }
  Result<void> finish() override {
    if (failed()) return failure();
    return {};
  }

 private:
  std::string authzid_;
  bool done_ = false;
};

}  // namespace

Result<MechPtr> make_simple(std::string_view n, const SaslCredentials& c) {
  if (n == "EXTERNAL") {
    if (has_nul(c.authzid)) return bad_credentials(n, "NUL in the authorisation identity");
    return MechPtr(std::make_unique<External>(c));
  }
  if (c.authcid.empty()) return bad_credentials(n, "empty user name");
  if (c.password.empty()) return bad_credentials(n, "empty password");
  if (has_nul(c.authcid) || has_nul(c.password) || has_nul(c.authzid))
    return bad_credentials(n, "NUL in the user name, password or authorisation identity");
  if (n == "PLAIN") return MechPtr(std::make_unique<Plain>(c));
  if (n == "LOGIN") return MechPtr(std::make_unique<Login>(c));
  if (has_control(c.authcid)) return bad_credentials(n, "control character in the user name");
  return MechPtr(std::make_unique<CramMd5>(c));
}

}  // namespace pop3kit::auth::detail
