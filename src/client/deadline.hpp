// The Client's operation scopes (ClientOptions::operation_deadline).
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "pop3kit/client.hpp"

namespace pop3kit {

// Makes the calls inside it one operation with one deadline: for a call
// made of several exchanges (connect with STLS, login and its CAPA). Scopes
// nest; the outermost opens the operation and closes it.
class Client::OperationScope {
 public:
  OperationScope(Client& client, std::string what) : client_(client) {
    if (client_.scopes_++ == 0) {
      client_.deadline_.open(std::move(what), std::chrono::steady_clock::now());
    }
  }
  ~OperationScope() {
    if (--client_.scopes_ == 0) client_.deadline_.close();
  }
  OperationScope(const OperationScope&) = delete;
  OperationScope& operator=(const OperationScope&) = delete;

 private:
  Client& client_;
};

}  // namespace pop3kit
