// The operations under test, as transcript subjects.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "session_transcript.hpp"

namespace pop3kit::test {

Capabilities caps_of(std::initializer_list<std::pair<const char*, const char*>> entries);

std::string render(const Capabilities& caps);
std::string render(const std::vector<MessageEntry>& entries);

/// USER u / PASS p answered +OK, then `after`.
Script logged_in(std::vector<Turn> after, bool close = false);

/// A Login, with a Query after it when `query_kind` is set.
struct LoginSetup {
  std::string user = "u";
  std::string password = "p";
  LoginOptions options;
  Capabilities caps;
  bool pipelining_allowed = true;
  std::optional<session::Query::Kind> query_kind;
  session::ApopFallback fallback = session::ApopFallback::credentials;
  bool show_method = false;  ///< found() says which method logged in.
};

struct LoginSubject : Subject {
  explicit LoginSubject(LoginSetup s) : setup(std::move(s)) {}
  LoginSetup setup;
  std::string timestamp;
  session::Facts facts;
  std::optional<session::Query> query;
  std::optional<session::Login> login;

  session::Operation& make(std::string_view apop_timestamp) override;
  std::string found() override;
};

/// Fresh operations for each run.
SubjectFactory login_factory(const LoginSetup& setup);

}  // namespace pop3kit::test
