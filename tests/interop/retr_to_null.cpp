// retr_to_null HOST PORT USER NUMBER — retrieves one message with
// pop3kit::Client into a sink that counts the bytes and keeps none, then
// prints the count on stdout. The password comes from POP3KIT_PASSWORD.
// Used by the peak-RSS test: its memory is the client's memory.
//
// Exit status: 0 on success, 1 on a POP3 or connection error, 2 on bad usage.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>

#include "pop3kit/client.hpp"

namespace {

template <class T>
bool parse(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int fail(const char* what, const pop3kit::Error& e) {
  std::fprintf(stderr, "retr_to_null: %s: %s\n", what, e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::uint64_t number = 0;
  if (argc != 5 || !parse(argv[2], port) || !parse(argv[4], number)) {
    std::fprintf(stderr,
                 "usage: retr_to_null HOST PORT USER NUMBER (password in POP3KIT_PASSWORD)\n");
    return 2;
  }
  const char* password = std::getenv("POP3KIT_PASSWORD");
  if (password == nullptr) {
    std::fprintf(stderr, "retr_to_null: POP3KIT_PASSWORD is not set\n");
    return 2;
  }

  // The sandbox has no TLS; plain is asked for in so many words.
  pop3kit::ClientOptions options;
  options.security = pop3kit::Security::plain;
  pop3kit::Client client(options);
  if (auto r = client.connect(argv[1], port); !r.ok()) return fail("connect", r.error());
  if (auto r = client.login(argv[3], password); !r.ok()) return fail("login", r.error());

  std::uint64_t seen = 0;
  auto r = client.retrieve(number, [&seen](std::string_view chunk) -> std::error_code {
    seen += chunk.size();
    return {};
  });
  if (!r.ok()) return fail("retrieve", r.error());
  if (*r != seen) {
    std::fprintf(stderr, "retr_to_null: retrieve returned %llu, sink saw %llu\n",
                 static_cast<unsigned long long>(*r), static_cast<unsigned long long>(seen));
    return 1;
  }
  if (auto q = client.quit(); !q.ok()) return fail("quit", q.error());
  std::printf("%llu\n", static_cast<unsigned long long>(seen));
  return 0;
}
