#include "pop3kit/apop.hpp"

#include <openssl/evp.h>

#include <string>

namespace pop3kit::auth {

std::string apop_digest(std::string_view timestamp, std::string_view secret) {
  // One buffer so the secret is hashed in a single update; wiped afterwards.
  std::string input;
  input.reserve(timestamp.size() + secret.size());
  input.append(timestamp).append(secret);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  if (ok != 1 || len != 16) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xf];
  }
  return out;
}

}  // namespace pop3kit::auth
