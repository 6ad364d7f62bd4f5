// pop3kit — OpenSSL wrappers for the SASL mechanisms. No hand-written crypto.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <string>

#include "sasl_internal.hpp"

namespace pop3kit::auth::detail {

namespace {

const EVP_MD* md_of(Hash h) noexcept {
  switch (h) {
    case Hash::md5:
      return EVP_md5();
    case Hash::sha1:
      return EVP_sha1();
    case Hash::sha256:
      return EVP_sha256();
  }
  return nullptr;
}

const unsigned char* bytes(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

void wipe(std::string& s) noexcept {
  // Cover the spare capacity too: an earlier, longer value may linger there.
  s.resize(s.capacity());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

std::size_t hash_size(Hash h) noexcept {
  switch (h) {
    case Hash::md5:
      return 16;
    case Hash::sha1:
      return 20;
    case Hash::sha256:
      return 32;
  }
  return 0;
}

std::optional<std::string> digest(Hash h, std::string_view data) {
  const EVP_MD* md = md_of(h);
  if (md == nullptr) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) return std::nullopt;
  std::string r(reinterpret_cast<const char*>(out), len);
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

std::optional<std::string> hmac(Hash h, std::string_view key, std::string_view data) {
  const EVP_MD* md = md_of(h);
  if (md == nullptr || key.size() > INT_MAX) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), bytes(data), data.size(), out, &len) ==
      nullptr)
    return std::nullopt;
  std::string r(reinterpret_cast<const char*>(out), len);
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

std::optional<std::string> pbkdf2(Hash h, std::string_view password, std::string_view salt,
                                  std::uint32_t iterations) {
  const EVP_MD* md = md_of(h);
  if (md == nullptr || password.size() > INT_MAX || salt.size() > INT_MAX || iterations < 1 ||
      iterations > INT_MAX)
    return std::nullopt;
  const std::size_t n = hash_size(h);
  std::string out(n, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                        static_cast<int>(n), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    wipe(out);
    return std::nullopt;
  }
  return out;
}

bool equal_secret(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> random_bytes(std::size_t n) {
  if (n > INT_MAX) return std::nullopt;
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return std::nullopt;
  return out;
}

}  // namespace pop3kit::auth::detail

namespace pop3kit::auth {

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  // EVP_EncodeBlock takes an int length: encode in chunks of a multiple of 3.
  constexpr std::size_t kChunk = 3 * 4096;
  unsigned char buf[kChunk / 3 * 4 + 1];
  while (!data.empty()) {
    const std::size_t n = data.size() < kChunk ? data.size() : kChunk;
    const int len = EVP_EncodeBlock(buf, reinterpret_cast<const unsigned char*>(data.data()),
                                    static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
    data.remove_prefix(n);
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

namespace {

// Value of a base64 alphabet character, or -1.
int b64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips whitespace and is loose about padding: validate
  // first, so that it only ever sees canonical input.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t body = text.size() - pad;
  for (std::size_t i = 0; i < body; ++i)
    if (b64_value(text[i]) < 0) return std::nullopt;
  // Unused bits of the last character before the padding must be zero.
  if (pad == 1 && (b64_value(text[body - 1]) & 0x3) != 0) return std::nullopt;
  if (pad == 2 && (b64_value(text[body - 1]) & 0xf) != 0) return std::nullopt;

  std::string out;
  out.reserve(text.size() / 4 * 3);
  constexpr std::size_t kChunk = 4 * 4096;
  unsigned char buf[kChunk / 4 * 3 + 1];
  while (!text.empty()) {
    const std::size_t n = text.size() < kChunk ? text.size() : kChunk;
    const int len = EVP_DecodeBlock(buf, reinterpret_cast<const unsigned char*>(text.data()),
                                    static_cast<int>(n));
    if (len < 0 || static_cast<std::size_t>(len) != n / 4 * 3) {
      OPENSSL_cleanse(buf, sizeof buf);
      detail::wipe(out);
      return std::nullopt;
    }
    out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
    text.remove_prefix(n);
  }
  OPENSSL_cleanse(buf, sizeof buf);
  out.resize(out.size() - pad);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

}  // namespace pop3kit::auth
