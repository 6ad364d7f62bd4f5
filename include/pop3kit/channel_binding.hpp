/// pop3kit — TLS channel binding data, as the TLS layer gives it and the SASL
/// -PLUS mechanisms take it.
///
/// A header of its own at the bottom of the layers: the transports (net) make
/// it and the mechanisms (auth) use it, and neither layer includes the other.
///
/// @file
/// @ingroup transport
#pragma once

#include <string>

#include "pop3kit/export.hpp"

namespace pop3kit {

/// TLS channel binding (RFC 5929, RFC 9266) of one connection.
struct POP3KIT_EXPORT ChannelBinding {
  std::string type{};  ///< "tls-exporter", "tls-unique" or "tls-server-end-point".
  std::string data{};  ///< Raw bytes (not base64); never empty.
};

}  // namespace pop3kit
