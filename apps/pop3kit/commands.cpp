// pop3kit command — the subcommands: one session each, output on stdout.
#include "commands.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <string>

#include "args.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit::cli {
namespace {

// Capability lines are at most 512 octets (RFC 2449 §4): show them whole.
constexpr std::size_t kCapaWidth = 512;

// RETR and TOP: stream the body to stdout, in blocks (BlockWriter): one
// write(2) per chunk would be one per line for a body of ".." lines. The
// sink's own error is kept so that the message names the real cause (EPIPE,
// ENOSPC), whatever text the library wraps it in. What arrived before a
// failed retrieval is written out too, as it was without the blocks.
template <class Fetch>
void stream_to_stdout(Fetch&& fetch) {
  BlockWriter out(STDOUT_FILENO);
  std::error_code write_error;
  const Sink sink = [&](std::string_view chunk) {
    write_error = out.write(chunk);
    return write_error;
  };
  auto r = fetch(sink);
  if (!write_error) write_error = out.flush();
  if (write_error) {
    throw Failure(exit_code::io_error,
                  "cannot write the message to standard output: " + write_error.message());
  }
  if (!r) throw failure_from(r.error());
}

// One line per capability, as the server sent it (sanitised).
std::string format_capabilities(const Capabilities& caps) {
  std::string out;
  for (const auto& e : caps.entries) {
    out += sanitize(e.name, kCapaWidth);
    if (!e.arguments.empty()) out += ' ' + sanitize(e.arguments, kCapaWidth);
    out += '\n';
  }
  return out;
}

}  // namespace

int run_capa(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::optional, "capa");
  Client client = open_session(url, inv.global, plan);
  // open_session asked CAPA before login; after login ask again, since
  // servers may show more then.
  auto caps = plan.login || client.capabilities().entries.empty()
                  ? client.capa()
                  : Result<Capabilities>(client.capabilities());
  if (!caps) throw failure_from(caps.error());
  std::string out;
  if (client.tls_active()) {
    // With TLS the listing comes in sections: what the server said before
    // STLS (unprotected: an attacker could have changed it), the certificate
    // (fingerprints in --pin syntax), then the capabilities over TLS.
    if (!client.capabilities_before_tls().entries.empty()) {
      out += "# capabilities before STLS (unprotected)\n";
      out += format_capabilities(client.capabilities_before_tls());
    }
    if (const net::CertificateInfo* cert = client.certificate(); cert != nullptr) {
      out += fmt::format(
          "# certificate\nsubject: {}\nissuer: {}\nvalid from: {}\nvalid until: {}\n"
          "fingerprint: cert:{}\nkey fingerprint: spki:{}\n",
          sanitize(cert->subject, kCapaWidth), sanitize(cert->issuer, kCapaWidth), cert->not_before,
          cert->not_after, cert->sha256, cert->spki_sha256);
    }
    out += plan.login ? "# capabilities over TLS, after login\n" : "# capabilities over TLS\n";
  }
  out += format_capabilities(*caps);
  print_stdout(out);
  finish_read_only(client);
  return exit_code::ok;
}

int run_stat(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::required, "stat");
  // STAT goes out as soon as the login is answered.
  Query stat(Query::Kind::stat);
  Client client = open_session(url, inv.global, plan, &stat);
  print_stdout(fmt::format("{} {}\n", stat.mailbox().count, stat.mailbox().size));
  finish_read_only(client);
  return exit_code::ok;
}

int run_list(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::required, "list");
  // LIST and UIDL together, as soon as the login is answered.
  // UIDL is optional (RFC 1939 §7): refused, the listing has no UIDs.
  Query listing(Query::Kind::listing);
  Client client = open_session(url, inv.global, plan, &listing);
  std::string out;
  for (const auto& m : listing.entries()) {
    // UIDs are 0x21-0x7E by the engine's checks: safe to print as they are.
    if (!m.uid.empty()) {
      out += fmt::format("{} {} {}\n", m.number, m.size, m.uid);
    } else {
      out += fmt::format("{} {}\n", m.number, m.size);
    }
  }
  print_stdout(out);
  finish_read_only(client);
  return exit_code::ok;
}

int run_retr(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  if (inv.output_dir.empty() && (inv.all || inv.numbers.size() != 1)) {
    throw Failure(exit_code::usage,
                  "several messages need a directory: add -o DIR (one file per message)");
  }
  if (!inv.all) (void)parse_message_numbers(inv.numbers);  // usage errors before connecting
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::required, "retr");
  if (!inv.output_dir.empty()) return run_retr_many(inv, url, plan);
  const std::uint64_t number = parse_message_number(inv.numbers.at(0));
  Client client = open_session(url, inv.global, plan);
  stream_to_stdout([&](const Sink& sink) { return client.retrieve(number, sink); });
  finish_read_only(client);
  return exit_code::ok;
}

int run_top(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  const std::uint64_t number = parse_message_number(inv.numbers.at(0));
  const std::uint64_t lines = parse_line_count(inv.lines);
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::required, "top");
  Client client = open_session(url, inv.global, plan);
  stream_to_stdout([&](const Sink& sink) { return client.top(number, lines, sink); });
  finish_read_only(client);
  return exit_code::ok;
}

// DELE each number, then QUIT. Deletions are all or nothing: if the server
// refuses any DELE (no such message, already deleted), the session is closed
// WITHOUT QUIT, so the server removes none of them (RFC 1939 §6: only QUIT
// enters the UPDATE state). Only a +OK to QUIT means the messages are gone.
int run_dele(const Invocation& inv) {
  const PopUrl url = parse_url_arg(inv.url);
  const auto numbers = parse_message_numbers(inv.numbers);
  const LoginPlan plan = plan_login(url, inv.global, LoginNeed::required, "dele");
  Client client = open_session(url, inv.global, plan);
  for (const std::uint64_t n : numbers) {
    if (auto r = client.dele(n); !r) {
      client.close();
      // The library's text names the command for a server answer ("DELE 5:
      // server says ..."), not for a lost connection: name it once.
      const std::string& text = r.error().message;
      const std::string what =
          is_server_error(r.error()) ? text : fmt::format("DELE {}: {}", n, text);
      throw Failure(exit_code_for(r.error()),
                    what + "; nothing was deleted (the session was closed without QUIT)");
    }
  }
  if (auto r = client.quit(); !r) {
    // -ERR to QUIT: the server says it did not remove (all) the messages.
    // Anything else (timeout, dropped connection): it may or may not have;
    // either way, nothing may be counted as deleted.
    const std::string prefix = is_server_error(r.error())
                                   ? "deletions not confirmed: "
                                   : "deletions not confirmed, the messages may still be on the "
                                     "server: ";
    throw Failure(exit_code_for(r.error()), prefix + r.error().message);
  }
  // A report, not data: standard error, and nothing with -q.
  if (!inv.global.quiet) print_report(fmt::format("deleted {} message(s)\n", numbers.size()));
  return exit_code::ok;
}

}  // namespace pop3kit::cli
