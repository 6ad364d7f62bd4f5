// The live POP3 clients. A caller's NX_POP3_CLIENT (often uninitialised
// memory) cannot say by itself whether it is live, so this registry decides,
// and a structure that is not in it is never read. A create on a live client
// must fail rather than wipe it: wiping leaks its socket and session.
#include <mutex>
#include <unordered_map>

#include "netx_internal.hpp"

namespace pop3kit::netx {
namespace {

constexpr ULONG kClientId = 0x504B5033UL;  // "PKP3"

struct Registry {
  std::mutex mu;
  std::unordered_map<const NX_POP3_CLIENT*, void*> live;
};

Registry& registry() {
  static Registry r;
  return r;
}

// Still the structure that was enrolled: the caller has not overwritten it.
bool intact(const NX_POP3_CLIENT* c, const void* session) {
  return c->nx_pop3_client_id == kClientId && c->nx_pop3_client_session == session;
}

}  // namespace

void client_enroll(NX_POP3_CLIENT* c, void* session) {
  // The fields first: if the insertion throws, the failed create's clean-up
  // still finds the session to free.
  c->nx_pop3_client_session = session;
  c->nx_pop3_client_id = kClientId;
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  r.live[c] = session;
}

void client_withdraw(NX_POP3_CLIENT* c) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  r.live.erase(c);
  c->nx_pop3_client_id = 0;
}

bool client_live(const NX_POP3_CLIENT* c) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  const auto it = r.live.find(c);
  return it != r.live.end() && intact(c, it->second);
}

bool client_claim(const NX_POP3_CLIENT* c, void*& stale) {
  stale = nullptr;
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  const auto it = r.live.find(c);
  if (it == r.live.end()) return true;
  if (intact(c, it->second)) return false;
  stale = it->second;
  r.live.erase(it);
  return true;
}

}  // namespace pop3kit::netx
