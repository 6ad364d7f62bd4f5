// pop3kit — XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628).
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sasl_internal.hpp"

namespace pop3kit::auth::detail {

namespace {

// Both mechanisms send everything in the initial response; a challenge is the
// server's JSON error, answered with a fixed reply ("" or "\x01") after which
// the server sends -ERR.
class OAuth final : public MechanismBase {
 public:
  OAuth(std::string_view name, std::string_view message, std::string error_reply,
        std::function<void(std::string_view)> on_error)
      : name_(name),
        message_(message),
        error_reply_(std::move(error_reply)),
        on_error_(std::move(on_error)) {}

  std::string_view name() const noexcept override { return name_; }
  bool client_first() const noexcept override { return true; }
  const std::vector<std::string>& warnings() const noexcept override { return warnings_; }

  Result<std::string> initial_response() override {
    if (failed()) return failure();
    return message_.str();
  }

  Result<std::string> step(std::string_view challenge) override {
    if (failed()) return failure();
    if (answered_error_)
      return fail(bad_challenge(name(), "unexpected challenge after the error reply"));
    const bool first_step = !stepped_;
    stepped_ = true;
    if (first_step && challenge.empty()) return message_.str();  // the server asks for it
    // The server's JSON error: keep it for the user, answer so it sends -ERR.
    message_.clear();
    answered_error_ = true;
    warnings_.push_back(std::string(name()) + " server error: " + sanitize(challenge, 400));
    // The caller may want its fields (status, scope) in the login error.
    if (on_error_) on_error_(challenge);
    return error_reply_;
  }

  Result<void> finish() override {
    if (failed()) return failure();
    message_.clear();
    return {};
  }

 private:
  std::string name_;
  Secret message_;
  std::string error_reply_;
  std::function<void(std::string_view)> on_error_;
  std::vector<std::string> warnings_;
  bool stepped_ = false;
  bool answered_error_ = false;
};

Error bad(std::string_view n, std::string_view what) {
  return Error(errc::invalid_argument, std::string(n) + ": " + std::string(what));
}

// A bearer token (RFC 6750 b64token and the like): visible ASCII only.
bool valid_token(std::string_view t) noexcept {
  for (const char c : t)
    if (c < 0x21 || c > 0x7e) return false;
  return !t.empty();
}

}  // namespace

Result<MechPtr> make_oauth(std::string_view n, const SaslCredentials& c) {
  if (!valid_token(c.token))
    return bad(n, "empty token or token with spaces or control characters");
  if (n == "XOAUTH2") {
    if (c.authcid.empty()) return bad(n, "empty user name");
    if (has_control(c.authcid)) return bad(n, "control character in the user name");
    Secret msg;
    msg.str().reserve(c.authcid.size() + c.token.size() + 20);
    msg.str().append("user=").append(c.authcid).append(
        "\x01"
        "auth=Bearer ");
    msg.str().append(c.token).append("\x01\x01");
    return MechPtr(std::make_unique<OAuth>(n, msg.str(), std::string(), c.on_error_challenge));
  }
  // OAUTHBEARER: gs2 header "n,a=USER," (authzid, else authcid), then kvpairs.
  const std::string& user = c.authzid.empty() ? c.authcid : c.authzid;
  if (has_control(user)) return bad(n, "control character in the user name");
  if (has_control(c.host)) return bad(n, "control character in the host name");
  Secret msg;
  msg.str().reserve(user.size() + c.host.size() + c.token.size() + 48);
  msg.str().append("n,");
  if (!user.empty()) msg.str().append("a=").append(saslname_escape(user));
  msg.str().append(",\x01");
  if (!c.host.empty()) msg.str().append("host=").append(c.host).append("\x01");
  if (c.port != 0) msg.str().append("port=").append(std::to_string(c.port)).append("\x01");
  msg.str().append("auth=Bearer ").append(c.token).append("\x01\x01");
  return MechPtr(std::make_unique<OAuth>(n, msg.str(), std::string("\x01"), c.on_error_challenge));
}

}  // namespace pop3kit::auth::detail
