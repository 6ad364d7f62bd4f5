// libFuzzer target for the config file of `pop3kit fetch`, which is
// untrusted input: any bytes are either accepted or refused with a Failure
// that carries exit 78 and a message naming the file. Nothing else may
// escape (another exception type aborts the run: libFuzzer reports it).
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config.hpp"
#include "exit_codes.hpp"

namespace fs = std::filesystem;

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
    std::abort();
  }
}

const fs::path& config_file() {
  static const fs::path file = [] {
    std::string templ = (fs::temp_directory_path() / "pop3kit-fuzz-config.XXXXXX").string();
    require(::mkdtemp(templ.data()) != nullptr, "mkdtemp");
    return fs::path(templ) / "config.toml";
  }();
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& file = config_file();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Only the owner may read it, so that a literal password is allowed and
  // the parser goes past the permission check.
  ::chmod(file.c_str(), 0600);
  try {
    const pop3kit::cli::Config config = pop3kit::cli::load_config(file.string());
    for (const auto& account : config.accounts) {
      require(!account.name.empty(), "accepted an account without a name");
      require(!account.url.empty() && !account.to.empty(), "accepted an account without url/to");
    }
  } catch (const pop3kit::cli::Failure& f) {
    require(f.code() == 78, "a config error that is not exit 78");
    require(std::string(f.what()).find(file.string()) != std::string::npos,
            "a config error that does not name the file");
  }
  return 0;
}
