// What CAPA's answer says (RFC 2449 §6).
#include <algorithm>
#include <cstdint>

#include "pop3kit/session.hpp"
#include "pop3kit/text.hpp"

namespace pop3kit {

bool Capabilities::has(std::string_view name) const noexcept {
  return arguments(name).has_value();
}

std::optional<std::string_view> Capabilities::arguments(std::string_view name) const noexcept {
  for (const auto& e : entries) {
    if (iequals(e.name, name)) return std::string_view(e.arguments);
  }
  return std::nullopt;
}

namespace {

std::optional<Capabilities::Policy> policy(std::optional<std::string_view> args, bool never_ok) {
  if (!args) return std::nullopt;
  std::string_view rest = *args;
  const auto sp = rest.find(' ');
  const std::string_view value = rest.substr(0, sp);
  const std::string_view tail = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
  Capabilities::Policy p;
  p.per_user = iequals(tail, "USER");
  if (!tail.empty() && !p.per_user) return std::nullopt;
  if (never_ok && iequals(value, "NEVER")) return p;
  std::uint64_t v = 0;
  if (value.empty() || value.size() > 19) return std::nullopt;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  p.value = v;
  return p;
}

}  // namespace

std::optional<Capabilities::Policy> Capabilities::login_delay() const {
  return policy(arguments("LOGIN-DELAY"), false);
}

std::optional<Capabilities::Policy> Capabilities::expire() const {
  return policy(arguments("EXPIRE"), true);
}

std::optional<std::string_view> Capabilities::implementation() const noexcept {
  return arguments("IMPLEMENTATION");
}

std::vector<std::string_view> Capabilities::sasl_mechanisms() const {
  std::vector<std::string_view> out;
  std::string_view rest = arguments("SASL").value_or("");
  while (!rest.empty()) {
    const auto sp = rest.find(' ');
    if (sp != 0) out.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return out;
}

bool Capabilities::offers_sasl(std::string_view mechanism) const {
  const auto offered = sasl_mechanisms();
  return std::any_of(offered.begin(), offered.end(),
                     [mechanism](std::string_view m) { return iequals(m, mechanism); });
}

}  // namespace pop3kit
