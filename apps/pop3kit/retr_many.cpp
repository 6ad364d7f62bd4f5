// pop3kit command — `retr URL N... | all -o DIR`: many messages, one file each,
// through the pipelined bulk retrieval.
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "pop3kit/directory_writer.hpp"
#include "pop3kit/spooler.hpp"
#include "pop3kit/temporary_files.hpp"
#include "pop3kit/text.hpp"
#include "signals.hpp"

namespace pop3kit::cli {

int run_retr_many(const Invocation& inv, const PopUrl& url, const LoginPlan& plan) {
  // SIGINT, SIGTERM and SIGHUP remove the temporary files before the
  // command ends (signals.hpp); set up before the spooler thread exists.
  store::TemporaryFiles temporary;
  CleanupOnSignal cleanup(temporary);
  // Before connecting: a destination that cannot take the messages, or that
  // another run is writing into, costs no login and no download.
  store::DirectoryOptions options;
  options.temporary_files = &temporary;
  store::DirectoryWriter writer(inv.output_dir, {}, options);
  if (auto r = writer.open(); !r) {
    const bool busy = r.error().code == make_error_code(errc::temporary_failure);
    throw Failure(busy ? exit_code::temp_fail : exit_code::cant_create, r.error().message);
  }
  // LIST and UIDL, sent as soon as the login is answered, give the
  // numbers for "all" and the file names.
  Query query(Query::Kind::listing);
  Client client = open_session(url, inv.global, plan, &query);
  const std::vector<MessageEntry>& listing = query.entries();
  std::vector<std::uint64_t> numbers;
  if (inv.all) {
    for (const auto& m : listing)
      numbers.push_back(m.number);
  } else {
    numbers = parse_message_numbers(inv.numbers);
  }
  // Named by UID when every message has a distinct one (RFC 1939 allows two
  // identical messages to share a UID), else by number. Neither can begin
  // with '.', so no name is ever the writer's temporary name.
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
  writer.set_names(std::move(names));
  // LIST's sizes size the pipeline (a number not listed: unknown).
  std::map<std::uint64_t, std::uint64_t> listed;
  for (const auto& m : listing)
    listed[m.number] = m.size;
  std::vector<std::uint64_t> sizes;
  sizes.reserve(numbers.size());
  for (const std::uint64_t n : numbers) {
    const auto it = listed.find(n);
    if (it == listed.end()) break;
    sizes.push_back(it->second);
  }

  // The files are written on the spooler's thread while this one reads:
  // creating and renaming files overlaps with the network.
  {
    store::Spooler spooler(writer);
    if (auto r = client.retrieve_many(numbers, spooler, sizes); !r) throw failure_from(r.error());
    spooler.finish();
  }
  finish_read_only(client);
  writer.finish();
  // Only the messages stored under their final name count.
  const std::string summary =
      fmt::format("retrieved {} of {} message(s), {} octets, into {}", writer.stored(),
                  numbers.size(), writer.octets(), sanitize(inv.output_dir, 400));
  if (writer.failures() != 0) {
    // One error line that carries the summary too.
    throw Failure(exit_code_for(writer.first_failure()),
                  fmt::format("{}; {} message(s) not stored; the first: {}", summary,
                              writer.failures(), writer.first_failure().message));
  }
  // A report, not data: on stderr, and not at all with -q.
  if (!inv.global.quiet) print_report(summary + "\n");
  return exit_code::ok;
}

}  // namespace pop3kit::cli
