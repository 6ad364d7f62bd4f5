// Shared between the NetX stand-ins and the POP3 client; not installed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "nx_api.h"
#include "nxd_pop3_client.h"
#include "pop3kit/error.hpp"
#include "pop3kit/transport.hpp"

namespace pop3kit::netx {

/// NetX ticks (NX_IP_PERIODIC_RATE per second) to milliseconds.
std::uint64_t ticks_to_ms(ULONG ticks);
/// True for an NX_IP set up by nx_ip_create() and not deleted.
bool ip_created(const NX_IP* ip);
/// True for a pool set up by nx_packet_pool_create() and not deleted.
bool pool_created(const NX_PACKET_POOL* pool);

// The registry of live POP3 clients (client_registry.cpp), keyed by address.
/// Records c as live with its session; sets its id and session fields.
void client_enroll(NX_POP3_CLIENT* c, void* session);
/// Forgets c (a delete, or a failed create); clears its id.
void client_withdraw(NX_POP3_CLIENT* c);
/// True when c is enrolled and its structure still names its session.
bool client_live(const NX_POP3_CLIENT* c);
/// False when c is live (a second create). True otherwise; `stale` is then
/// the session of an enrolled structure the caller overwrote without
/// deleting it (now forgotten, for the caller to free), or null.
bool client_claim(const NX_POP3_CLIENT* c, void*& stale);

/// How a POP3 client connects: net::connect_tcp() unless a driver installs
/// another. The seam lets the fuzz driver serve fuzzed server bytes from
/// memory, with no socket. Set it before any create, never while a create
/// runs; nullptr restores connect_tcp().
using Connector = Result<std::unique_ptr<net::Transport>> (*)(const std::string& host,
                                                              std::uint16_t port,
                                                              std::chrono::milliseconds timeout,
                                                              net::Family family);
void set_connector(Connector connector);

}  // namespace pop3kit::netx
