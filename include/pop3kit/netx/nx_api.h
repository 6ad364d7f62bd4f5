/*
 * pop3kit — a minimal stand-in for NetX Duo's nx_api.h.
 *
 * Just enough of the NetX Duo types, constants and calls for a program
 * written against the NetX Duo POP3 Client (nxd_pop3_client.h) to build on a
 * host OS unchanged apart from its RTOS thread set-up. There is no IP stack
 * here: nx_ip_create() records its arguments and the POP3 client uses the
 * host's sockets. Packet pools are real: nx_packet_pool_create() carves the
 * caller's memory into fixed-size packets (no heap), and packets are
 * allocated and released exactly as in NetX.
 *
 * C99 and C++; thread-safe where NetX is (packet allocation and release).
 *
 * Differences from NetX Duo, on purpose:
 *  - nx_ip_create() accepts a NULL driver and NULL memory (nothing uses them).
 *  - Packets are never chained by this library (nx_packet_next is NULL), but
 *    nx_packet_release() and nx_packet_data_retrieve() follow a chain.
 *  - Each packet has one spare byte after nx_packet_data_end, and every packet
 *    the POP3 client hands out has a NUL there after its data, so printing
 *    nx_packet_prepend_ptr with "%s" (as the NetX demo does) stays in bounds.
 *    The NUL is not part of nx_packet_length.
 *  - Wait options are ticks of NX_IP_PERIODIC_RATE (100 per second), measured
 *    with the host's monotonic clock.
 */
#ifndef POP3KIT_NETX_NX_API_H
#define POP3KIT_NETX_NX_API_H

#include <pthread.h>

/* POP3KIT_NETX_API marks the calls the library exports. It is compiled with
   -fvisibility=hidden, so a shared libpop3kit-netx exports these calls and
   nothing else. */
#if defined(__GNUC__) || defined(__clang__)
#define POP3KIT_NETX_API __attribute__((visibility("default")))
#else
#define POP3KIT_NETX_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic types (as in ThreadX's tx_port.h) ---------------------------- */

#ifndef VOID
#define VOID void
#endif
typedef char CHAR;
typedef unsigned char UCHAR;
typedef int INT;
typedef unsigned int UINT;
typedef long LONG;
typedef unsigned long ULONG;
typedef short SHORT;
typedef unsigned short USHORT;

#define NX_NULL 0
#define NX_TRUE 1
#define NX_FALSE 0
#define NX_NO_WAIT 0UL
#define NX_WAIT_FOREVER 0xFFFFFFFFUL
#define NX_PARAMETER_NOT_USED(p) ((void)(p))

/* Ticks per second of every timeout and wait option (fixed: the library
   converts ticks with this value). */
#define NX_IP_PERIODIC_RATE 100

/* ---- Return codes (NetX Duo values) ------------------------------------- */

#define NX_SUCCESS 0x00
#define NX_NO_PACKET 0x01
#define NX_UNDERFLOW 0x02
#define NX_OVERFLOW 0x03
#define NX_NO_MAPPING 0x04
#define NX_DELETED 0x05
#define NX_POOL_ERROR 0x06
#define NX_PTR_ERROR 0x07
#define NX_WAIT_ERROR 0x08
#define NX_SIZE_ERROR 0x09
#define NX_OPTION_ERROR 0x0a
#define NX_DELETE_ERROR 0x10
#define NX_CALLER_ERROR 0x11
#define NX_INVALID_PACKET 0x12
#define NX_INVALID_SOCKET 0x13
#define NX_NOT_ENABLED 0x14
#define NX_ALREADY_ENABLED 0x15
#define NX_ENTRY_NOT_FOUND 0x16
#define NX_NO_MORE_ENTRIES 0x17
#define NX_WAIT_ABORTED 0x1A
#define NX_IP_INTERNAL_ERROR 0x20
#define NX_IP_ADDRESS_ERROR 0x21
#define NX_ALREADY_BOUND 0x22
#define NX_PORT_UNAVAILABLE 0x23
#define NX_NOT_BOUND 0x24
#define NX_SOCKET_UNBOUND 0x26
#define NX_NOT_CREATED 0x27
#define NX_SOCKETS_BOUND 0x28
#define NX_NO_RESPONSE 0x29
#define NX_POOL_DELETED 0x30
#define NX_ALREADY_RELEASED 0x31
#define NX_MAX_LISTEN 0x33
#define NX_DUPLICATE_LISTEN 0x34
#define NX_NOT_CLOSED 0x35
#define NX_NOT_LISTEN_STATE 0x36
#define NX_IN_PROGRESS 0x37
#define NX_NOT_CONNECTED 0x38
#define NX_WINDOW_OVERFLOW 0x39
#define NX_ALREADY_SUSPENDED 0x40
#define NX_DISCONNECT_FAILED 0x41
#define NX_STILL_BOUND 0x42
#define NX_NOT_SUCCESSFUL 0x43
#define NX_UNHANDLED_COMMAND 0x44
#define NX_NO_FREE_PORTS 0x45
#define NX_INVALID_PORT 0x46
#define NX_INVALID_RELISTEN 0x47
#define NX_CONNECTION_PENDING 0x48
#define NX_TX_QUEUE_DEPTH 0x49
#define NX_NOT_IMPLEMENTED 0x4A
#define NX_NOT_SUPPORTED 0x4B
#define NX_INVALID_INTERFACE 0x4C
#define NX_INVALID_PARAMETERS 0x4D
#define NX_NOT_FOUND 0x4E

/* ---- Addresses ------------------------------------------------------------ */

#define NX_IP_VERSION_V4 0x4
#define NX_IP_VERSION_V6 0x6

/* An IPv4 address in host order: IP_ADDRESS(127, 0, 0, 1). */
#ifdef __cplusplus
#define IP_ADDRESS(a, b, c, d)                                                                    \
  ((static_cast<ULONG>(a) << 24) | (static_cast<ULONG>(b) << 16) | (static_cast<ULONG>(c) << 8) | \
   static_cast<ULONG>(d))
#else
#define IP_ADDRESS(a, b, c, d) \
  ((((ULONG)(a)) << 24) | (((ULONG)(b)) << 16) | (((ULONG)(c)) << 8) | ((ULONG)(d)))
#endif

/* An IPv4 or IPv6 address. v4 is in host order; v6[0] holds the most
   significant 32 bits, each word in host order, so ::1 is v6[3] == 1. */
typedef struct NXD_ADDRESS_STRUCT {
  ULONG nxd_ip_version; /* NX_IP_VERSION_V4 or NX_IP_VERSION_V6 */
  union {
    ULONG v4;
    ULONG v6[4];
  } nxd_ip_address;
} NXD_ADDRESS;

/* ---- Packets and packet pools --------------------------------------------- */

struct NX_PACKET_POOL_STRUCT;

typedef struct NX_PACKET_STRUCT {
  struct NX_PACKET_POOL_STRUCT* nx_packet_pool_owner;
  struct NX_PACKET_STRUCT* nx_packet_next; /* next packet of the same data (chain) */
  UCHAR* nx_packet_prepend_ptr;            /* first byte of data */
  UCHAR* nx_packet_append_ptr;             /* one past the last byte of data */
  UCHAR* nx_packet_data_start;             /* start of the payload area */
  UCHAR* nx_packet_data_end;               /* end of the payload area */
  struct NX_PACKET_STRUCT* nx_packet_last; /* last packet of a chain */
  struct NX_PACKET_STRUCT* nx_packet_queue_next;
  ULONG nx_packet_length;            /* bytes of data in the whole chain */
  ULONG nx_packet_pop3kit_allocated; /* pop3kit: NX_TRUE while allocated (private) */
} NX_PACKET;

typedef struct NX_PACKET_POOL_STRUCT {
  ULONG nx_packet_pool_id; /* set while the pool exists */
  CHAR* nx_packet_pool_name;
  ULONG nx_packet_pool_available;
  ULONG nx_packet_pool_total;
  ULONG nx_packet_pool_empty_requests;
  ULONG nx_packet_pool_empty_suspensions;
  ULONG nx_packet_pool_invalid_releases;
  NX_PACKET* nx_packet_pool_available_list;
  CHAR* nx_packet_pool_start;
  ULONG nx_packet_pool_size;
  ULONG nx_packet_pool_payload_size;
  /* pop3kit: guards the fields above and wakes waiting allocations (private). */
  pthread_mutex_t nx_packet_pool_pop3kit_mutex;
  pthread_cond_t nx_packet_pool_pop3kit_cond;
} NX_PACKET_POOL;

/* Packet types of nx_packet_allocate(): bytes reserved before the data for
   protocol headers (NetX's values; data starts after them). */
#define NX_RECEIVE_PACKET 0
#define NX_PHYSICAL_HEADER 16
#define NX_IPv4_PACKET 36
#define NX_IPv6_PACKET 56
#define NX_IPv4_TCP_PACKET 56
#define NX_IPv6_TCP_PACKET 76
#define NX_TCP_PACKET NX_IPv4_TCP_PACKET

/* ---- IP instance ---------------------------------------------------------- */

struct NX_IP_DRIVER_STRUCT; /* never defined: drivers are not called */
typedef struct NX_IP_DRIVER_STRUCT NX_IP_DRIVER;

typedef struct NX_IP_STRUCT {
  ULONG nx_ip_id; /* set while the instance exists */
  CHAR* nx_ip_name;
  ULONG nx_ip_address;      /* as given to nx_ip_create (informational) */
  ULONG nx_ip_network_mask; /* as given to nx_ip_create (informational) */
  NX_PACKET_POOL* nx_ip_default_packet_pool;
  VOID (*nx_ip_link_driver_entry)(NX_IP_DRIVER*);
  UINT nx_ip_tcp_enabled;
  UINT nx_ip_arp_enabled;
  UINT nx_ip_icmp_enabled;
} NX_IP;

/* ---- Calls ----------------------------------------------------------------- */

/* Does nothing; present so NetX start-up code compiles. */
POP3KIT_NETX_API VOID nx_system_initialize(VOID);

/* Carves memory_ptr[0..memory_size) into packets of payload_size bytes; each
   packet also takes a header (sizeof(NX_PACKET), aligned), the spare byte and
   alignment padding. memory_size must be the real size of the memory.
   Like NetX, create reads the control block's id to refuse a second create,
   so pass zeroed memory (a static block, as NetX programs use) or a pool
   deleted before; the same holds for nx_ip_create().
   Returns:
     NX_PTR_ERROR   pool_ptr or memory_ptr NULL, or pool_ptr already created
                    (and not deleted): the live pool is left as it was;
     NX_SIZE_ERROR  payload_size 0, not even one packet fits in memory_size,
                    or a packet's size or the memory's end does not fit in the
                    address space (e.g. payload_size or memory_size ULONG_MAX):
                    sizes are never wrapped. */
POP3KIT_NETX_API UINT nx_packet_pool_create(NX_PACKET_POOL* pool_ptr, CHAR* name,
                                            ULONG payload_size, VOID* memory_ptr,
                                            ULONG memory_size);
/* Ends a pool; packets still allocated from it can no longer be released
   (NX_PTR_ERROR). NX_PTR_ERROR for a pool not created or already deleted. */
POP3KIT_NETX_API UINT nx_packet_pool_delete(NX_PACKET_POOL* pool_ptr);

/* Takes a packet from the pool, waiting up to wait_option ticks for one to be
   released (NX_NO_WAIT, NX_WAIT_FOREVER or ticks). packet_type bytes are
   reserved before the data. NX_PTR_ERROR for a NULL packet_ptr or a pool not
   created (or deleted), NX_NO_PACKET when none became free in time,
   NX_INVALID_PARAMETERS when packet_type exceeds the payload size. A wait
   longer than a century is a century. */
POP3KIT_NETX_API UINT nx_packet_allocate(NX_PACKET_POOL* pool_ptr, NX_PACKET** packet_ptr,
                                         ULONG packet_type, ULONG wait_option);
/* Returns a packet (and its chain) to its pool. NX_PTR_ERROR for NULL, a
   packet of no pool, or a packet already released. */
POP3KIT_NETX_API UINT nx_packet_release(NX_PACKET* packet_ptr);
/* Copies the data of a packet (and its chain) to buffer_start, which must
   hold the chain's total length. NX_PTR_ERROR for a NULL argument,
   NX_INVALID_PACKET (nothing copied) for a packet whose data pointers are
   reversed or a chain whose total length does not fit in a ULONG. */
POP3KIT_NETX_API UINT nx_packet_data_retrieve(NX_PACKET* packet_ptr, VOID* buffer_start,
                                              ULONG* bytes_copied);

/* Records an IP instance. driver and memory may be NULL: the host's sockets
   are used. NX_PTR_ERROR for a NULL ip_ptr, a default_pool that is NULL or
   not created, or an ip_ptr already created (and not deleted). */
POP3KIT_NETX_API UINT nx_ip_create(NX_IP* ip_ptr, CHAR* name, ULONG ip_address, ULONG network_mask,
                                   NX_PACKET_POOL* default_pool,
                                   VOID (*ip_link_driver)(NX_IP_DRIVER*), VOID* memory_ptr,
                                   ULONG memory_size, UINT priority);
/* These return NX_PTR_ERROR for an ip_ptr not created (or deleted); the
   enables return NX_ALREADY_ENABLED the second time. */
POP3KIT_NETX_API UINT nx_ip_delete(NX_IP* ip_ptr);
POP3KIT_NETX_API UINT nx_tcp_enable(NX_IP* ip_ptr);
POP3KIT_NETX_API UINT nx_arp_enable(NX_IP* ip_ptr, VOID* arp_cache_memory, ULONG arp_cache_size);
POP3KIT_NETX_API UINT nx_icmp_enable(NX_IP* ip_ptr);

#ifdef __cplusplus
}
#endif

#endif /* POP3KIT_NETX_NX_API_H */
