#include "scram_server.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>

namespace pop3kit::test {
namespace {

std::string b64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

// "" for anything that is not clean base64 (good enough for a test server).
std::string unb64(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0) return {};
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return {};
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

const EVP_MD* hash_of(const std::string& mechanism) {
  return mechanism.starts_with("SCRAM-SHA-1") ? EVP_sha1() : EVP_sha256();
}

std::string hmac(const EVP_MD* md, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return {reinterpret_cast<char*>(out), len};
}

std::string digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return {reinterpret_cast<char*>(out), len};
}

// The value of "k=" in a comma-separated SCRAM message ("" when absent).
std::string attribute(const std::string& message, char key) {
  std::size_t pos = 0;
  while (pos <= message.size()) {
    const std::size_t end = std::min(message.find(',', pos), message.size());
    if (end - pos >= 2 && message[pos] == key && message[pos + 1] == '=') {
      return message.substr(pos + 2, end - pos - 2);
    }
    pos = end + 1;
  }
  return {};
}

}  // namespace

ScramServer::ScramServer(Policy policy, std::function<std::string(const std::string&)> binding)
    : policy_(std::move(policy)), binding_(std::move(binding)) {}

std::vector<std::string> ScramServer::mechanisms() {
  std::lock_guard lock(mu_);
  return mechanisms_;
}

std::vector<std::string> ScramServer::gs2_headers() {
  std::lock_guard lock(mu_);
  return gs2_headers_;
}

std::string ScramServer::last_refusal() {
  std::lock_guard lock(mu_);
  return last_refusal_;
}

int ScramServer::accepted() {
  std::lock_guard lock(mu_);
  return accepted_;
}

std::string ScramServer::refuse(std::string why) {
  last_refusal_ = std::move(why);
  state_ = State::idle;
  return policy_.refusal;
}

std::string ScramServer::answer(const std::string& line) {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::idle: {
      if (!line.starts_with("AUTH ")) return refuse("expected AUTH, got: " + line);
      const std::size_t space = line.find(' ', 5);
      mechanism_ = line.substr(5, space == std::string::npos ? std::string::npos : space - 5);
      mechanisms_.push_back(mechanism_);
      if (!mechanism_.starts_with("SCRAM-SHA-")) return refuse("not SCRAM: " + mechanism_);
      if (space == std::string::npos) {
        state_ = State::want_first;
        return "+ \r\n";
      }
      return client_first(unb64(line.substr(space + 1)));
    }
    case State::want_first:
      return client_first(unb64(line));
    case State::want_final:
      return client_final(unb64(line));
    case State::want_ack:
      state_ = State::idle;
      if (!line.empty()) return refuse("expected an empty answer to the server-final message");
      ++accepted_;
      return "+OK logged in\r\n";
  }
  return refuse("bad state");
}

std::string ScramServer::client_first(const std::string& message) {
  // gs2-header = flag "," [authzid] ","
  const std::size_t c1 = message.find(',');
  const std::size_t c2 = c1 == std::string::npos ? c1 : message.find(',', c1 + 1);
  if (c2 == std::string::npos) return refuse("malformed client-first message");
  gs2_ = message.substr(0, c2 + 1);
  gs2_headers_.push_back(gs2_);
  client_first_bare_ = message.substr(c2 + 1);
  const std::string flag = message.substr(0, c1);
  const bool plus = mechanism_.ends_with("-PLUS");
  if (plus) {
    if (!flag.starts_with("p=")) return refuse("-PLUS without p=");
    const std::string type = flag.substr(2);
    if (std::find(policy_.binding_types.begin(), policy_.binding_types.end(), type) ==
        policy_.binding_types.end()) {
      return refuse("unsupported channel binding type " + type);
    }
  } else if (flag == "y" && policy_.offers_plus) {
    return refuse("client says y, but the server offers -PLUS (RFC 5802 section 6)");
  } else if (flag != "n" && flag != "y") {
    return refuse("bad GS2 flag " + flag + " for " + mechanism_);
  }
  if (attribute(client_first_bare_, 'n') != policy_.user) return refuse("unknown user");
  const std::string nonce = attribute(client_first_bare_, 'r');
  if (nonce.empty()) return refuse("no client nonce");
  server_first_ = "r=" + nonce + "ServerNonce,s=" + b64(policy_.salt) +
                  ",i=" + std::to_string(policy_.iterations);
  state_ = State::want_final;
  return "+ " + b64(server_first_) + "\r\n";
}

std::string ScramServer::client_final(const std::string& message) {
  const std::size_t p = message.rfind(",p=");
  if (p == std::string::npos) return refuse("malformed client-final message");
  const std::string without_proof = message.substr(0, p);
  const std::string proof = unb64(message.substr(p + 3));
  std::string cbind = gs2_;
  if (gs2_.starts_with("p=")) {
    const std::string type = gs2_.substr(2, gs2_.find(',') - 2);
    const std::string data = binding_ ? binding_(type) : std::string();
    if (data.empty()) return refuse("no channel binding data of type " + type);
    cbind += data;
  }
  if (attribute(message, 'c') != b64(cbind)) return refuse("channel binding data do not match");
  if (attribute(message, 'r') != attribute(server_first_, 'r')) return refuse("wrong nonce");

  const EVP_MD* md = hash_of(mechanism_);
  std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(policy_.password.data(), static_cast<int>(policy_.password.size()),
                    reinterpret_cast<const unsigned char*>(policy_.salt.data()),
                    static_cast<int>(policy_.salt.size()), static_cast<int>(policy_.iterations), md,
                    static_cast<int>(salted.size()),
                    reinterpret_cast<unsigned char*>(salted.data()));
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + without_proof;
  const std::string client_key = hmac(md, salted, "Client Key");
  const std::string client_signature = hmac(md, digest(md, client_key), auth_message);
  std::string expected = client_key;
  for (std::size_t i = 0; i < expected.size(); ++i)
    expected[i] = static_cast<char>(expected[i] ^ client_signature[i]);
  if (proof != expected) return refuse("wrong proof (password)");
  server_signature_ = hmac(md, hmac(md, salted, "Server Key"), auth_message);
  state_ = State::want_ack;
  return "+ " + b64("v=" + b64(server_signature_)) + "\r\n";
}

}  // namespace pop3kit::test
