// pop3kit command — checked writes to standard output.
#include "output.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "exit_codes.hpp"

namespace pop3kit::cli {

std::error_code write_stdout(std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void print_stdout(std::string_view data) {
  if (const auto ec = write_stdout(data)) {
    throw Failure(exit_code::io_error, "cannot write to standard output: " + ec.message());
  }
}

}  // namespace pop3kit::cli
