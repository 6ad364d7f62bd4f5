// pop3kit — internals shared by the SASL mechanisms (not installed).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pop3kit/error.hpp"
#include "pop3kit/sasl.hpp"
#include "pop3kit/text.hpp"  // sanitize() for the server's text in messages

namespace pop3kit::auth::detail {

/// Overwrites the whole buffer of `s` (size and spare capacity) with
/// OPENSSL_cleanse, then clears it.
void wipe(std::string& s) noexcept;

/// A string holding a secret, wiped on destruction. Neither copyable nor
/// movable, so no stray copy of the buffer is left behind.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view v) { assign(v); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { wipe(s_); }

  void assign(std::string_view v) {
    wipe(s_);
    s_.reserve(v.size());
    s_.assign(v);
  }
  void clear() noexcept { wipe(s_); }
  const std::string& str() const noexcept { return s_; }
  std::string& str() noexcept { return s_; }
  bool empty() const noexcept { return s_.empty(); }

 private:
  std::string s_;
};

enum class Hash { md5, sha1, sha256 };

/// Digest size in octets.
std::size_t hash_size(Hash h) noexcept;
/// H(data) through EVP_Digest; nullopt if OpenSSL fails.
std::optional<std::string> digest(Hash h, std::string_view data);
/// HMAC(key, data) through OpenSSL; nullopt if OpenSSL fails.
std::optional<std::string> hmac(Hash h, std::string_view key, std::string_view data);
/// PBKDF2-HMAC(password, salt, iterations), output of hash_size(h) octets.
std::optional<std::string> pbkdf2(Hash h, std::string_view password, std::string_view salt,
                                  std::uint32_t iterations);
/// Constant-time comparison (CRYPTO_memcmp); false if the sizes differ.
bool equal_secret(std::string_view a, std::string_view b) noexcept;
/// `n` bytes from RAND_bytes; nullopt if OpenSSL fails.
std::optional<std::string> random_bytes(std::size_t n);

/// Lower-case hex.
std::string hex(std::string_view bytes);
/// RFC 5802 saslname: ',' -> "=2C", '=' -> "=3D".
std::string saslname_escape(std::string_view s);
/// True if `s` contains a byte below 0x20 or 0x7F.
bool has_control(std::string_view s) noexcept;

Error openssl_error(std::string_view what);
Error bad_challenge(std::string_view mech, std::string_view what);

using MechPtr = std::unique_ptr<SaslMechanism>;

/// Base of the mechanisms: remembers the first failure, which every later
/// step() and finish() reports again.
class MechanismBase : public SaslMechanism {
 public:
  /// What sasl_mechanism_info() says of name(): one answer for the planning
  /// and for the mechanism object.
  bool sends_reusable_secret() const noexcept final;

 protected:
  /// Records `e` as the failure (if none yet) and returns it.
  Error fail(Error e) {
    if (!failed_) {
      failed_ = true;
      failure_ = e;
    }
    return e;
  }
  bool failed() const noexcept { return failed_; }
  const Error& failure() const noexcept { return failure_; }
  Error wrong_state(std::string_view what) const {
    return Error(errc::wrong_state, std::string(name()) + ": " + std::string(what));
  }

 private:
  bool failed_ = false;
  Error failure_;
};

// Factories, one per source file. `upper_name` is already upper case.
Result<MechPtr> make_simple(std::string_view upper_name, const SaslCredentials& c);
Result<MechPtr> make_scram(std::string_view upper_name, const SaslCredentials& c,
                           const SaslOptions& o);
Result<MechPtr> make_oauth(std::string_view upper_name, const SaslCredentials& c);

}  // namespace pop3kit::auth::detail
