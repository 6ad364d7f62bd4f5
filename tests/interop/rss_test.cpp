// Acceptance: peak RSS under 32 MB while retrieving a 100 MB message from
// Dovecot. The retrieval runs in a separate program (retr_to_null) so that
// its peak resident set, as wait4() reports it, is the client's alone.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common.hpp"

#ifndef POP3KIT_RETR_TO_NULL
#error "POP3KIT_RETR_TO_NULL must name the retr_to_null program"
#endif

namespace pop3kit::interop {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMessageSize = 100ull * 1024 * 1024;
constexpr long kMaxRssKiB = 32 * 1024;

// Writes a message of exactly `size` octets (CRLF line ends, final CRLF,
// some lines starting with a dot) to `path`, 1 MiB at a time.
void write_big_message(const fs::path& path, std::uint64_t size) {
  const std::string header = "Subject: one hundred megabytes\r\n\r\n";
  std::string block;
  block.reserve(1 << 20);
  for (std::uint64_t n = 0; block.size() + 80 <= (1u << 20); ++n) {
    std::string line = (n % 5 == 0 ? "." : "") + std::to_string(n);
    line.resize(78, 'r');
    block += line + "\r\n";
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  std::uint64_t written = 0;
  auto put = [&](const char* p, std::size_t n) {
    ASSERT_EQ(std::fwrite(p, 1, n, f), n);
    written += n;
  };
  put(header.data(), header.size());
  while (written + block.size() + 2 <= size)
    put(block.data(), block.size());
  // Fill up with one last line so that the total is exact.
  std::string tail(static_cast<std::size_t>(size - written - 2), 't');
  tail += "\r\n";
  put(tail.data(), tail.size());
  ASSERT_EQ(std::fclose(f), 0);
  ASSERT_EQ(fs::file_size(path), size);
}

using RssTest = DovecotTest;

TEST_F(RssTest, Retrieve100MegabytesUnder32MegabytesPeakRss) {
  const fs::path file = server().dir() / "big.eml";
  write_big_message(file, kMessageSize);
  if (HasFatalFailure()) return;
  server().add_message_file(kUser, file);
  fs::remove(file);

  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const std::string program = POP3KIT_RETR_TO_NULL;
  const std::string port_s = std::to_string(port());
  std::vector<char*> argv{const_cast<char*>(program.c_str()),
                          const_cast<char*>("127.0.0.1"),
                          const_cast<char*>(port_s.c_str()),
                          const_cast<char*>(kUser),
                          const_cast<char*>("1"),
                          nullptr};
  ::setenv("POP3KIT_PASSWORD", kPassword, 1);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string output;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) {
      output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(out[0]);
  int status = 0;
  rusage usage{};
  pid_t waited;
  do {
    waited = ::wait4(pid, &status, 0, &usage);
  } while (waited < 0 && errno == EINTR);
  ASSERT_EQ(waited, pid);
  ASSERT_TRUE(WIFEXITED(status)) << "retr_to_null died, status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << "retr_to_null failed (see its stderr above)\n"
                                    << server().log_tail();

  // CRLF line ends and a final CRLF: Dovecot sends the file unchanged.
  EXPECT_EQ(std::strtoull(output.c_str(), nullptr, 10), kMessageSize) << output;
  std::printf("retr_to_null: %s octets, peak RSS %ld KiB\n",
              output.substr(0, output.find('\n')).c_str(), usage.ru_maxrss);
  EXPECT_LT(usage.ru_maxrss, kMaxRssKiB) << "peak RSS in KiB (ru_maxrss)";
}

}  // namespace
}  // namespace pop3kit::interop
