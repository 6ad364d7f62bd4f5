// libFuzzer target for the fetcher's state database, which is stored state
// and so untrusted: the input is written as the database file, opened with
// StateStore::open() and, when accepted, read, recovered into a Maildir and
// written to. Invariants: no crash; a refused file keeps an error with a
// message and is left byte for byte as it was; recovery touches nothing
// outside the Maildir (a file beside it survives).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pop3kit/delivery.hpp"
#include "pop3kit/fetch.hpp"
#include "pop3kit/state.hpp"

namespace fs = std::filesystem;

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_state: invariant violated: %s\n", what);
    std::abort();
  }
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// One scratch directory per process, emptied for each input.
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string templ = (fs::temp_directory_path() / "pop3kit-fuzz-state.XXXXXX").string();
    require(::mkdtemp(templ.data()) != nullptr, "mkdtemp");
    return fs::path(templ);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& dir = scratch();
  for (const auto& e : fs::directory_iterator(dir))
    fs::remove_all(e.path());
  const fs::path db = dir / "state.db";
  const std::string input(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(db, std::ios::binary);
    out << input;
  }
  const fs::path beside = dir / "beside";
  { std::ofstream(beside) << "not pop3kit's\n"; }

  auto store = pop3kit::store::StateStore::open(db.string());
  if (!store) {
    require(static_cast<bool>(store.error().code), "refused without an error code");
    require(!store.error().message.empty(), "refused without a message");
    require(slurp(db) == input, "a refused database was changed");
    return 0;
  }
  pop3kit::store::StateStore& state = store.value();
  const pop3kit::store::AccountId account{"", "u", "h", 110};
  (void)state.records(account);
  (void)state.pending(account);

  auto dest = pop3kit::store::parse_destination("maildir:" + (dir / "Maildir").string());
  require(static_cast<bool>(dest), "maildir destination");
  if ((*dest)->open()) (void)pop3kit::store::recover_pending(account, state, **dest);

  const std::vector<pop3kit::store::Reservation> intents{{"fuzz-uid", "fuzz-name", 0}};
  if (state.record_intents(account, "maildir:/nowhere", intents)) {
    const std::vector<pop3kit::store::DeliveredMessage> done{{"fuzz-uid", {"new/fuzz-name", 1}}};
    (void)state.mark_delivered(account, done);
    const std::vector<std::string> uids{"fuzz-uid"};
    (void)state.mark_deleted(account, uids);
  }
  require(slurp(beside) == "not pop3kit's\n", "recovery touched a file outside the Maildir");
  return 0;
}
