// The Client's operation scopes (ClientOptions::operation_deadline).
#pragma once

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
    if (client_.op_.scopes++ == 0) client_.open_operation(std::move(what));
  }
  ~OperationScope() {
    if (--client_.op_.scopes == 0) client_.op_.open = false;
  }
  OperationScope(const OperationScope&) = delete;
  OperationScope& operator=(const OperationScope&) = delete;

 private:
  Client& client_;
};

}  // namespace pop3kit
