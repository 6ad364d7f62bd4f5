// Shared between the NetX stand-ins and the POP3 client; not installed.
#pragma once

#include <cstdint>

#include "nx_api.h"

namespace pop3kit::netx {

/// NetX ticks (NX_IP_PERIODIC_RATE per second) to milliseconds.
std::uint64_t ticks_to_ms(ULONG ticks);
/// True for an NX_IP set up by nx_ip_create() and not deleted.
bool ip_created(const NX_IP* ip);
/// True for a pool set up by nx_packet_pool_create() and not deleted.
bool pool_created(const NX_PACKET_POOL* pool);

}  // namespace pop3kit::netx
