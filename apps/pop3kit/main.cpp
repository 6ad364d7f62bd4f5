// pop3kit — command-line POP3 client: capa, stat, list, retr, top, dele.
//
// main() parses the command line with CLI11 and hands over to one of the
// run_* functions; every failure comes back as a Failure (or a CLI11 parse
// error) and is printed here, once, as a single "pop3kit: ..." line.
//
// A new subcommand: add_subcommand() (or add_command() when it takes the URL
// as its first positional) registers it with the global options, its own
// options go on the CLI::App it returns, and run() dispatches on its name.
// The option texts here are also in doc/pop3kit.1 and
// completions/pop3kit.bash: keep them in step.
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "fetch.hpp"
#include "numbers.hpp"
#include "output.hpp"
#include "pop3kit/version.hpp"

namespace {

using namespace pop3kit::cli;

const char* const kDescription =
    "pop3kit: talk to a POP3 server.\n"
    "\n"
    "URL is a POP URL (RFC 2384): pop://USER;auth=TYPE@HOST:PORT (pop3:// also works,\n"
    "default port 110, IPv6 as [::1], %XX escapes in USER); pops://... (or pop3s://) is\n"
    "POP3 over implicit TLS, default port 995. Without ;auth= (or with ;auth=*) pop3kit\n"
    "picks the strongest method the server offers: SCRAM-SHA-256-PLUS, SCRAM-SHA-256,\n"
    "SCRAM-SHA-1, PLAIN, LOGIN, USER/PASS (or OAUTHBEARER/XOAUTH2 when a token is given).\n"
    "A named method (;auth=SCRAM-SHA-256, ;auth=+APOP, ;auth=XOAUTH2, ...) is used or the\n"
    "login fails. Without USER@, capa works without logging in; the other commands need\n"
    "a user.";

const char* const kFooter =
    "SECURITY:\n"
    "  pop:// connections must switch to TLS with STLS before anything secret is sent;\n"
    "  a server that does not offer STLS is refused (exit 69). --plaintext allows a\n"
    "  pop:// connection without TLS. Even then USER/PASS, PLAIN, LOGIN, XOAUTH2 and\n"
    "  OAUTHBEARER, which send a password or token anyone on the path could reuse, also\n"
    "  need --allow-plaintext-password; SCRAM, CRAM-MD5 and APOP do not. APOP is weak\n"
    "  (MD5, CVE-2007-1558) and CRAM-MD5 little better: used only when named.\n"
    "  Certificates are checked against the system's authorities (or --ca-file/--ca-dir)\n"
    "  and the host name; --pin adds a fingerprint check, --pin-only lets a matching pin\n"
    "  replace the authority, name and date checks (for self-signed servers).\n"
    "  `pop3kit capa` shows the certificate and its fingerprints.\n"
    "  SCRAM-*-PLUS binds the login to the TLS channel. When pop3kit chose it and\n"
    "  the server refuses it, pop3kit tries the same SCRAM once without binding (-v\n"
    "  says so); --channel-binding=TYPE asks for binding or nothing, none for none.\n"
    "\n"
    "PASSWORD AND TOKEN:\n"
    "  Never on the command line and never in the URL. pop3kit reads the password from\n"
    "  the environment variable POP3KIT_PASSWORD, or from the first line printed by\n"
    "  --password-command CMD (run with /bin/sh -c; it wins over the variable). An\n"
    "  OAuth 2 access token comes the same way from POP3KIT_TOKEN or --token-command.\n"
    "  The command must exit within 60 s (it is killed then, exit 78); processes it\n"
    "  leaves in the background are not waited for.\n"
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
  app.add_flag("-q,--quiet", g.quiet,
               "Print nothing when all went well (the reports of retr -o and dele); errors "
               "are still printed");
  // Durations go through numbers.hpp, not CLI11's double conversion, which
  // takes "nan", "inf", "1e9" and "0x1p3".
  app.add_option_function<std::string>(
         "--timeout", [&g](const std::string& s) { g.timeout = seconds_option("--timeout", s); },
         "Seconds to wait for each read or write (default 60)")
      ->type_name("SECONDS");
  app.add_option_function<std::string>(
         "--connect-timeout",
         [&g](const std::string& s) { g.connect_timeout = seconds_option("--connect-timeout", s); },
         "Seconds to wait for each connection attempt (default 30)")
      ->type_name("SECONDS");
  app.add_option_function<std::string>(
         "--deadline", [&g](const std::string& s) { g.deadline = seconds_option("--deadline", s); },
         "Seconds each operation may take in all (connecting, logging in, each command), plus "
         "30 s per MiB received (default 300)")
      ->type_name("SECONDS");
  app.add_flag("-4", g.ipv4_only, "Use IPv4 only");
  app.add_flag("-6", g.ipv6_only, "Use IPv6 only");
  app.add_flag("--plaintext", g.plaintext,
               "pop:// without TLS (default: STLS is required); see SECURITY");
  app.add_flag("--allow-plaintext-password", g.plaintext_password,
               "With --plaintext: let USER/PASS, PLAIN, LOGIN and OAuth send their secret "
               "in clear text");
  // Replaced by the two flags above; say so instead of "unknown option".
  app.add_flag_callback("--allow-plaintext",
                        [] {
                          throw Failure(
                              exit_code::usage,
                              "--allow-plaintext was replaced by --plaintext (no TLS) plus "
                              "--allow-plaintext-password (send the password over it)");
                        })
      ->group("");
  app.add_option_function<std::string>(
      "--password-command", [&g](const std::string& c) { g.password_command = c; },
      "Command printing the password on its first line (run with /bin/sh -c)");
  app.add_option_function<std::string>(
      "--token-command", [&g](const std::string& c) { g.token_command = c; },
      "Command printing an OAuth 2 access token on its first line (XOAUTH2, OAUTHBEARER)");
  app.add_option_function<std::string>(
         "--ca-file", [&g](const std::string& v) { g.ca_file = v; },
         "Trust the authorities in this PEM file instead of the system's")
      ->check(CLI::ExistingFile);
  app.add_option_function<std::string>(
         "--ca-dir", [&g](const std::string& v) { g.ca_dir = v; },
         "Trust the authorities in this hashed directory (c_rehash) instead of the system's")
      ->check(CLI::ExistingDirectory);
  app.add_option_function<std::string>(
         "--cert", [&g](const std::string& v) { g.client_cert = v; },
         "Client certificate (PEM) for servers that ask, and for ;auth=EXTERNAL")
      ->check(CLI::ExistingFile);
  app.add_option_function<std::string>(
         "--key", [&g](const std::string& v) { g.client_key = v; },
         "Private key of --cert (PEM; default: read from the --cert file)")
      ->check(CLI::ExistingFile);
  // One value per --pin (so "--pin X URL" leaves URL alone), repeatable:
  // "--pin A --pin B" collects both.
  app.add_option_function<std::vector<std::string>>(
         "--pin",
         [&g](const std::vector<std::string>& v) {
           g.pins.insert(g.pins.end(), v.begin(), v.end());
         },
         "Require this SHA-256 fingerprint: cert:HEX (the certificate) or spki:HEX (its public "
         "key); repeatable, any one may match")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("FINGERPRINT");
  app.add_flag("--pin-only", g.pin_only,
               "A matching --pin replaces the authority, host name and date checks");
  app.add_option_function<std::string>(
         "--tls-min", [&g](const std::string& v) { g.tls_min = v; },
         "Lowest TLS version to accept: 1.2 (default) or 1.3")
      ->check(CLI::IsMember({"1.2", "1.3"}));
  app.add_option_function<std::string>(
         "--channel-binding", [&g](const std::string& v) { g.channel_binding = v; },
         "TLS channel binding of SCRAM-*-PLUS: auto (default: the connection's best type, and "
         "SCRAM without binding if the server refuses it), tls-exporter, tls-unique or "
         "tls-server-end-point (that type or no login), none (never -PLUS)")
      ->check(CLI::IsMember({"auto", "tls-exporter", "tls-unique", "tls-server-end-point", "none"}))
      ->type_name("TYPE");
  app.add_flag("--no-utf8", g.no_utf8,
               "Never send UTF8 (RFC 6856), even when the server offers it (default: sent "
               "before login, so that messages with UTF-8 headers come as they are)");
}

// A subcommand with the global options.
CLI::App* add_subcommand(CLI::App& app, const char* name, const char* help, GlobalOptions& g) {
  CLI::App* sub = app.add_subcommand(name, help);
  add_global_options(*sub, g);
  return sub;
}

// A subcommand with the URL positional and the global options.
CLI::App* add_command(CLI::App& app, const char* name, const char* help, Invocation& inv) {
  CLI::App* sub = add_subcommand(app, name, help, inv.global);
  sub->add_option("URL", inv.url, "pop://user@host[:port] or pops://user@host[:port]")->required();
  return sub;
}

// The names of the subcommands, in the order of --help.
std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// A parse error of the main command, when no subcommand was recognised: the
// first word that is not an option was meant as one ("pop3kit lst URL").
// CLI11 would only say "A subcommand is required".
int usage_without_command(CLI::App& app) {
  const std::vector<std::string> names = command_names(app);
  for (const std::string& word : app.remaining()) {
    if (word.empty() || word.front() == '-') continue;
    std::fputs(fmt::format("pop3kit: {}\n", unknown_command_message(word, names)).c_str(), stderr);
    return exit_code::usage;
  }
  std::string list;
  for (const std::string& n : names)
    list += (list.empty() ? "" : ", ") + n;
  std::fputs(fmt::format("pop3kit: a command is required: {} (see pop3kit --help)\n", list).c_str(),
             stderr);
  return exit_code::usage;
}

int run(int argc, char** argv) {
  Invocation inv;
  CLI::App app{kDescription, "pop3kit"};
  app.footer(std::string(kFooter) + exit_status_help());
  app.set_version_flag("--version", std::string(pop3kit::version()));
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
  FetchArgs fetch_args;
  auto* fetch = add_subcommand(
      app, "fetch", "Deliver new messages into a Maildir, an mbox or a command, and remember them",
      inv.global);
  add_fetch_options(*fetch, fetch_args);
  fetch->footer(std::string(fetch_help_footer()) + exit_status_help());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 in CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      return usage_without_command(app);
    }
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

  if (name == "fetch") return run_fetch(inv.global, fetch_args);
  if (name == "capa") return run_capa(inv);
  if (name == "stat") return run_stat(inv);
  if (name == "list") return run_list(inv);
  if (name == "retr") return run_retr(inv);
  if (name == "top") return run_top(inv);
  return run_dele(inv);
}

}  // namespace

namespace {

// Descriptors 0, 1 and 2 must be open before anything else is: started with
// one of them closed ("pop3kit retr URL 1 >&-"), the first socket or file
// opened would take its number, and the message meant for standard output,
// or the -v trace meant for standard error, would go to the server as
// commands or into a message file. /dev/null fills the gaps. Exit 71
// (EX_OSERR) when it cannot be opened: nothing can be done safely then.
void open_standard_descriptors() noexcept {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free number: `fd` itself, as the lower ones are open.
    const int got = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
    if (got == fd) continue;
    if (got >= 0) ::close(got);
    // Standard error may be the one missing: then the message goes nowhere.
    static constexpr char kMessage[] = "pop3kit: cannot open /dev/null for a closed descriptor\n";
    if (fd != STDERR_FILENO) (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    std::_Exit(exit_code::os_error);
  }
}

}  // namespace

int main(int argc, char** argv) {
  open_standard_descriptors();
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
