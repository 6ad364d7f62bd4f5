// Uses an installed pop3kit::store: a message delivered into a Maildir and
// recorded in a state database, both in a temporary directory. Exit status 0
// means it all worked.
#include <pop3kit/delivery.hpp>
#include <pop3kit/state.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main() {
  char dir_template[] = "/tmp/pop3kit-consumer.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return 1;
  const std::string base = dir;
  auto destination = pop3kit::store::parse_destination("maildir:" + base + "/Maildir");
  if (!destination || !(*destination)->open()) {
    std::fputs("consumer_store: cannot open the Maildir\n", stderr);
    return 1;
  }
  auto state = pop3kit::store::StateStore::open(base + "/state.db");
  if (!state) {
    std::fprintf(stderr, "consumer_store: %s\n", state.error().message.c_str());
    return 1;
  }
  const pop3kit::store::AccountId account{"consumer", "demo", "127.0.0.1", 110};
  pop3kit::store::Destination& d = **destination;
  auto reservation = d.reserve("uid-1");
  if (!reservation ||
      !state->record_intents(account, d.spec(),
                             std::vector<pop3kit::store::Reservation>{*reservation}) ||
      !d.begin(*reservation) || !d.write("Subject: hi\r\n\r\nbody\r\n")) {
    std::fputs("consumer_store: cannot write the message\n", stderr);
    return 1;
  }
  auto stored = d.end();
  if (!stored || !d.commit() ||
      !state->mark_delivered(account,
                             std::vector<pop3kit::store::DeliveredMessage>{{"uid-1", *stored}})) {
    std::fputs("consumer_store: cannot deliver the message\n", stderr);
    return 1;
  }
  auto records = state->records(account);
  const bool ok = records && records->size() == 1 && stored->size == 18;
  std::system(("rm -rf '" + base + "'").c_str());
  std::puts(ok ? "consumer_store: ok" : "consumer_store: wrong result");
  return ok ? 0 : 1;
}
