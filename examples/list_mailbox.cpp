// list_mailbox — connect, log in, list the maildrop with LIST and UIDL, quit.
//
//   list_mailbox [--plain | --tls] [HOST [PORT [USER [PASSWORD]]]]
//
// Prints one line per message, "NUMBER SIZE UID" (UID "-" when the server has
// no UIDL), then "N messages, M octets". Nothing is changed on the server.
// See settings.hpp for the connection settings and the environment.
#include <pop3kit/client.hpp>

#include <cinttypes>
#include <cstdint>
#include <cstdio>

#include "settings.hpp"

int main(int argc, char** argv) {
  const auto settings = examples::parse_settings(
      argc, argv, 0, "list_mailbox [--plain | --tls] [HOST [PORT [USER [PASSWORD]]]]");
  if (!settings) return 2;

  pop3kit::ClientOptions options;
  options.security = settings->security;
  pop3kit::Client client(options);

  // connect() resolves the host, connects, reads the greeting and, by
  // default, upgrades with STLS before anything secret is sent.
  if (auto r = client.connect(settings->host, settings->port); !r) {
    return examples::fail("connect", r.error());
  }
  // USER/PASS. A refused login is errc::auth_failed; the message carries the
  // server's (sanitised) text.
  if (auto r = client.login(settings->user, settings->password); !r) {
    return examples::fail("login", r.error());
  }

  // LIST and UIDL in one call, pipelined when the server allows it. The
  // listings are checked against each other: a message without a UID or a
  // UID for an unlisted message is a protocol error.
  auto entries = client.list_with_uidl();
  if (!entries) return examples::fail("list", entries.error());

  std::uint64_t total = 0;
  for (const pop3kit::MessageEntry& e : *entries) {
    std::printf("%" PRIu64 " %" PRIu64 " %s\n", e.number, e.size,
                e.uid.empty() ? "-" : e.uid.c_str());
    total += e.size;
  }
  std::printf("%zu messages, %" PRIu64 " octets\n", entries->size(), total);

  // QUIT ends the session; nothing was marked deleted, so nothing changes.
  if (auto r = client.quit(); !r) return examples::fail("quit", r.error());
  return 0;
}
