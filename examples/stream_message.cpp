// stream_message — retrieve one message into a file, in bounded memory.
//
//   stream_message [--plain | --tls] NUMBER FILE [HOST [PORT [USER [PASSWORD]]]]
//
// RETR streams the message to a sink in chunks (dot-unstuffed, the message's
// own CRLFs kept, the terminating ".CRLF" removed); each chunk goes straight
// to FILE, so memory stays bounded by the client's receive buffer whatever
// the size of the message. Prints "NUMBER: OCTETS octets to FILE". The
// message stays on the server. See settings.hpp for the connection settings.
#include <pop3kit/client.hpp>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include "settings.hpp"

namespace {

// Owns the output file; removes it unless the whole message was written.
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  ~OutputFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!kept_) std::remove(path_.c_str());
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  bool is_open() const { return file_ != nullptr; }

  // The sink: called once per chunk, which is valid only during the call.
  // An error stops the delivery; the client discards the rest of the
  // answer, keeps the session usable and returns errc::sink_failed.
  std::error_code write(std::string_view chunk) {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) {
      return {errno, std::generic_category()};
    }
    return {};
  }

  // Flushes and closes; the file is kept only if that worked.
  bool keep() {
    const bool ok = std::fclose(file_) == 0;
    file_ = nullptr;
    kept_ = ok;
    return ok;
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool kept_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "stream_message [--plain | --tls] NUMBER FILE [HOST [PORT [USER [PASSWORD]]]]";
  const auto settings = examples::parse_settings(argc, argv, 2, usage);
  if (!settings) return 2;
  const auto number = examples::parse_number(settings->rest[0]);
  if (!number || *number == 0) {
    std::fprintf(stderr, "bad message number '%s'\nusage: %s\n", settings->rest[0].c_str(), usage);
    return 2;
  }
  const std::string& path = settings->rest[1];

  pop3kit::ClientOptions options;
  options.security = settings->security;
  pop3kit::Client client(options);
  if (auto r = client.connect(settings->host, settings->port); !r) {
    return examples::fail("connect", r.error());
  }
  if (auto r = client.login(settings->user, settings->password); !r) {
    return examples::fail("login", r.error());
  }

  OutputFile out(path);
  if (!out.is_open()) {
    std::perror(path.c_str());
    return 1;
  }
  // retrieve() returns the octets delivered to the sink. A -ERR for the
  // message (no such message) is an error with the server's text.
  auto octets =
      client.retrieve(*number, [&out](std::string_view chunk) { return out.write(chunk); });
  if (!octets) return examples::fail("retrieve", octets.error());
  if (!out.keep()) {
    std::perror(path.c_str());
    return 1;
  }
  std::printf("%" PRIu64 ": %" PRIu64 " octets to %s\n", *number, *octets, path.c_str());

  if (auto r = client.quit(); !r) return examples::fail("quit", r.error());
  return 0;
}
