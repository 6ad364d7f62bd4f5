// Uses an installed pop3kit: the engine on a scripted greeting, and the URL
// parser from the client library. Exit status 0 means it all worked; the last
// line names the library's version (pop3kit::version()).
#include <pop3kit/client.hpp>
#include <pop3kit/engine.hpp>
#include <pop3kit/url.hpp>
#include <pop3kit/version.hpp>

#include <cstdio>
#include <string_view>
#include <variant>

int main() {
  pop3kit::proto::Engine engine;
  engine.feed("+OK POP3 ready <1896.697170952@dbc.mailcom.example>\r\n");
  const pop3kit::proto::Event ev = engine.next_event();
  const auto* greeting = std::get_if<pop3kit::proto::Greeting>(&ev);
  if (greeting == nullptr || !greeting->ok) {
    std::fputs("consumer: no greeting event\n", stderr);
    return 1;
  }
  if (engine.user("demo") || engine.pending_output() != "USER demo\r\n") {
    std::fputs("consumer: USER not encoded\n", stderr);
    return 1;
  }

  const auto url = pop3kit::parse_pop_url("pop://demo@127.0.0.1:1110");
  if (!url || url.value().port != 1110) {
    std::fputs("consumer: URL not parsed\n", stderr);
    return 1;
  }

  const pop3kit::Client client;
  if (client.connected()) {
    std::fputs("consumer: new client claims to be connected\n", stderr);
    return 1;
  }
  const std::string_view version = pop3kit::version();
  if (version.empty()) {
    std::fputs("consumer: no version\n", stderr);
    return 1;
  }
  std::printf("consumer: ok, pop3kit %.*s\n", static_cast<int>(version.size()), version.data());
  return 0;
}
