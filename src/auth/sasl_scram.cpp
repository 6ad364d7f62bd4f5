// pop3kit — SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants (RFC 5802,
// RFC 7677; channel binding RFC 5929, RFC 9266).
#include <string>
#include <vector>

#include "sasl_internal.hpp"

namespace pop3kit::auth::detail {

namespace {

constexpr std::size_t kNonceBytes = 18;  // 24 base64 characters

// printable = %x21-2B / %x2D-7E (RFC 5802 §7): the nonce alphabet.
bool is_printable_nonce(std::string_view s) noexcept {
  for (const char c : s)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return !s.empty();
}

std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto pos = s.find(',');
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

// An attribute "k=value" with the expected key; the value, or nullopt.
std::optional<std::string_view> attribute(std::string_view a, char key) {
  if (a.size() < 2 || a[0] != key || a[1] != '=') return std::nullopt;
  return a.substr(2);
}

// Optional extensions after the mandatory attributes: "x=..." with a letter key.
bool valid_extensions(const std::vector<std::string_view>& attrs, std::size_t from) {
  for (std::size_t i = from; i < attrs.size(); ++i) {
    const auto a = attrs[i];
    if (a.size() < 2 || a[1] != '=' ||
        !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
      return false;
  }
  return true;
}

// posit-number = %x31-39 *DIGIT, at most `max`.
std::optional<std::uint32_t> parse_iterations(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 10 || s[0] < '1' || s[0] > '9') return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

class Scram final : public MechanismBase {
 public:
  struct Params {
    std::string name;
    Hash hash = Hash::sha256;
    std::string gs2_header;
    std::string cbind_input;  // gs2 header + channel binding data
    std::string client_first_bare;
    std::string client_nonce;
    std::uint32_t max_iterations = 0;
  };

  Scram(Params p, std::string_view password) : p_(std::move(p)), password_(password) {}
  ~Scram() override {
    wipe(p_.cbind_input);
    wipe(server_signature_);
  }

  std::string_view name() const noexcept override { return p_.name; }
  bool client_first() const noexcept override { return true; }
  const std::vector<std::string>& warnings() const noexcept override { return warnings_; }

  Result<std::string> initial_response() override {
    if (failed()) return failure();
    if (state_ != State::start && state_ != State::sent_first)
      return wrong_state("initial response after the exchange started");
    state_ = State::sent_first;
    return p_.gs2_header + p_.client_first_bare;
  }

  Result<std::string> step(std::string_view challenge) override {
    if (failed()) return failure();
    const bool first_step = !stepped_;
    stepped_ = true;
    switch (state_) {
      case State::start:
      case State::sent_first:
        if (challenge.empty() && first_step) {  // the server asks for the initial response
          state_ = State::sent_first;
          return p_.gs2_header + p_.client_first_bare;
        }
        if (state_ == State::start)
          return fail(bad_challenge(name(), "challenge before the client-first message"));
        return server_first(challenge);
      case State::sent_final:
        return server_final(challenge);
      case State::verified:
        break;
    }
    return fail(wrong_state("challenge after the server-final message"));
  }

  Result<void> finish() override {
    if (failed()) return failure();
    if (state_ != State::verified)
      return fail(Error(errc::auth_failed, std::string(name()) +
                                               ": +OK without a verified server signature; the "
                                               "server did not prove it knows the password"));
    return {};
  }

 private:
  enum class State { start, sent_first, sent_final, verified };

  Result<std::string> server_first(std::string_view msg) {
    if (msg.starts_with("m=")) return fail(bad_challenge(name(), "unknown mandatory extension"));
    if (msg.starts_with("e="))
      return fail(Error(errc::auth_failed, std::string(name()) + ": server error: " +
                                               sanitize(split_commas(msg.substr(2))[0])));
    const auto attrs = split_commas(msg);
    if (attrs.size() < 3) return fail(bad_challenge(name(), "server-first message too short"));
    const auto nonce = attribute(attrs[0], 'r');
    const auto salt_b64 = attribute(attrs[1], 's');
    const auto iter_s = attribute(attrs[2], 'i');
    if (!nonce || !salt_b64 || !iter_s || !valid_extensions(attrs, 3))
      return fail(bad_challenge(name(), "malformed server-first message"));
    if (!is_printable_nonce(*nonce) || !nonce->starts_with(p_.client_nonce) ||
        nonce->size() <= p_.client_nonce.size())
      return fail(bad_challenge(name(), "server nonce does not extend the client nonce"));
    const auto salt = base64_decode(*salt_b64);
    if (!salt || salt->empty()) return fail(bad_challenge(name(), "malformed salt"));
    const auto iterations = parse_iterations(*iter_s, p_.max_iterations);
    if (!iterations)
      return fail(bad_challenge(
          name(), "iteration count not a number in 1.." + std::to_string(p_.max_iterations)));
    if (*iterations < kScramWarnIterations)
      warnings_.push_back(std::string(name()) + ": weak iteration count " +
                          std::to_string(*iterations) + " (fewer than " +
                          std::to_string(kScramWarnIterations) + ")");

    const Hash h = p_.hash;
    Secret salted, client_key, stored_key, client_sig, server_key, proof;
    auto take = [](Secret& dst, std::optional<std::string>&& v) {
      if (!v) return false;
      dst.assign(*v);
      wipe(*v);
      return true;
    };
    const bool salted_ok = take(salted, pbkdf2(h, password_.str(), *salt, *iterations));
    password_.clear();
    if (!salted_ok) return fail(openssl_error("PBKDF2"));

    std::string without_proof = "c=" + base64_encode(p_.cbind_input) + ",r=" + std::string(*nonce);
    const std::string auth_message =
        p_.client_first_bare + ',' + std::string(msg) + ',' + without_proof;
    if (!take(client_key, hmac(h, salted.str(), "Client Key")) ||
        !take(stored_key, digest(h, client_key.str())) ||
        !take(client_sig, hmac(h, stored_key.str(), auth_message)) ||
        !take(server_key, hmac(h, salted.str(), "Server Key")))
      return fail(openssl_error("HMAC"));
    auto server_sig = hmac(h, server_key.str(), auth_message);
    if (!server_sig) return fail(openssl_error("HMAC"));
    server_signature_ = std::move(*server_sig);

    proof.assign(client_key.str());
    for (std::size_t i = 0; i < proof.str().size(); ++i)
      proof.str()[i] = static_cast<char>(proof.str()[i] ^ client_sig.str()[i]);
    state_ = State::sent_final;
    return without_proof + ",p=" + base64_encode(proof.str());
  }

  Result<std::string> server_final(std::string_view msg) {
    if (msg.starts_with("e=")) {
      const auto value = split_commas(msg.substr(2))[0];
      return fail(
          Error(errc::auth_failed, std::string(name()) + ": server error: " + sanitize(value)));
    }
    const auto attrs = split_commas(msg);
    const auto v = attribute(attrs[0], 'v');
    if (!v || !valid_extensions(attrs, 1))
      return fail(bad_challenge(name(), "malformed server-final message"));
    const auto sig = base64_decode(*v);
    if (!sig) return fail(bad_challenge(name(), "malformed server signature"));
    const bool match = equal_secret(*sig, server_signature_);
    wipe(server_signature_);
    if (!match)
      return fail(Error(errc::auth_failed, std::string(name()) +
                                               ": wrong server signature: the server does not "
                                               "know the password (impostor?)"));
    state_ = State::verified;
    return std::string();  // POP3 sends the server-final as a challenge: answer empty
  }

  Params p_;
  Secret password_;
  std::string server_signature_;
  std::vector<std::string> warnings_;
  State state_ = State::start;
  bool stepped_ = false;
};

Error bad(std::string_view n, std::string_view what) {
  return Error(errc::invalid_argument, std::string(n) + ": " + std::string(what));
}

}  // namespace

Result<MechPtr> make_scram(std::string_view n, const SaslCredentials& c, const SaslOptions& o) {
  Scram::Params p;
  p.name = std::string(n);
  bool plus = false;
  if (n == "SCRAM-SHA-1" || n == "SCRAM-SHA-1-PLUS")
    p.hash = Hash::sha1;
  else if (n == "SCRAM-SHA-256" || n == "SCRAM-SHA-256-PLUS")
    p.hash = Hash::sha256;
  else
    return Error(errc::unsupported, "unsupported SASL mechanism: " + sanitize(n, 40));
  plus = n.ends_with("-PLUS");

  if (c.authcid.empty()) return bad(n, "empty user name");
  if (c.password.empty()) return bad(n, "empty password");
  if (has_control(c.authcid) || has_control(c.authzid))
    return bad(n, "control character in the user name or authorisation identity");
  if (c.password.find('\0') != std::string::npos) return bad(n, "NUL in the password");

  const auto& cb = o.channel_binding;
  std::string flag = "n";
  if (plus) {
    if (!cb) return Error(errc::unsupported, p.name + " needs TLS channel binding data");
    if (cb->type != "tls-exporter" && cb->type != "tls-unique" &&
        cb->type != "tls-server-end-point")
      return Error(errc::unsupported,
                   p.name + ": unsupported channel binding type " + sanitize(cb->type, 40));
    if (cb->data.empty()) return bad(n, "empty channel binding data");
    flag = "p=" + cb->type;
  } else if (cb) {
    flag = "y";  // we could bind, but the server does not offer -PLUS
  }
  p.gs2_header = flag + ',' + (c.authzid.empty() ? "" : "a=" + saslname_escape(c.authzid)) + ',';
  p.cbind_input = p.gs2_header + (plus ? cb->data : std::string());

  if (!o.client_nonce_for_tests.empty()) {
    if (!is_printable_nonce(o.client_nonce_for_tests))
      return bad(n, "test nonce must be printable ASCII without ','");
    p.client_nonce = o.client_nonce_for_tests;
  } else {
    auto raw = random_bytes(kNonceBytes);
    if (!raw) return openssl_error("RAND_bytes");
    p.client_nonce = base64_encode(*raw);
  }
  p.client_first_bare = "n=" + saslname_escape(c.authcid) + ",r=" + p.client_nonce;
  p.max_iterations = o.scram_max_iterations;
  return MechPtr(std::make_unique<Scram>(std::move(p), c.password));
}

}  // namespace pop3kit::auth::detail
