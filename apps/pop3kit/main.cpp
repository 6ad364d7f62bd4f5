// pop3kit — command-line POP3 client: capa, stat, list, retr, top, dele.
//
// main() parses the command line with CLI11 and hands over to one of the
// run_* functions; every failure comes back as a Failure (or a CLI11 parse
// error) and is printed here, once, as a single "pop3kit: ..." line.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "commands.hpp"
#include "exit_codes.hpp"

#ifndef POP3KIT_VERSION
#define POP3KIT_VERSION "unknown"
#endif

namespace {

using namespace pop3kit::cli;

const char* const kDescription =
    "pop3kit: talk to a POP3 server.\n"
    "\n"
    "URL is a POP URL (RFC 2384): pop://USER;auth=TYPE@HOST:PORT (pop3:// also works,\n"
    "default port 110, IPv6 as [::1], %XX escapes in USER). Without ;auth= the login is\n"
    "USER/PASS; ;auth=* means the same for now; ;auth=+APOP logs in with APOP. SASL\n"
    "mechanisms (;auth=PLAIN, ...) are not supported yet. Without USER@, capa works\n"
    "without logging in; the other commands need a user.";

const char* const kFooter =
    "PASSWORD:\n"
    "  Never on the command line and never in the URL. pop3kit reads it from the\n"
    "  environment variable POP3KIT_PASSWORD, or from the first line printed by\n"
    "  --password-command CMD (run with /bin/sh -c; it wins over the variable).\n"
    "  pop3kit has no TLS yet: USER/PASS sends the password in clear text, so it\n"
    "  is refused unless --allow-plaintext is given. APOP sends an MD5 digest\n"
    "  instead and needs no flag, but APOP is weak (MD5, CVE-2007-1558): anyone\n"
    "  who can see or tamper with the connection may recover the password.\n"
    "\n"
    "DELE:\n"
    "  pop3kit dele URL N... marks each message, then sends QUIT; the messages are\n"
    "  removed only when the server answers QUIT with +OK, and only then does\n"
    "  pop3kit print \"deleted N message(s)\". If the server refuses any DELE,\n"
    "  pop3kit closes the connection without QUIT, so nothing at all is deleted\n"
    "  (exit 69).\n"
    "\n";

// The global options, registered on the main command and on every
// subcommand so that they work before and after it ("pop3kit -v list URL"
// and "pop3kit list URL -v"). CLI11's fallthrough cannot do this for "-4" and
// "-6": in a subcommand without such options they parse as negative numbers.
void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.add_flag("-v,--verbose", g.verbose,
               "Print the protocol trace on stderr (passwords redacted)");
  app.add_option_function<double>(
         "--timeout", [&g](const double& s) { g.timeout = s; },
         "Seconds to wait for each read or write (default 60)")
      ->check(CLI::Range(0.001, 1e6));
  app.add_option_function<double>(
         "--connect-timeout", [&g](const double& s) { g.connect_timeout = s; },
         "Seconds to wait for each connection attempt (default 30)")
      ->check(CLI::Range(0.001, 1e6));
  app.add_flag("-4", g.ipv4_only, "Use IPv4 only");
  app.add_flag("-6", g.ipv6_only, "Use IPv6 only");
  app.add_flag("--allow-plaintext", g.allow_plaintext,
               "Allow USER/PASS to send the password in clear text over plain TCP");
  app.add_option_function<std::string>(
      "--password-command", [&g](const std::string& c) { g.password_command = c; },
      "Command printing the password on its first line (run with /bin/sh -c)");
}

// A subcommand with the URL positional and the global options.
CLI::App* add_command(CLI::App& app, const char* name, const char* help, Invocation& inv) {
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("URL", inv.url, "pop://user@host[:port]")->required();
  add_global_options(*sub, inv.global);
  return sub;
}

int run(int argc, char** argv) {
  Invocation inv;
  CLI::App app{kDescription, "pop3kit"};
  app.footer(std::string(kFooter) + exit_status_help());
  app.set_version_flag("--version", POP3KIT_VERSION);
  app.require_subcommand(1);
  add_global_options(app, inv.global);

  add_command(app, "capa", "List the server's capabilities (logs in first if URL has a user)", inv);
  add_command(app, "stat", "Print the message count and total size: COUNT SIZE", inv);
  add_command(app, "list", "One line per message: NUMBER SIZE [UID] (UID when UIDL works)", inv);
  std::string number;
  auto* retr = add_command(
      app, "retr",
      "Write message N to stdout, byte for byte (CRLF line ends); with -o DIR, messages "
      "N... or all, one file each",
      inv);
  retr->add_option("N", inv.numbers, "Message numbers (from 1), or all")->required();
  retr->add_option("-o,--output", inv.output_dir,
                   "Directory for the messages (created if missing), one file per message "
                   "named by its UID (or number)");
  retr->add_option_function<std::string>(
          "--name", [&inv](const std::string& v) { inv.name_by_uid = v == "uid"; },
          "File names: uid (default, when every message has a distinct UID) or number")
      ->check(CLI::IsMember({"uid", "number"}));
  auto* top = add_command(app, "top", "Write the headers and first LINES body lines of N", inv);
  top->add_option("N", number, "Message number (from 1)")->required();
  top->add_option("LINES", inv.lines, "Number of body lines")->required();
  add_command(app, "dele", "Delete messages N..., committed by QUIT (see DELE below)", inv)
      ->add_option("N", inv.numbers, "Message numbers (from 1)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 in CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fputs(fmt::format("pop3kit: {} (see pop3kit --help)\n", e.what()).c_str(), stderr);
    return exit_code::usage;
  }

  if (inv.global.ipv4_only && inv.global.ipv6_only) {
    throw Failure(exit_code::usage, "-4 and -6 exclude each other (see pop3kit --help)");
  }
  const std::string name = app.get_subcommands().front()->get_name();
  if (!number.empty()) inv.numbers.push_back(number);
  if (name == "retr" && inv.numbers.size() == 1 && inv.numbers.front() == "all") {
    inv.all = true;
    inv.numbers.clear();
  }

  if (name == "capa") return run_capa(inv);
  if (name == "stat") return run_stat(inv);
  if (name == "list") return run_list(inv);
  if (name == "retr") return run_retr(inv);
  if (name == "top") return run_top(inv);
  return run_dele(inv);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must show up as EPIPE from write(), not kill the process
  // before it can say what happened (see output.hpp).
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::fputs(fmt::format("pop3kit: {}\n", f.what()).c_str(), stderr);
    return f.code();
  } catch (const std::bad_alloc&) {
    std::fputs("pop3kit: out of memory\n", stderr);
    return exit_code::software;
  } catch (const std::exception& e) {
    std::fputs(fmt::format("pop3kit: internal error: {}\n", e.what()).c_str(), stderr);
    return exit_code::software;
  }
}
