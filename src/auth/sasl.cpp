// pop3kit — SASL mechanism factory and shared helpers.
#include "pop3kit/sasl.hpp"

#include <array>
#include <string>

#include "pop3kit/text.hpp"
#include "sasl_internal.hpp"

namespace pop3kit::auth {

const std::vector<std::string>& SaslMechanism::warnings() const noexcept {
  static const std::vector<std::string> none;
  return none;
}

namespace detail {

bool MechanismBase::sends_reusable_secret() const noexcept {
  const SaslMechanismInfo* info = sasl_mechanism_info(name());
  return info == nullptr || info->sends_reusable_secret;  // unknown: assume the worst
}

}  // namespace detail

namespace {

// The one list of mechanisms and what each needs and exposes: the names
// offered, the login planning and SaslMechanism::sends_reusable_secret() all
// read it. Roughly strongest first.
constexpr std::array<SaslMechanismInfo, 10> kMechanisms{{
    {"SCRAM-SHA-256-PLUS", SaslSecret::password, false, true},
    {"SCRAM-SHA-256", SaslSecret::password, false, false},
    {"SCRAM-SHA-1-PLUS", SaslSecret::password, false, true},
    {"SCRAM-SHA-1", SaslSecret::password, false, false},
    // A bearer token replays as well as a password until it expires.
    {"OAUTHBEARER", SaslSecret::token, true, false},
    {"XOAUTH2", SaslSecret::token, true, false},
    {"EXTERNAL", SaslSecret::client_certificate, false, false},
    {"CRAM-MD5", SaslSecret::password, false, false},
    {"PLAIN", SaslSecret::password, true, false},
    {"LOGIN", SaslSecret::password, true, false},
}};

}  // namespace

const std::vector<std::string_view>& sasl_mechanism_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    out.reserve(kMechanisms.size());
    for (const auto& m : kMechanisms)
      out.push_back(m.name);
    return out;
  }();
  return names;
}

const SaslMechanismInfo* sasl_mechanism_info(std::string_view name) noexcept {
  for (const auto& m : kMechanisms) {
    if (iequals(m.name, name)) return &m;
  }
  return nullptr;
}

Result<std::unique_ptr<SaslMechanism>> make_sasl_mechanism(std::string_view name,
                                                           const SaslCredentials& credentials,
                                                           const SaslOptions& options) {
  const std::string n = ascii_upper(name);
  if (n == "PLAIN" || n == "LOGIN" || n == "CRAM-MD5" || n == "EXTERNAL")
    return detail::make_simple(n, credentials);
  if (n.starts_with("SCRAM-")) return detail::make_scram(n, credentials, options);
  if (n == "XOAUTH2" || n == "OAUTHBEARER") return detail::make_oauth(n, credentials);
  return Error(errc::unsupported, "unsupported SASL mechanism: " + sanitize(name, 40));
}

}  // namespace pop3kit::auth

namespace pop3kit::auth::detail {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

std::string saslname_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out.push_back(c);
  }
  return out;
}

bool has_control(std::string_view s) noexcept {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) return true;
  }
  return false;
}

Error openssl_error(std::string_view what) {
  return Error(errc::unsupported, "OpenSSL failed: " + std::string(what));
}

Error bad_challenge(std::string_view mech, std::string_view what) {
  return Error(errc::malformed_response, std::string(mech) + ": " + std::string(what));
}

}  // namespace pop3kit::auth::detail
