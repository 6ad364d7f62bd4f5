/*
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
 *   nx_pop3_client_create(&client, NX_TRUE, &ip, &pool, IP_ADDRESS(127,0,0,1), 110,
 *                         "user", "password");                   connects, logs in
 *   nx_pop3_client_mail_items_get(&client, &items, &total);      STAT
 *   nx_pop3_client_mail_item_get(&client, n, &size);             RETR n, status only
 *   do nx_pop3_client_mail_item_message_get(&client, &packet, &bytes, &final);
 *      ... use packet, nx_packet_release(packet) ...
 *   while (!final);
 *   nx_pop3_client_mail_item_delete(&client, n);                 DELE n
 *   nx_pop3_client_quit(&client);                                QUIT, disconnects
 *   nx_pop3_client_delete(&client);                              frees the client
 *
 * Behaviour, and where it differs from NetX Duo on purpose (defects fixed):
 *
 *  - create connects and logs in. With APOP_authentication and a greeting that
 *    carries a valid <timestamp>, APOP is used; otherwise USER/PASS. If the
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
 *    NX_NOT_CONNECTED   (0x38)  connect refused, unreachable or timed out
 *                               (NX_POP3_CLIENT_CONNECTION_TIMEOUT), the
 *                               server closed or reset the connection, or the
 *                               client is no longer connected (after quit or
 *                               an earlier failure);
 *    NX_NO_PACKET       (0x01)  no reply within NX_POP3_SERVER_REPLY_TIMEOUT
 *                               (what nx_tcp_socket_receive returns), or no
 *                               free packet within the packet timeout;
 *    NX_WINDOW_OVERFLOW (0x39)  a command could not be sent within
 *                               NX_POP3_TCP_SOCKET_SEND_WAIT.
 * A reply that breaks the protocol (not "+OK"/"-ERR", malformed, too long)
 * and a greeting "-ERR" return NX_POP3_SERVER_ERROR_STATUS and close the
 * connection. After any connection failure the connection is closed; every
 * later call except nx_pop3_client_delete returns NX_NOT_CONNECTED.
 *
 * Configuration: the NX_POP3_* macros below are compiled into the library
 * with their NetX Duo defaults; defining them differently in a program does
 * not change the library (rebuild pop3kit with the same definitions; the
 * structure's layout does not depend on them, and nx_pop3_client_name keeps
 * the first 40 characters of a longer name). Timeouts are in ticks
 * (NX_IP_PERIODIC_RATE, fixed at 100, per second). create copies them into the
 * client's nx_pop3_client_*_timeout fields, which a program may change after
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
 */
#ifndef POP3KIT_NETX_NXD_POP3_CLIENT_H
#define POP3KIT_NETX_NXD_POP3_CLIENT_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Return codes --------------------------------------------------------- */

#define NX_POP3_CLIENT_ERROR_CONSTANT 0xB0
#define NX_POP3_PARAM_ERROR 0xB1                 /* invalid non-pointer argument */
#define NX_POP3_INVALID_MAIL_ITEM 0xB2           /* index above the last STAT count */
#define NX_POP3_APOP_FAILED_MD5_DIGEST 0xB3      /* the MD5 digest could not be computed */
#define NX_POP3_SERVER_ERROR_STATUS 0xB4         /* -ERR, or a reply breaking the protocol */
#define NX_POP3_MAIL_BUFFER_OVERFLOW 0xB5        /* never returned */
#define NX_POP3_INSUFFICIENT_PACKET_PAYLOAD 0xB6 /* never returned */
#define NX_POP3_CLIENT_INVALID_STATE 0xB7        /* no download in progress */
#define NX_POP3_CLIENT_INVALID_INDEX 0xB8        /* mail index 0 */

/* ---- Configuration (NetX Duo names and defaults; timeouts in ticks) -------- */

#ifndef NX_POP3_MAX_USERNAME
#define NX_POP3_MAX_USERNAME 40
#endif
#ifndef NX_POP3_MAX_PASSWORD
#define NX_POP3_MAX_PASSWORD 20
#endif
#ifndef NX_POP3_CLIENT_CONNECTION_TIMEOUT
#define NX_POP3_CLIENT_CONNECTION_TIMEOUT (30 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_SERVER_REPLY_TIMEOUT
#define NX_POP3_SERVER_REPLY_TIMEOUT (10 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_CLIENT_PACKET_TIMEOUT
#define NX_POP3_CLIENT_PACKET_TIMEOUT (1 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_CLIENT_DISCONNECT_TIMEOUT
#define NX_POP3_CLIENT_DISCONNECT_TIMEOUT (10 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_TCP_SOCKET_SEND_WAIT
#define NX_POP3_TCP_SOCKET_SEND_WAIT (10 * NX_IP_PERIODIC_RATE)
#endif

#define NX_POP3_SERVER_PROCESS_ID_SIZE 75

/* ---- The client (caller-allocated; its fields are read-only to programs,
        except the timeouts) ----------------------------------------------- */

typedef struct NX_POP3_CLIENT_STRUCT {
  ULONG nx_pop3_client_id; /* set while the client exists */
  /* Fixed sizes (the defaults): the layout must not change with a program's
     own NX_POP3_MAX_* definitions, since the library fills this structure. */
  CHAR nx_pop3_client_name[40 + 1];
  CHAR nx_pop3_client_password[20 + 1]; /* cleared after login */
  NX_IP* nx_pop3_client_ip_ptr;
  NX_PACKET_POOL* nx_pop3_client_packet_pool_ptr;
  UINT nx_pop3_client_enable_APOP_authentication;
  UINT nx_pop3_client_APOP_used;            /* NX_TRUE when logged in with APOP */
  UINT nx_pop3_client_maildrop_items;       /* count of the last STAT */
  UINT nx_pop3_client_maildrop_items_valid; /* NX_TRUE after a STAT */
  UINT nx_pop3_client_maildrop_index;       /* item of the last RETR */
  ULONG nx_pop3_client_total_message_size;  /* size of the last STAT */
  UINT nx_pop3_client_ready_to_download; /* NX_TRUE between an accepted RETR and the final packet */
  CHAR nx_pop3_server_process_id[NX_POP3_SERVER_PROCESS_ID_SIZE + 1]; /* greeting timestamp */
  NX_PACKET* nx_pop3_client_message_ptr;     /* always NULL (kept for compatibility) */
  ULONG nx_pop3_client_server_reply_timeout; /* ticks; NX_POP3_SERVER_REPLY_TIMEOUT */
  ULONG nx_pop3_client_packet_timeout;       /* ticks; NX_POP3_CLIENT_PACKET_TIMEOUT */
  ULONG nx_pop3_client_send_timeout;         /* ticks; NX_POP3_TCP_SOCKET_SEND_WAIT */
  VOID* nx_pop3_client_session;              /* pop3kit: the connection and engine (private) */
} NX_POP3_CLIENT;

/* ---- Services --------------------------------------------------------------- */

/* Connects to server_ip_address (IPv4, host order):server_port and logs in. */
POP3KIT_NETX_API UINT nx_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication,
                                            NX_IP* ip_ptr, NX_PACKET_POOL* packet_pool_ptr,
                                            ULONG server_ip_address, ULONG server_port,
                                            CHAR* client_name, CHAR* client_password);
/* The same for an IPv4 or IPv6 address. */
POP3KIT_NETX_API UINT nxd_pop3_client_create(NX_POP3_CLIENT* client_ptr, UINT APOP_authentication,
                                             NX_IP* ip_ptr, NX_PACKET_POOL* packet_pool_ptr,
                                             NXD_ADDRESS* server_duo_address, ULONG server_port,
                                             CHAR* client_name, CHAR* client_password);
/* STAT: number of items and total size of the maildrop. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_items_get(NX_POP3_CLIENT* client_ptr,
                                                    UINT* number_mail_items,
                                                    ULONG* maildrop_total_size);
/* LIST mail_item: the item's size. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_size_get(NX_POP3_CLIENT* client_ptr, UINT mail_item,
                                                        ULONG* size);
/* RETR mail_item: reads the status line only; then call message_get. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_get(NX_POP3_CLIENT* client_ptr, UINT mail_item,
                                                   ULONG* item_size);
/* The next packet of the message being retrieved. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_message_get(NX_POP3_CLIENT* client_ptr,
                                                           NX_PACKET** recv_packet_ptr,
                                                           ULONG* bytes_retrieved,
                                                           UINT* final_packet);
/* DELE mail_index. */
POP3KIT_NETX_API UINT nx_pop3_client_mail_item_delete(NX_POP3_CLIENT* client_ptr, UINT mail_index);
/* NOOP. */
POP3KIT_NETX_API UINT nx_pop3_client_noop(NX_POP3_CLIENT* client_ptr);
/* RSET: unmarks the items marked for deletion. */
POP3KIT_NETX_API UINT nx_pop3_client_rset(NX_POP3_CLIENT* client_ptr);
/* QUIT: the server removes the deleted items; the connection is closed. */
POP3KIT_NETX_API UINT nx_pop3_client_quit(NX_POP3_CLIENT* client_ptr);
/* Closes the connection if open (without QUIT) and frees the client. */
POP3KIT_NETX_API UINT nx_pop3_client_delete(NX_POP3_CLIENT* client_ptr);

#ifdef __cplusplus
}
#endif

#endif /* POP3KIT_NETX_NXD_POP3_CLIENT_H */
