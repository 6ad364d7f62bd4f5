// The server side of SCRAM-SHA-1 and SCRAM-SHA-256 with their -PLUS variants
// (RFC 5802, RFC 7677), for ScriptServer::respond() steps: a scripted server
// that really checks the client's proof and proves it knows the password,
// and accepts only the channel-binding types it is told to, as Cyrus SASL
// does (tls-unique alone). OpenSSL does the crypto.
//
//   ScramServer scram({.binding_types = {"tls-unique"}},
//                     [&](const std::string& type) { return server.channel_binding(type); });
//   ScriptServer server({..., S::respond(scram.step()), S::respond(scram.step()),
//                        S::respond(scram.step()), ...});
//
// Each respond() answers one client line of the exchange: the AUTH line
// (with or without its initial response), the client-final message, the
// empty answer to the server-final message (+OK). A refusal is
// `refusal` (Cyrus's words by default), after which the next line may be a
// new AUTH.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace pop3kit::test {

class ScramServer {
 public:
  struct Policy {
    std::string user = "user";
    std::string password = "pencil";
    std::string salt = "salt and pepper";
    unsigned iterations = 4096;
    /// The binding types a -PLUS exchange may use; another is refused.
    std::vector<std::string> binding_types = {"tls-unique"};
    /// Whether the server lists -PLUS: then a client sending the GS2 flag
    /// "y" is refused (RFC 5802 §6).
    bool offers_plus = true;
    std::string refusal = "-ERR [AUTH] authenticating: bad protocol / cancel\r\n";
  };
  /// `binding` gives the server's data of a type ("" when it has none).
  ScramServer(Policy policy, std::function<std::string(const std::string& type)> binding);

  /// The answer to one client line (for ScriptServer::respond).
  std::string answer(const std::string& line);
  /// answer() as a respond() callback (this object must outlive the script).
  std::function<std::string(const std::string&)> step() {
    return [this](const std::string& line) { return answer(line); };
  }

  /// The mechanisms of the AUTH lines, in order.
  std::vector<std::string> mechanisms();
  /// The GS2 headers of the client-first messages ("p=tls-unique,,"), in order.
  std::vector<std::string> gs2_headers();
  /// Why the last refusal was made ("" for none).
  std::string last_refusal();
  /// Logins accepted.
  int accepted();

 private:
  enum class State { idle, want_first, want_final, want_ack };
  std::string refuse(std::string why);
  std::string client_first(const std::string& message);
  std::string client_final(const std::string& message);

  Policy policy_;
  std::function<std::string(const std::string&)> binding_;
  std::mutex mu_;
  State state_ = State::idle;
  std::string mechanism_, gs2_, client_first_bare_, server_first_, server_signature_;
  std::vector<std::string> mechanisms_, gs2_headers_;
  std::string last_refusal_;
  int accepted_ = 0;
};

}  // namespace pop3kit::test
