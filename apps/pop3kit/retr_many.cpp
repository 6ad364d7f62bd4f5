// pop3kit command — `retr URL N... | all -o DIR`: many messages, one file each,
// through the pipelined bulk retrieval.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <system_error>

#include "args.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace pop3kit::cli {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// A UID (0x21-0x7E, from the engine's checks) as a file name: "/" and "%"
// escaped as %XX, and a leading "." too so that no name is hidden, "." or "..".
std::string file_name_for_uid(std::string_view uid) {
  std::string out;
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const char c = uid[i];
    if (c == '/' || c == '%' || (i == 0 && c == '.')) {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

// Writes each message to DIR/NAME.part, then renames it to DIR/NAME once it
// is complete: a file under its final name is always a whole message.
class DirectoryWriter final : public MessageHandler {
 public:
  DirectoryWriter(std::string dir, std::map<std::uint64_t, std::string> names)
      : dir_(std::move(dir)), names_(std::move(names)) {}
  ~DirectoryWriter() override { discard(); }
  DirectoryWriter(const DirectoryWriter&) = delete;
  DirectoryWriter& operator=(const DirectoryWriter&) = delete;

  std::error_code begin(std::uint64_t number) override {
    final_ = dir_ + "/" + names_.at(number);
    part_ = final_ + ".part";
    fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return fd_ < 0 ? last_error() : std::error_code{};
  }

  // Chunks end at every dot-stuffed line, so a message full of lines that
  // start with "." comes in many small pieces: gather them and write in
  // large blocks (one write for most messages).
  std::error_code data(std::uint64_t, std::string_view chunk) override {
    if (buffer_.size() + chunk.size() > kBlock) {
      if (auto ec = flush()) return ec;
      if (chunk.size() >= kBlock) return write_all(chunk);
    }
    buffer_.append(chunk);
    return {};
  }

  std::error_code end(std::uint64_t, std::uint64_t octets) override {
    if (auto ec = flush()) return ec;
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 || ::rename(part_.c_str(), final_.c_str()) != 0) {
      const auto ec = last_error();
      ::unlink(part_.c_str());
      return ec;
    }
    ++stored_;
    octets_ += octets;
    return {};
  }

  void failed(std::uint64_t number, const Error& error) override {
    discard();
    if (failures_.empty()) first_failure_ = error;
    failures_.insert(number);
  }

  std::uint64_t stored() const { return stored_; }
  std::uint64_t octets() const { return octets_; }
  const std::set<std::uint64_t>& failures() const { return failures_; }
  const Error& first_failure() const { return first_failure_; }

 private:
  static constexpr std::size_t kBlock = 256 * 1024;

  std::error_code write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }

  std::error_code flush() {
    const auto ec = write_all(buffer_);
    buffer_.clear();
    return ec;
  }

  void discard() {
    buffer_.clear();
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
      ::unlink(part_.c_str());
    }
  }

  std::string dir_;
  std::map<std::uint64_t, std::string> names_;
  std::string final_, part_;
  std::string buffer_;
  int fd_ = -1;
  std::uint64_t stored_ = 0, octets_ = 0;
  std::set<std::uint64_t> failures_;
  Error first_failure_;
};

}  // namespace

int run_retr_many(const Invocation& inv, Client& client) {
  if (::mkdir(inv.output_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Failure(exit_code::cant_create, fmt::format("cannot create the directory '{}': {}",
                                                      inv.output_dir, last_error().message()));
  }
  // LIST and UIDL (pipelined) give the numbers for "all" and the file names.
  auto listing = client.list_with_uidl();
  if (!listing) throw failure_from(listing.error());
  std::vector<std::uint64_t> numbers;
  if (inv.all) {
    for (const auto& m : *listing)
      numbers.push_back(m.number);
  } else {
    numbers = parse_message_numbers(inv.numbers);
  }
  // Named by UID when every message has a distinct one (RFC 1939 allows two
  // identical messages to share a UID), else by number.
  std::set<std::string> seen;
  bool by_uid = inv.name_by_uid;
  for (const auto& m : *listing)
    by_uid = by_uid && !m.uid.empty() && seen.insert(m.uid).second;
  std::map<std::uint64_t, std::string> names;
  for (const auto& m : *listing) {
    names[m.number] = by_uid ? file_name_for_uid(m.uid) : std::to_string(m.number);
  }
  for (const std::uint64_t n : numbers) {
    if (!names.count(n)) names[n] = std::to_string(n);  // the server will refuse it
  }

  DirectoryWriter writer(inv.output_dir, std::move(names));
  if (auto r = client.retrieve_many(numbers, writer); !r) throw failure_from(r.error());
  finish_read_only(client);
  print_stdout(fmt::format("retrieved {} of {} message(s), {} octets, into {}\n", writer.stored(),
                           numbers.size(), writer.octets(), inv.output_dir));
  if (!writer.failures().empty()) {
    throw Failure(exit_code_for(writer.first_failure()),
                  fmt::format("{} message(s) not retrieved; the first: {}",
                              writer.failures().size(), writer.first_failure().message));
  }
  return exit_code::ok;
}

}  // namespace pop3kit::cli
