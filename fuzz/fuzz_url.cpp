// libFuzzer target for pop3kit::parse_pop_url: any input is parsed without a
// crash, and what is accepted is consistent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "pop3kit/url.hpp"

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_url: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto url = pop3kit::parse_pop_url(text);
  if (!url) {
    require(static_cast<bool>(url.error().code), "refused URL without an error code");
    require(!url.error().message.empty(), "refused URL without a message");
    return 0;
  }
  const pop3kit::PopUrl& u = url.value();
  require(!u.host.empty(), "accepted URL with an empty host");
  require(u.auth.empty() || u.auth == "+APOP" || u.auth == "*" || u.auth.front() != ';',
          "auth type keeps its separator");
  // Parsing is a pure function of the text.
  const auto again = pop3kit::parse_pop_url(text);
  require(again && again.value().user == u.user && again.value().host == u.host &&
              again.value().port == u.port && again.value().auth == u.auth,
          "parsing the same text twice differs");
  // What is printed reads back the same (zone IDs escaped again, RFC 6874).
  const auto back = pop3kit::parse_pop_url(pop3kit::format_pop_url(u));
  require(back && back.value().user == u.user && back.value().host == u.host &&
              back.value().port == u.port && back.value().tls == u.tls &&
              back.value().auth == u.auth,
          "format_pop_url does not read back");
  return 0;
}
