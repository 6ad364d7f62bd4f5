#include "session_subjects.hpp"

namespace pop3kit::test {

Capabilities caps_of(std::initializer_list<std::pair<const char*, const char*>> entries) {
  Capabilities c;
  for (const auto& [name, args] : entries)
    c.entries.push_back({name, args});
  return c;
}

std::string render(const Capabilities& caps) {
  std::string s;
  for (const auto& e : caps.entries) {
    if (!s.empty()) s += ",";
    s += e.name;
    if (!e.arguments.empty()) s += " " + e.arguments;
  }
  return s;
}

std::string render(const std::vector<MessageEntry>& entries) {
  std::string s;
  for (const auto& e : entries) {
    if (!s.empty()) s += ",";
    s += std::to_string(e.number) + ":" + std::to_string(e.size);
    if (!e.uid.empty()) s += ":" + e.uid;
  }
  return s;
}

Script logged_in(std::vector<Turn> after, bool close) {
  Script sc;
  sc.turns = {{"USER u\r\n", "+OK\r\n"}, {"PASS p\r\n", "+OK\r\n"}};
  for (auto& t : after)
    sc.turns.push_back(std::move(t));
  sc.close = close;
  return sc;
}

session::Operation& LoginSubject::make(std::string_view apop_timestamp) {
  timestamp = apop_timestamp;
  facts.apop_timestamp = timestamp;
  facts.capabilities = &setup.caps;
  facts.pipelining_allowed = setup.pipelining_allowed;
  if (setup.query_kind) query.emplace(*setup.query_kind);
  login.emplace(session::Credentials{setup.user, setup.password}, setup.options, facts,
                query ? &*query : nullptr, setup.fallback);
  return *login;
}

std::string LoginSubject::found() {
  std::string s = login->logged_in() ? "logged in" : "not logged in";
  if (setup.show_method && login->logged_in()) {
    s += login->method() == LoginMethod::apop ? " with APOP" : " with USER/PASS";
  }
  if (login->capabilities_after()) s += "; caps " + render(*login->capabilities_after());
  if (query) {
    s += "; query ";
    if (!query->outcome()) {
      s += describe(query->outcome().error());
    } else if (query->kind() == session::Query::Kind::stat) {
      s += "stat " + std::to_string(query->mailbox().count) + " " +
           std::to_string(query->mailbox().size);
    } else {
      s += "list " + render(query->entries());
    }
  }
  return s;
}

SubjectFactory login_factory(const LoginSetup& setup) {
  return [setup]() { return std::unique_ptr<Subject>(std::make_unique<LoginSubject>(setup)); };
}

}  // namespace pop3kit::test
