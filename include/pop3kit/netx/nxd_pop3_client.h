/**
 * pop3kit — NetX Duo compatible POP3 client API (RFC 1939).
 *
 * The same function names, argument lists, return codes and configuration
 * macros as the NetX Duo POP3 Client, implemented on pop3kit's engine over the
 * host's TCP sockets. A program written against NetX Duo's nxd_pop3_client.h
 * builds against this header (with the nx_api.h beside it) unchanged apart
 * from its RTOS thread set-up. Link the CMake target pop3kit::netx.
 *
 * Flow (as in the NetX demo):
 *
 * @code{.c}
 * nx_pop3_client_create(&client, NX_TRUE, &ip, &pool, IP_ADDRESS(127,0,0,1), 110,
 *                       "user", "password");                   // connects, logs in
 * nx_pop3_client_mail_items_get(&client, &items, &total);      // STAT
 * nx_pop3_client_mail_item_get(&client, n, &size);             // RETR n, status only
 * do nx_pop3_client_mail_item_message_get(&client, &packet, &bytes, &final);
 *    // ... use packet, nx_packet_release(packet) ...
 * while (!final);
 * nx_pop3_client_mail_item_delete(&client, n);                 // DELE n
 * nx_pop3_client_quit(&client);                                // QUIT, disconnects
 * nx_pop3_client_delete(&client);                              // frees the client
 * @endcode
 *
 * Behaviour, and where it differs from NetX Duo on purpose (defects fixed):
 *
 *  - create connects and logs in. With APOP_authentication and a greeting that
 *    carries a valid `<timestamp>`, APOP is used; otherwise USER/PASS. If the
 *    server rejects APOP, USER/PASS is tried on the same connection. A
 *    rejected USER or PASS returns NX_POP3_SERVER_ERROR_STATUS (NetX Duo
 *    returned NX_SUCCESS for a rejected PASS). A failed create closes the
 *    connection and frees everything; nx_pop3_client_delete() on it is a
 *    harmless no-op. A name longer than NX_POP3_MAX_USERNAME or a password
 *    longer than NX_POP3_MAX_PASSWORD (or either empty, or containing CR, LF)
 *    returns NX_POP3_PARAM_ERROR before anything is sent (NetX Duo truncated
 *    silently). The password is not kept in the client structure after login.
 *  - mail_item_get sends RETR and reads only its status line; item_size comes
 *    from "+OK n octets" (0 when the reply has no size). The message itself is
 *    never held in memory: message_get reads from the socket as it goes.
 *  - message_get allocates each packet from the caller's pool (NetX Duo handed
 *    out the TCP receive packets) and fills it with message data that is
 *    dot-unstuffed (NetX Duo did not unstuff) and without the terminating
 *    ".CRLF" (never counted in bytes_retrieved). final_packet is set exactly
 *    once, on the packet after which no data follows, whatever the split of
 *    the terminator across TCP segments (NetX Duo missed a split terminator
 *    and could report data after it). A final packet may carry 0 bytes; the
 *    caller releases every packet it gets, including that one. A packet is
 *    returned as soon as it holds some data and no more has arrived yet, so
 *    packets may be shorter than the pool's payload size. When the pool is
 *    empty, message_get waits up to nx_pop3_client_packet_timeout ticks
 *    (NX_POP3_CLIENT_PACKET_TIMEOUT) for a packet to be released, then
 *    returns NX_NO_PACKET and the download can be resumed later.
 *  - Index 0 returns NX_POP3_CLIENT_INVALID_INDEX; an index above the count of
 *    the last mail_items_get returns NX_POP3_INVALID_MAIL_ITEM (size_get,
 *    item_get, delete). Before the first mail_items_get the server decides.
 *    message_get without an accepted RETR, or after the final packet, returns
 *    NX_POP3_CLIENT_INVALID_STATE.
 *  - A command issued while a message is still being downloaded first reads
 *    and discards the rest of that message (NetX Duo mistook it for the
 *    command's reply).
 *  - quit sends QUIT, reads the reply and closes the connection (NetX Duo left
 *    closing to delete). delete closes the connection if still open, without
 *    QUIT, and frees the client's resources.
 *  - nx_pop3_client_noop() and nx_pop3_client_rset() exist (NetX Duo documents
 *    them but never implemented them).
 *  - Every NULL pointer argument returns NX_PTR_ERROR; so does a client that
 *    was never created or was deleted (any call but delete, for which it is
 *    a no-op returning NX_SUCCESS, however often repeated). A create on a
 *    client that is live (created and not deleted) returns NX_PTR_ERROR, as
 *    NetX does for an object created twice, and leaves that client
 *    connected and usable. Whether a client is live is kept by the library,
 *    by the structure's address, so a structure in uninitialised memory is
 *    fine for create; a live structure must not be copied, moved or
 *    overwritten (a create on one that was overwritten frees what it held).
 *    Server port 0 or above 65535, an IPv4 address 0, an IPv6 address ::, an
 *    IPv6 link-local address (fe80::/10: NXD_ADDRESS has no field for the
 *    interface it needs), an unknown nxd_ip_version or an IP instance that
 *    was not created returns NX_POP3_PARAM_ERROR.
 *  - A number from the server that does not fit its field (a STAT count
 *    above UINT_MAX, a size above ULONG_MAX, an "+OK n octets" of RETR too
 *    large for a ULONG) breaks the protocol: NX_POP3_SERVER_ERROR_STATUS and
 *    the connection is closed. No server number is ever wrapped or capped.
 *
 * Connection failures return the NetX TCP codes a NetX program already
 * checks:
 *  - NX_NOT_CONNECTED (0x38): connect refused, unreachable or timed out
 *    (NX_POP3_CLIENT_CONNECTION_TIMEOUT), the server closed or reset the
 *    connection, or the client is no longer connected (after quit or an
 *    earlier failure);
 *  - NX_NO_PACKET (0x01): no reply within NX_POP3_SERVER_REPLY_TIMEOUT (what
 *    nx_tcp_socket_receive returns), or no free packet within the packet
 *    timeout;
 *  - NX_WINDOW_OVERFLOW (0x39): a command could not be sent within
 *    NX_POP3_TCP_SOCKET_SEND_WAIT.
 *
 * A reply that breaks the protocol (not "+OK"/"-ERR", malformed, too long)
 * and a greeting "-ERR" return NX_POP3_SERVER_ERROR_STATUS and close the
 * connection. After any connection failure the connection is closed; every
 * later call except nx_pop3_client_delete returns NX_NOT_CONNECTED.
 *
 * Configuration: the `NX_POP3_*` macros below are compiled into the library
 * with their NetX Duo defaults; defining them differently in a program does
 * not change the library (rebuild pop3kit with the same definitions; the
 * structure's layout does not depend on them, and nx_pop3_client_name keeps
 * the first 40 characters of a longer name). Timeouts are in ticks
 * (NX_IP_PERIODIC_RATE, fixed at 100, per second). create copies them into the
 * client's `nx_pop3_client_*_timeout` fields, which a program may change after
 * create. NX_POP3_CLIENT_DISCONNECT_TIMEOUT is kept for source compatibility:
 * closing a host socket does not wait. NX_POP3_MAIL_BUFFER_OVERFLOW and
 * NX_POP3_INSUFFICIENT_PACKET_PAYLOAD are defined but never returned (there
 * is no mail buffer, and commands are not built in packets).
 *
 * Out of memory (the client's session state is the only heap allocation,
 * about 64 KiB per client, made by create) returns NX_NOT_SUCCESSFUL.
 *
 * No TLS: like NetX Duo's client this speaks plain POP3 (port 110); use
 * pop3kit::Client for TLS. Not thread-safe per client (one thread per
 * client); packet pools are thread-safe.
 *
 * @file
 * @ingroup netx
 */
#ifndef POP3KIT_NETX_NXD_POP3_CLIENT_H
#define POP3KIT_NETX_NXD_POP3_CLIENT_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup netx
 *  @{ */

/* ---- Return codes --------------------------------------------------------- */

/** @name POP3 client return codes
 *  NetX Duo's values. The calls also return the NetX codes of nx_api.h
 *  (NX_SUCCESS, NX_PTR_ERROR, and for the connection NX_NOT_CONNECTED,
 *  NX_NO_PACKET, NX_WINDOW_OVERFLOW).
 *  @{ */

/** The base of the POP3 client's codes; not returned. */
#define NX_POP3_CLIENT_ERROR_CONSTANT 0xB0
/** An invalid argument that is not a pointer (see nx_pop3_client_create());
    nothing was sent. */
#define NX_POP3_PARAM_ERROR 0xB1
/** A mail index above the count of the last nx_pop3_client_mail_items_get();
    nothing was sent. */
#define NX_POP3_INVALID_MAIL_ITEM 0xB2
/** APOP was to be used but its MD5 digest could not be computed (MD5 not
    available from OpenSSL); the create failed. */
#define NX_POP3_APOP_FAILED_MD5_DIGEST 0xB3
/** The server answered -ERR (the connection stays usable, except in create
    and nx_pop3_client_quit()), or a reply broke the protocol (the connection
    is closed). */
#define NX_POP3_SERVER_ERROR_STATUS 0xB4
#define NX_POP3_MAIL_BUFFER_OVERFLOW 0xB5 /**< Never returned: there is no mail buffer. */
/** Never returned: commands are not built in packets. */
#define NX_POP3_INSUFFICIENT_PACKET_PAYLOAD 0xB6
/** nx_pop3_client_mail_item_message_get() with no download in progress (no
    accepted RETR, or after the final packet). */
#define NX_POP3_CLIENT_INVALID_STATE 0xB7
#define NX_POP3_CLIENT_INVALID_INDEX 0xB8 /**< A mail index of 0; nothing was sent. */

/** @} */

/* ---- Configuration (NetX Duo names and defaults; timeouts in ticks) -------- */

/** @name Configuration
 *  NetX Duo's names and defaults; timeouts in ticks of NX_IP_PERIODIC_RATE.
 *  Compiled into the library: a program's own definitions do not change it
 *  (rebuild pop3kit with the same definitions).
 *  @{ */

/** Longest user name nx_pop3_client_create() accepts. */
#ifndef NX_POP3_MAX_USERNAME
#define NX_POP3_MAX_USERNAME 40
#endif
/** Longest password nx_pop3_client_create() accepts. */
#ifndef NX_POP3_MAX_PASSWORD
#define NX_POP3_MAX_PASSWORD 20
#endif
/** How long create waits for the TCP connection (30 s). */
#ifndef NX_POP3_CLIENT_CONNECTION_TIMEOUT
#define NX_POP3_CLIENT_CONNECTION_TIMEOUT (30 * NX_IP_PERIODIC_RATE)
#endif
/** How long each read from the server may wait (10 s): in create, and
    after it as the initial nx_pop3_client_server_reply_timeout. */
#ifndef NX_POP3_SERVER_REPLY_TIMEOUT
#define NX_POP3_SERVER_REPLY_TIMEOUT (10 * NX_IP_PERIODIC_RATE)
#endif
/** How long nx_pop3_client_mail_item_message_get() waits for a free packet
    (1 s): the initial nx_pop3_client_packet_timeout. */
#ifndef NX_POP3_CLIENT_PACKET_TIMEOUT
#define NX_POP3_CLIENT_PACKET_TIMEOUT (1 * NX_IP_PERIODIC_RATE)
#endif
/** Kept for source compatibility; unused: closing a host socket does not
    wait. */
#ifndef NX_POP3_CLIENT_DISCONNECT_TIMEOUT
#define NX_POP3_CLIENT_DISCONNECT_TIMEOUT (10 * NX_IP_PERIODIC_RATE)
#endif
/** How long each write of a command may wait (10 s): in create, and after
    it as the initial nx_pop3_client_send_timeout. */
#ifndef NX_POP3_TCP_SOCKET_SEND_WAIT
#define NX_POP3_TCP_SOCKET_SEND_WAIT (10 * NX_IP_PERIODIC_RATE)
#endif

/** Longest greeting timestamp kept in nx_pop3_server_process_id. */
#define NX_POP3_SERVER_PROCESS_ID_SIZE 75

/** @} */

/* ---- The client (caller-allocated; its fields are read-only to programs,
        except the timeouts) ----------------------------------------------- */

/** A POP3 client: one connection to one maildrop. Caller-allocated (static,
    automatic or heap memory; it may be uninitialised before create) and
    filled by nx_pop3_client_create(). While the client is live (created and
    not deleted) the structure must not be copied, moved or overwritten. Its
    fields are read-only to programs, except the three timeouts; the fields
    marked internal are the library's. The layout does not depend on a
    program's `NX_POP3_*` definitions, since the library fills it. One
    thread at a time may use a client; different clients may be used by
    different threads at once. */
typedef struct NX_POP3_CLIENT_STRUCT {
  /** Internal: set while the client is live. */
  ULONG nx_pop3_client_id;
  /** The user name given to create (its first 40 characters), NUL-terminated.
      The size is NetX Duo's default, whatever NX_POP3_MAX_USERNAME says. */
  CHAR nx_pop3_client_name[40 + 1];
  /** Always all NUL: the password is never stored in the structure (the
      field keeps NetX Duo's layout). */
  CHAR nx_pop3_client_password[20 + 1];
  NX_IP* nx_pop3_client_ip_ptr; /**< The IP instance given to create. */
  /** The pool given to create; the message packets are allocated from it. */
  NX_PACKET_POOL* nx_pop3_client_packet_pool_ptr;
  /** NX_TRUE when create was asked to use APOP. */
  UINT nx_pop3_client_enable_APOP_authentication;
  /** NX_TRUE when the server accepted APOP; NX_FALSE after USER/PASS. */
  UINT nx_pop3_client_APOP_used;
  UINT nx_pop3_client_maildrop_items; /**< The count of the last STAT. */
  /** NX_TRUE after a successful STAT: the index checks then use
      nx_pop3_client_maildrop_items. */
  UINT nx_pop3_client_maildrop_items_valid;
  UINT nx_pop3_client_maildrop_index;      /**< The item of the last accepted RETR. */
  ULONG nx_pop3_client_total_message_size; /**< The total size of the last STAT. */
  /** NX_TRUE from an accepted RETR until the final packet, or until a
      failure closes the connection. */
  UINT nx_pop3_client_ready_to_download;
  /** The greeting's APOP timestamp (`<...@...>`), NUL-terminated; empty when
      the greeting has none, or one longer than NX_POP3_SERVER_PROCESS_ID_SIZE
      (which APOP still uses). */
  CHAR nx_pop3_server_process_id[NX_POP3_SERVER_PROCESS_ID_SIZE + 1];
  /** Always NULL (kept for compatibility): the message comes in the packets
      of nx_pop3_client_mail_item_message_get(). */
  NX_PACKET* nx_pop3_client_message_ptr;
  /** Ticks each read from the server may wait (NX_WAIT_FOREVER: a year).
      NX_POP3_SERVER_REPLY_TIMEOUT after create; a program may change it. */
  ULONG nx_pop3_client_server_reply_timeout;
  /** Ticks nx_pop3_client_mail_item_message_get() waits for a free packet.
      NX_POP3_CLIENT_PACKET_TIMEOUT after create; a program may change it. */
  ULONG nx_pop3_client_packet_timeout;
  /** Ticks each write of a command may wait (NX_WAIT_FOREVER: a year).
      NX_POP3_TCP_SOCKET_SEND_WAIT after create; a program may change it. */
  ULONG nx_pop3_client_send_timeout;
  /** Internal (pop3kit): the connection and the engine. */
  VOID* nx_pop3_client_session;
} NX_POP3_CLIENT;

/* ---- Services --------------------------------------------------------------- */

/** Connects to an IPv4 server and logs in. Blocks: up to
    NX_POP3_CLIENT_CONNECTION_TIMEOUT for the connection, then up to
    NX_POP3_SERVER_REPLY_TIMEOUT for each read of the greeting and the login
    replies.

    With `APOP_authentication` and a greeting that carries a valid
    timestamp, APOP is used; otherwise USER/PASS. If the server rejects APOP
    (any -ERR), USER/PASS is tried on the same connection.
    nx_pop3_client_APOP_used tells which the server accepted. A failed create
    closes the connection and frees everything; nx_pop3_client_delete() on
    it is a harmless no-op.

    Fixed from NetX Duo: a rejected USER or PASS fails the create (NetX Duo
    returned NX_SUCCESS for a rejected PASS); a name or password that is too
    long is refused before anything is sent (NetX Duo truncated it
    silently); the password is not kept in the structure.

    @param client_ptr          [out] The client (see NX_POP3_CLIENT); it may
                               be uninitialised memory, but not a live client.
    @param APOP_authentication NX_TRUE to use APOP when the greeting allows.
    @param ip_ptr              A created IP instance (nx_ip_create()).
    @param packet_pool_ptr     A created pool;
                               nx_pop3_client_mail_item_message_get()
                               allocates from it while it exists.
    @param server_ip_address   The server's IPv4 address in host order
                               (IP_ADDRESS()); not 0.
    @param server_port         1 to 65535 (110 for POP3).
    @param client_name         The user name, NUL-terminated: 1 to
                               NX_POP3_MAX_USERNAME characters, no CR or LF.
                               Read during the call only.
    @param client_password     The password, NUL-terminated: 1 to
                               NX_POP3_MAX_PASSWORD characters, no CR or LF.
                               Read during the call only, never stored.
    @retval NX_SUCCESS           Connected and logged in: the client is live.
    @retval NX_PTR_ERROR         A NULL pointer argument, a pool not created
                                 (or deleted), or a `client_ptr` that is live,
                                 which is left connected and usable (NetX's
                                 answer to an object created twice).
    @retval NX_POP3_PARAM_ERROR  An IP instance not created, address 0, port
                                 0 or above 65535, or a name or password
                                 that is empty, too long or holds CR or LF;
                                 nothing was sent.
    @retval NX_NOT_CONNECTED     The connection was refused, unreachable or
                                 timed out, or the server closed it.
    @retval NX_NO_PACKET         No reply within the reply timeout.
    @retval NX_WINDOW_OVERFLOW   A command could not be sent in time.
    @retval NX_POP3_SERVER_ERROR_STATUS A greeting -ERR, the login refused,
                                 or a reply that breaks the protocol.
    @retval NX_POP3_APOP_FAILED_MD5_DIGEST The APOP digest could not be
                                 computed.
    @retval NX_NOT_SUCCESSFUL    Out of memory (the session state, about
                                 64 KiB, is the client's only heap
                                 allocation). */
POP3KIT_NETX_API UINT nx_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication,
                                            NX_IP* ip_ptr, NX_PACKET_POOL* packet_pool_ptr,
                                            ULONG server_ip_address, ULONG server_port,
                                            CHAR* client_name, CHAR* client_password);
/** nx_pop3_client_create() for an IPv4 or IPv6 address (NetX Duo's
    duo-address variant); the same behaviour and codes.

    @param client_ptr          [out] The client, as for nx_pop3_client_create().
    @param APOP_authentication NX_TRUE to use APOP when the greeting allows.
    @param ip_ptr              A created IP instance.
    @param packet_pool_ptr     A created pool.
    @param server_duo_address  The server's address, read during the call.
                               NX_POP3_PARAM_ERROR for an IPv4 0, an IPv6
                               `::`, an IPv6 link-local address (fe80::/10:
                               NXD_ADDRESS has no field for the interface it
                               needs) or an unknown nxd_ip_version.
    @param server_port         1 to 65535.
    @param client_name         The user name, as for nx_pop3_client_create().
    @param client_password     The password, as for nx_pop3_client_create().
    @return The codes of nx_pop3_client_create(). */
POP3KIT_NETX_API UINT nxd_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication,
                                             NX_IP* ip_ptr, NX_PACKET_POOL* packet_pool_ptr,
                                             NXD_ADDRESS* server_duo_address, ULONG server_port,
                                             CHAR* client_name, CHAR* client_password);
/** STAT: the number of items in the maildrop and their total size. Both are
    also recorded in the client (nx_pop3_client_maildrop_items, which the
    calls taking an index check, and nx_pop3_client_total_message_size). Like every
    call below, it first reads and discards the rest of a message being
    downloaded (NetX Duo mistook it for the command's reply).

    @param client_ptr          A live client.
    @param number_mail_items   [out] The count; unchanged on failure.
    @param maildrop_total_size [out] The size in octets; unchanged on failure.
    @retval NX_SUCCESS           Done.
    @retval NX_PTR_ERROR         A NULL argument or a client that is not live.
    @retval NX_POP3_SERVER_ERROR_STATUS -ERR (the connection stays usable);
                                 a count above UINT_MAX, a size above
                                 ULONG_MAX or a reply that breaks the
                                 protocol (the connection is closed).
    @retval NX_NOT_CONNECTED     Not connected, or the connection was lost.
    @retval NX_NO_PACKET         No reply within the reply timeout (closed).
    @retval NX_WINDOW_OVERFLOW   Not sent within the send timeout (closed).
    @retval NX_NOT_SUCCESSFUL    Out of memory. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_items_get(NX_POP3_CLIENT* client_ptr,
                                                    UINT* number_mail_items,
                                                    ULONG* maildrop_total_size);
/** LIST mail_item: the size of one item.

    @param client_ptr A live client.
    @param mail_item  From 1 to the count of the last STAT (before the first
                      STAT, the server decides).
    @param size       [out] Its size in octets; unchanged on failure.
    @retval NX_SUCCESS                   Done.
    @retval NX_PTR_ERROR                 A NULL argument or a client that is
                                         not live.
    @retval NX_POP3_CLIENT_INVALID_INDEX `mail_item` 0.
    @retval NX_POP3_INVALID_MAIL_ITEM    Above the count of the last STAT.
    @retval NX_POP3_SERVER_ERROR_STATUS  -ERR (usable); a size above
                                         ULONG_MAX or a reply that breaks
                                         the protocol (closed).
    @retval NX_NOT_CONNECTED             Not connected, or the connection
                                         was lost.
    @retval NX_NO_PACKET                 No reply in time (closed).
    @retval NX_WINDOW_OVERFLOW           Not sent in time (closed).
    @retval NX_NOT_SUCCESSFUL            Out of memory. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_size_get(NX_POP3_CLIENT* client_ptr, UINT mail_item,
                                                        ULONG* size);
/** RETR mail_item: sends RETR and reads its status line only; then
    nx_pop3_client_mail_item_message_get() hands out the message until its
    final packet. The message is never held in memory.

    @param client_ptr A live client.
    @param mail_item  From 1 to the count of the last STAT.
    @param item_size  [out] The size from "+OK n octets"; 0 when the reply
                      has no size. Unchanged on failure.
    @retval NX_SUCCESS                   The download is ready
                                         (nx_pop3_client_ready_to_download).
    @retval NX_PTR_ERROR                 A NULL argument or a client that is
                                         not live.
    @retval NX_POP3_CLIENT_INVALID_INDEX `mail_item` 0.
    @retval NX_POP3_INVALID_MAIL_ITEM    Above the count of the last STAT.
    @retval NX_POP3_SERVER_ERROR_STATUS  -ERR (usable, no download); a size
                                         too large for a ULONG or a reply
                                         that breaks the protocol (closed).
    @retval NX_NOT_CONNECTED             Not connected, or the connection
                                         was lost.
    @retval NX_NO_PACKET                 No reply in time (closed).
    @retval NX_WINDOW_OVERFLOW           Not sent in time (closed).
    @retval NX_NOT_SUCCESSFUL            Out of memory. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_get(NX_POP3_CLIENT* client_ptr, UINT mail_item,
                                                   ULONG* item_size);
/** The next packet of the message being retrieved. The packet is allocated
    from the client's pool and holds message data, dot-unstuffed and without
    the terminating ".CRLF", followed by a NUL not counted in its length. It
    is handed out as soon as it holds some data and no more has arrived yet,
    so it may be shorter than the payload size. Blocks up to the reply
    timeout for data, and up to nx_pop3_client_packet_timeout for a packet.

    Fixed from NetX Duo: the packets are the caller's pool's (NetX Duo handed
    out the TCP receive packets), the data is dot-unstuffed (NetX Duo did
    not unstuff), and the final packet is found whatever the split of the
    terminator across TCP segments (NetX Duo could miss it and report data
    after it).

    @param client_ptr      A live client after an accepted
                           nx_pop3_client_mail_item_get().
    @param recv_packet_ptr [out] The packet; the caller owns it and releases
                           it with nx_packet_release(), every one including
                           a final packet of 0 bytes. NULL on failure.
    @param bytes_retrieved [out] The bytes of data in it (nx_packet_length);
                           0 on failure.
    @param final_packet    [out] NX_TRUE, exactly once, on the packet after
                           which no data follows; NX_FALSE otherwise.
    @retval NX_SUCCESS                   A packet.
    @retval NX_PTR_ERROR                 A NULL argument, a client that is not
                                         live, or its pool deleted.
    @retval NX_POP3_CLIENT_INVALID_STATE No accepted RETR, or after the final
                                         packet.
    @retval NX_NO_PACKET                 No free packet within
                                         nx_pop3_client_packet_timeout: the
                                         download can be resumed once packets
                                         are released. Or no data within the
                                         reply timeout (closed).
    @retval NX_NOT_CONNECTED             Not connected, or the server closed
                                         the connection before the message's
                                         end.
    @retval NX_POP3_SERVER_ERROR_STATUS  Data that breaks the protocol
                                         (closed).
    @retval NX_NOT_SUCCESSFUL            Out of memory (closed). */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_message_get(NX_POP3_CLIENT* client_ptr,
                                                           NX_PACKET** recv_packet_ptr,
                                                           ULONG* bytes_retrieved,
                                                           UINT* final_packet);
/** DELE mail_index: marks the item deleted; the server removes it at
    nx_pop3_client_quit(), and nx_pop3_client_rset() unmarks it.

    @param client_ptr A live client.
    @param mail_index From 1 to the count of the last STAT.
    @retval NX_SUCCESS                   Marked.
    @retval NX_PTR_ERROR                 A NULL client or one that is not
                                         live.
    @retval NX_POP3_CLIENT_INVALID_INDEX `mail_index` 0.
    @retval NX_POP3_INVALID_MAIL_ITEM    Above the count of the last STAT.
    @retval NX_POP3_SERVER_ERROR_STATUS  -ERR (usable), or a reply that
                                         breaks the protocol (closed).
    @retval NX_NOT_CONNECTED             Not connected, or the connection
                                         was lost.
    @retval NX_NO_PACKET                 No reply in time (closed).
    @retval NX_WINDOW_OVERFLOW           Not sent in time (closed).
    @retval NX_NOT_SUCCESSFUL            Out of memory. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_delete(NX_POP3_CLIENT* client_ptr, UINT mail_index);
/** NOOP (NetX Duo documents it but never implemented it).
    @param client_ptr A live client.
    @return The codes of nx_pop3_client_rset(). */
POP3KIT_NETX_API UINT nx_pop3_client_noop(NX_POP3_CLIENT* client_ptr);
/** RSET: unmarks the items marked for deletion (NetX Duo documents it but
    never implemented it).
    @param client_ptr A live client.
    @retval NX_SUCCESS                  Done.
    @retval NX_PTR_ERROR                A NULL client or one that is not live.
    @retval NX_POP3_SERVER_ERROR_STATUS -ERR (usable), or a reply that
                                        breaks the protocol (closed).
    @retval NX_NOT_CONNECTED            Not connected, or the connection was
                                        lost.
    @retval NX_NO_PACKET                No reply in time (closed).
    @retval NX_WINDOW_OVERFLOW          Not sent in time (closed).
    @retval NX_NOT_SUCCESSFUL           Out of memory. */
POP3KIT_NETX_API UINT nx_pop3_client_rset(NX_POP3_CLIENT* client_ptr);
/** QUIT: the server removes the items marked deleted; then the connection is
    closed, whatever the answer (NetX Duo left closing to delete). Nothing
    waits for the server to close its side. The client stays live: every
    later call but nx_pop3_client_delete() returns NX_NOT_CONNECTED.
    @param client_ptr A live client.
    @return The codes of nx_pop3_client_rset(); after -ERR the connection is
            closed too. */
POP3KIT_NETX_API UINT nx_pop3_client_quit(NX_POP3_CLIENT* client_ptr);
/** Closes the connection if still open, without QUIT (so the server removes
    no item marked deleted), and frees the client's resources. The structure may then be
    created again or discarded.
    @param client_ptr The client.
    @retval NX_SUCCESS   Deleted; or the client was not live (never created,
                         a failed create, already deleted): nothing is done.
    @retval NX_PTR_ERROR A NULL `client_ptr`. */
POP3KIT_NETX_API UINT nx_pop3_client_delete(NX_POP3_CLIENT* client_ptr);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* POP3KIT_NETX_NXD_POP3_CLIENT_H */
