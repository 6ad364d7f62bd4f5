// libFuzzer target for the SASL mechanisms and strict base64: any server
// input is handled without a crash, and what is accepted is consistent.
//
// Input: byte 0 picks the mechanism, the rest is split at '\n' into server
// challenges fed to step(). The whole input is also base64-decoded: what
// strict decoding accepts must re-encode to exactly the same text.
// (Needs "fuzz_sasl" in the foreach of fuzz/CMakeLists.txt, linked with
// pop3kit::pop3kit like fuzz_url.)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pop3kit/sasl.hpp"

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_sasl: invariant violated: %s\n", what);
    std::abort();
  }
}

void check_base64(std::string_view text) {
  const auto decoded = pop3kit::auth::base64_decode(text);
  if (decoded) require(pop3kit::auth::base64_encode(*decoded) == text, "non-canonical base64");
  const auto round = pop3kit::auth::base64_decode(pop3kit::auth::base64_encode(text));
  require(round && *round == text, "base64 round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_base64(text);
  if (text.empty()) return 0;

  const auto& names = pop3kit::auth::sasl_mechanism_names();
  const std::string_view name = names[static_cast<unsigned char>(text[0]) % names.size()];
  text.remove_prefix(1);
  pop3kit::auth::SaslCredentials creds;
  creds.authcid = "user";
  creds.password = "pencil";
  creds.token = "token";
  pop3kit::auth::SaslOptions opts;
  opts.channel_binding = pop3kit::auth::ChannelBinding{"tls-exporter", "0123456789abcdef"};
  opts.client_nonce_for_tests = "fyko+d2lbbFgONRv9qkxdawL";
  opts.scram_max_iterations = 4096;  // keep PBKDF2 cheap
  auto made = pop3kit::auth::make_sasl_mechanism(name, creds, opts);
  require(made.ok(), "listed mechanism refused");
  auto& mech = *made.value();
  if (mech.client_first()) require(mech.initial_response().ok(), "initial response failed");

  bool failed = false;
  for (;;) {
    const auto nl = text.find('\n');
    const auto step = mech.step(text.substr(0, nl));
    if (!step) {
      require(static_cast<bool>(step.error().code), "step error without a code");
      failed = true;
    } else {
      require(!failed, "step succeeded after a failure");
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const auto fin = mech.finish();
  if (failed) require(!fin.ok(), "finish succeeded after a failed step");
  for (const auto& w : mech.warnings())
    for (const char c : w)
      require(c >= 0x20 && c < 0x7f, "unsanitised warning");
  return 0;
}
