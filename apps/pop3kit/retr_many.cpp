// pop3kit command — `retr URL N... | all -o DIR`: many messages, one file each,
// through the pipelined bulk retrieval.
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
#include "pop3kit/directory_writer.hpp"
#include "pop3kit/spooler.hpp"

namespace pop3kit::cli {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

}  // namespace

int run_retr_many(const Invocation& inv, const PopUrl& url, const LoginPlan& plan) {
  // Before connecting: a destination that cannot take the messages costs no
  // login and no download.
  if (::mkdir(inv.output_dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) {
      throw Failure(exit_code::cant_create, fmt::format("cannot create the directory '{}': {}",
                                                        inv.output_dir, last_error().message()));
    }
    struct stat st {};
    if (::stat(inv.output_dir.c_str(), &st) != 0) {
      throw Failure(exit_code::cant_create, fmt::format("cannot use '{}' for the messages: {}",
                                                        inv.output_dir, last_error().message()));
    }
    if (!S_ISDIR(st.st_mode)) {
      throw Failure(exit_code::cant_create,
                    fmt::format("'{}' exists and is not a directory: -o needs a directory for the "
                                "messages",
                                inv.output_dir));
    }
    if (::access(inv.output_dir.c_str(), W_OK | X_OK) != 0) {
      throw Failure(exit_code::cant_create,
                    fmt::format("cannot create files in the directory '{}': {}", inv.output_dir,
                                last_error().message()));
    }
  }
  // LIST and UIDL, sent with the login when the server pipelines, give the
  // numbers for "all" and the file names.
  ListedSession session = open_session_listing(url, inv.global, plan);
  Client& client = session.client;
  const std::vector<MessageEntry>& listing = session.listing;
  std::vector<std::uint64_t> numbers;
  if (inv.all) {
    for (const auto& m : listing)
      numbers.push_back(m.number);
  } else {
    numbers = parse_message_numbers(inv.numbers);
  }
  // Named by UID when every message has a distinct one (RFC 1939 allows two
  // identical messages to share a UID), else by number.
  std::set<std::string> seen;
  bool by_uid = inv.name_by_uid;
  for (const auto& m : listing)
    by_uid = by_uid && !m.uid.empty() && seen.insert(m.uid).second;
  std::map<std::uint64_t, std::string> names;
  for (const auto& m : listing) {
    names[m.number] = by_uid ? store::uid_file_name(m.uid) : std::to_string(m.number);
  }
  for (const std::uint64_t n : numbers) {
    if (!names.count(n)) names[n] = std::to_string(n);  // the server will refuse it
  }

  // The files are written on the spooler's thread while this one reads:
  // creating and renaming files overlaps with the network.
  store::DirectoryWriter writer(inv.output_dir, std::move(names));
  {
    store::Spooler spooler(writer);
    if (auto r = client.retrieve_many(numbers, spooler); !r) throw failure_from(r.error());
    spooler.finish();
  }
  finish_read_only(client);
  writer.finish();
  const std::string summary =
      fmt::format("retrieved {} of {} message(s), {} octets, into {}", writer.stored(),
                  numbers.size(), writer.octets(), inv.output_dir);
  if (writer.failures() != 0) {
    // One error line that carries the summary too.
    throw Failure(exit_code_for(writer.first_failure()),
                  fmt::format("{}; {} message(s) not retrieved; the first: {}", summary,
                              writer.failures(), writer.first_failure().message));
  }
  // A report, not data: on stderr, and not at all with -q.
  if (!inv.global.quiet) print_report(summary + "\n");
  return exit_code::ok;
}

}  // namespace pop3kit::cli
