/**
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
 *    nx_packet_prepend_ptr with `"%s"` (as the NetX demo does) stays in
 *    bounds. The NUL is not part of nx_packet_length.
 *  - Wait options are ticks of NX_IP_PERIODIC_RATE (100 per second), measured
 *    with the host's monotonic clock.
 *
 * @file
 * @ingroup netx
 */
#ifndef POP3KIT_NETX_NX_API_H
#define POP3KIT_NETX_NX_API_H

#include <pthread.h>

/** @addtogroup netx
 *  @{ */

/** Marks the calls the library exports. It is compiled with
    -fvisibility=hidden, so a shared libpop3kit-netx exports these calls and
    nothing else. With GCC and Clang it is
    `__attribute__((visibility("default")))`, elsewhere empty. */
#if defined(__GNUC__) || defined(__clang__)
#define POP3KIT_NETX_API __attribute__((visibility("default")))
#else
#define POP3KIT_NETX_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic types (as in ThreadX's tx_port.h) ---------------------------- */

/** @name Basic types (as in ThreadX's tx_port.h)
 *  @{ */

/** `void`; a program's own definition, seen first, is kept. */
#ifndef VOID
#define VOID void
#endif
typedef char CHAR;             /**< `char`: names and NUL-terminated text. */
typedef unsigned char UCHAR;   /**< `unsigned char`: packet data. */
typedef int INT;               /**< `int`. */
typedef unsigned int UINT;     /**< `unsigned int`: return codes, counts, flags. */
typedef long LONG;             /**< `long`. */
typedef unsigned long ULONG;   /**< `unsigned long`: sizes, addresses, ticks. */
typedef short SHORT;           /**< `short`. */
typedef unsigned short USHORT; /**< `unsigned short`. */

#define NX_NULL 0                    /**< The null pointer constant. */
#define NX_TRUE 1                    /**< True, in the UINT flags. */
#define NX_FALSE 0                   /**< False, in the UINT flags. */
#define NX_NO_WAIT 0UL               /**< Wait option: do not wait. */
#define NX_WAIT_FOREVER 0xFFFFFFFFUL /**< Wait option: wait until it succeeds. */
/** Marks the argument `p` as unused (silences compiler warnings). */
#define NX_PARAMETER_NOT_USED(p) ((void)(p))

/** Ticks per second of every timeout and wait option. Fixed: the library
    converts ticks with this value. */
#define NX_IP_PERIODIC_RATE 100

/** @} */

/* ---- Return codes (NetX Duo values) ------------------------------------- */

/** @name Return codes (NetX Duo values)
 *  NetX Duo's return codes, with NetX Duo's values. The calls of this API
 *  return only the codes whose
 *  description says when; the others are defined for source compatibility
 *  and are never returned. The POP3 client's own codes (`NX_POP3_*`) are in
 *  nxd_pop3_client.h.
 *  @{ */

#define NX_SUCCESS 0x00 /**< The call succeeded. */
/** No packet became free within the wait (nx_packet_allocate(),
    nx_pop3_client_mail_item_message_get(): the download can be resumed), or
    a POP3 call had no reply from the server within the reply timeout (the
    connection is then closed). */
#define NX_NO_PACKET 0x01
#define NX_UNDERFLOW 0x02  /**< Not returned by this library. */
#define NX_OVERFLOW 0x03   /**< Not returned by this library. */
#define NX_NO_MAPPING 0x04 /**< Not returned by this library. */
#define NX_DELETED 0x05    /**< Not returned by this library. */
#define NX_POOL_ERROR 0x06 /**< Not returned by this library. */
/** A NULL pointer argument; a packet pool, IP instance or POP3 client that
    was not created or was deleted; a second create of a live object (which
    is left as it was); a packet released twice. */
#define NX_PTR_ERROR 0x07
#define NX_WAIT_ERROR 0x08 /**< Not returned by this library. */
/** nx_packet_pool_create(): a payload size of 0, or a pool that does not fit
    its memory or the address space. */
#define NX_SIZE_ERROR 0x09
#define NX_OPTION_ERROR 0x0a /**< Not returned by this library. */
#define NX_DELETE_ERROR 0x10 /**< Not returned by this library. */
#define NX_CALLER_ERROR 0x11 /**< Not returned by this library. */
/** nx_packet_data_retrieve(): a packet whose data pointers are reversed, or a
    chain longer than a ULONG can count. */
#define NX_INVALID_PACKET 0x12
#define NX_INVALID_SOCKET 0x13 /**< Not returned by this library. */
#define NX_NOT_ENABLED 0x14    /**< Not returned by this library. */
/** nx_tcp_enable(), nx_arp_enable(), nx_icmp_enable(): already enabled. */
#define NX_ALREADY_ENABLED 0x15
#define NX_ENTRY_NOT_FOUND 0x16   /**< Not returned by this library. */
#define NX_NO_MORE_ENTRIES 0x17   /**< Not returned by this library. */
#define NX_WAIT_ABORTED 0x1A      /**< Not returned by this library. */
#define NX_IP_INTERNAL_ERROR 0x20 /**< Not returned by this library. */
#define NX_IP_ADDRESS_ERROR 0x21  /**< Not returned by this library. */
#define NX_ALREADY_BOUND 0x22     /**< Not returned by this library. */
#define NX_PORT_UNAVAILABLE 0x23  /**< Not returned by this library. */
#define NX_NOT_BOUND 0x24         /**< Not returned by this library. */
#define NX_SOCKET_UNBOUND 0x26    /**< Not returned by this library. */
#define NX_NOT_CREATED 0x27       /**< Not returned by this library. */
#define NX_SOCKETS_BOUND 0x28     /**< Not returned by this library. */
#define NX_NO_RESPONSE 0x29       /**< Not returned by this library. */
#define NX_POOL_DELETED 0x30      /**< Not returned by this library. */
#define NX_ALREADY_RELEASED 0x31  /**< Not returned by this library. */
#define NX_MAX_LISTEN 0x33        /**< Not returned by this library. */
#define NX_DUPLICATE_LISTEN 0x34  /**< Not returned by this library. */
#define NX_NOT_CLOSED 0x35        /**< Not returned by this library. */
#define NX_NOT_LISTEN_STATE 0x36  /**< Not returned by this library. */
#define NX_IN_PROGRESS 0x37       /**< Not returned by this library. */
/** A POP3 call: the connection could not be made (refused, unreachable,
    timed out), the server closed or reset it, or it was already closed (after
    nx_pop3_client_quit() or an earlier failure). */
#define NX_NOT_CONNECTED 0x38
/** A POP3 call: a command could not be sent within the client's send
    timeout; the connection is then closed. */
#define NX_WINDOW_OVERFLOW 0x39
#define NX_ALREADY_SUSPENDED 0x40 /**< Not returned by this library. */
#define NX_DISCONNECT_FAILED 0x41 /**< Not returned by this library. */
#define NX_STILL_BOUND 0x42       /**< Not returned by this library. */
/** A POP3 call ran out of memory. */
#define NX_NOT_SUCCESSFUL 0x43
#define NX_UNHANDLED_COMMAND 0x44  /**< Not returned by this library. */
#define NX_NO_FREE_PORTS 0x45      /**< Not returned by this library. */
#define NX_INVALID_PORT 0x46       /**< Not returned by this library. */
#define NX_INVALID_RELISTEN 0x47   /**< Not returned by this library. */
#define NX_CONNECTION_PENDING 0x48 /**< Not returned by this library. */
#define NX_TX_QUEUE_DEPTH 0x49     /**< Not returned by this library. */
#define NX_NOT_IMPLEMENTED 0x4A    /**< Not returned by this library. */
#define NX_NOT_SUPPORTED 0x4B      /**< Not returned by this library. */
#define NX_INVALID_INTERFACE 0x4C  /**< Not returned by this library. */
/** nx_packet_allocate(): a packet type (bytes reserved before the data)
    larger than the pool's payload size. */
#define NX_INVALID_PARAMETERS 0x4D
#define NX_NOT_FOUND 0x4E /**< Not returned by this library. */

/** @} */

/* ---- Addresses ------------------------------------------------------------ */

#define NX_IP_VERSION_V4 0x4 /**< NXD_ADDRESS::nxd_ip_version of an IPv4 address. */
#define NX_IP_VERSION_V6 0x6 /**< NXD_ADDRESS::nxd_ip_version of an IPv6 address. */

/** An IPv4 address a.b.c.d as a ULONG in host order:
    `IP_ADDRESS(127, 0, 0, 1)` is 0x7F000001. */
#ifdef __cplusplus
#define IP_ADDRESS(a, b, c, d)                                                                    \
  ((static_cast<ULONG>(a) << 24) | (static_cast<ULONG>(b) << 16) | (static_cast<ULONG>(c) << 8) | \
   static_cast<ULONG>(d))
#else
#define IP_ADDRESS(a, b, c, d) \
  ((((ULONG)(a)) << 24) | (((ULONG)(b)) << 16) | (((ULONG)(c)) << 8) | ((ULONG)(d)))
#endif

/** An IPv4 or IPv6 address (nxd_pop3_client_create()). A plain value: the
    library copies what it needs during the call. */
typedef struct NXD_ADDRESS_STRUCT {
  ULONG nxd_ip_version; /**< NX_IP_VERSION_V4 or NX_IP_VERSION_V6. */
  /** The address, by nxd_ip_version. */
  union {
    ULONG v4;    /**< IPv4, in host order (see IP_ADDRESS()). */
    ULONG v6[4]; /**< IPv6: v6[0] holds the most significant 32 bits, each
                      word in host order, so ::1 is v6[3] == 1. */
  } nxd_ip_address;
} NXD_ADDRESS;

/* ---- Packets and packet pools --------------------------------------------- */

struct NX_PACKET_POOL_STRUCT;

/** A packet of a pool (nx_packet_allocate()), holding data in its payload
    area. The control block sits in the pool's memory just before the
    payload area; it belongs to whoever allocated the packet until
    nx_packet_release(). Programs read the data pointers and the length;
    the fields marked internal are the library's. */
typedef struct NX_PACKET_STRUCT {
  struct NX_PACKET_POOL_STRUCT* nx_packet_pool_owner; /**< The pool it comes from. */
  /** The next packet of the same data (a chain). Always NULL in the packets
      this library hands out; nx_packet_release() and
      nx_packet_data_retrieve() follow a chain a program built. */
  struct NX_PACKET_STRUCT* nx_packet_next;
  UCHAR* nx_packet_prepend_ptr; /**< First byte of data. */
  /** One past the last byte of data. In the packets the POP3 client hands out
      the byte there (the spare byte after the payload area when the packet is
      full) is a NUL, not counted in nx_packet_length. */
  UCHAR* nx_packet_append_ptr;
  UCHAR* nx_packet_data_start; /**< Start of the payload area. */
  /** End of the payload area; one spare byte follows it. */
  UCHAR* nx_packet_data_end;
  struct NX_PACKET_STRUCT* nx_packet_last; /**< Last packet of a chain (NULL here). */
  /** Internal: the link of the pool's list of free packets. */
  struct NX_PACKET_STRUCT* nx_packet_queue_next;
  ULONG nx_packet_length; /**< Bytes of data in the whole chain (0 when allocated). */
  /** Internal (pop3kit): NX_TRUE while allocated, so that a second release is
      refused. */
  ULONG nx_packet_pop3kit_allocated;
} NX_PACKET;

/** A packet pool: fixed-size packets carved from memory the caller provides
    (nx_packet_pool_create()). The caller allocates the control block (static
    or zeroed memory, see nx_packet_pool_create()); it and the pool's memory
    must stay in place, unchanged by the program, until nx_packet_pool_delete()
    and the release of the last packet. The fields are read-only to programs;
    the counters change under the pool's lock. */
typedef struct NX_PACKET_POOL_STRUCT {
  /** Internal: set while the pool exists (created and not deleted). */
  ULONG nx_packet_pool_id;
  CHAR* nx_packet_pool_name;      /**< The name given to create (not copied). */
  ULONG nx_packet_pool_available; /**< Packets free now. */
  ULONG nx_packet_pool_total;     /**< Packets carved from the memory. */
  /** Allocations that found no free packet. */
  ULONG nx_packet_pool_empty_requests;
  /** Allocations that then waited (wait option other than NX_NO_WAIT). */
  ULONG nx_packet_pool_empty_suspensions;
  /** Releases refused because the packet was not allocated (released twice). */
  ULONG nx_packet_pool_invalid_releases;
  NX_PACKET* nx_packet_pool_available_list; /**< Internal: the free packets. */
  CHAR* nx_packet_pool_start;               /**< First packet: the memory's start, aligned. */
  ULONG nx_packet_pool_size;         /**< Bytes the packets take, from nx_packet_pool_start. */
  ULONG nx_packet_pool_payload_size; /**< Payload bytes of each packet. */
  /** @{ */
  /** Internal (pop3kit): guards the fields above and wakes waiting
      allocations. */
  pthread_mutex_t nx_packet_pool_pop3kit_mutex;
  pthread_cond_t nx_packet_pool_pop3kit_cond;
  /** @} */
} NX_PACKET_POOL;

/** @name Packet types
 *  The packet_type of nx_packet_allocate(): bytes reserved before the data
 *  for protocol headers (NetX's values; the data starts after them).
 *  @{ */
#define NX_RECEIVE_PACKET 0              /**< Nothing reserved (the POP3 client's packets). */
#define NX_PHYSICAL_HEADER 16            /**< Room for a link-layer header. */
#define NX_IPv4_PACKET 36                /**< Room for link-layer and IPv4 headers. */
#define NX_IPv6_PACKET 56                /**< Room for link-layer and IPv6 headers. */
#define NX_IPv4_TCP_PACKET 56            /**< Room for link-layer, IPv4 and TCP headers. */
#define NX_IPv6_TCP_PACKET 76            /**< Room for link-layer, IPv6 and TCP headers. */
#define NX_TCP_PACKET NX_IPv4_TCP_PACKET /**< NX_IPv4_TCP_PACKET. */
/** @} */

/* ---- IP instance ---------------------------------------------------------- */

struct NX_IP_DRIVER_STRUCT; /* never defined: drivers are not called */
/** A network driver's request, the argument of a driver entry (see
    nx_ip_create()). Never defined: this library calls no driver. */
typedef struct NX_IP_DRIVER_STRUCT NX_IP_DRIVER;

/** An IP instance (nx_ip_create()). There is no IP stack: the instance
    records its arguments, and the POP3 client connects with the host's
    sockets. Caller-allocated like every NetX control block; the fields are
    read-only to programs. */
typedef struct NX_IP_STRUCT {
  /** Internal: set while the instance exists (created and not deleted). */
  ULONG nx_ip_id;
  CHAR* nx_ip_name;                          /**< The name given to create (not copied). */
  ULONG nx_ip_address;                       /**< As given to nx_ip_create() (informational). */
  ULONG nx_ip_network_mask;                  /**< As given to nx_ip_create() (informational). */
  NX_PACKET_POOL* nx_ip_default_packet_pool; /**< As given to nx_ip_create(). */
  /** The driver given to nx_ip_create(); never called. */
  VOID (*nx_ip_link_driver_entry)(NX_IP_DRIVER*);
  UINT nx_ip_tcp_enabled;  /**< NX_TRUE after nx_tcp_enable(). */
  UINT nx_ip_arp_enabled;  /**< NX_TRUE after nx_arp_enable(). */
  UINT nx_ip_icmp_enabled; /**< NX_TRUE after nx_icmp_enable(). */
} NX_IP;

/* ---- Calls ----------------------------------------------------------------- */

/** Does nothing; present so NetX start-up code compiles. May be called any
    number of times, from any thread. */
POP3KIT_NETX_API VOID nx_system_initialize(VOID);

/** Creates a packet pool: carves `memory_ptr[0..memory_size)` into packets
    of `payload_size` bytes. Each packet also takes a header
    (sizeof(NX_PACKET), aligned), the spare byte and alignment padding; the
    first packet starts at `memory_ptr` aligned up. No heap is used.

    Like NetX, create reads the control block's id to refuse a second create,
    so pass zeroed memory (a static block, as NetX programs use) or a pool
    deleted before; the same holds for nx_ip_create(). Not to be called while
    another thread uses the same control block.

    @param pool_ptr     The control block; it must stay in place until the
                        pool is deleted.
    @param name         Stored as given (not copied, never read); may be NULL.
    @param payload_size Data bytes of each packet.
    @param memory_ptr   The packets' memory, owned by the pool until it is
                        deleted and its last packet released.
    @param memory_size  The real size of that memory.
    @retval NX_SUCCESS    The pool exists with nx_packet_pool_total packets.
    @retval NX_PTR_ERROR  `pool_ptr` or `memory_ptr` NULL, or `pool_ptr`
                          already created (and not deleted): the live pool is
                          left as it was.
    @retval NX_SIZE_ERROR `payload_size` 0, not even one packet fits in
                          `memory_size`, or a packet's size or the memory's
                          end does not fit in the address space (e.g.
                          `payload_size` or `memory_size` ULONG_MAX): sizes
                          are never wrapped. */
POP3KIT_NETX_API UINT nx_packet_pool_create(NX_PACKET_POOL* pool_ptr, CHAR* name,
                                            ULONG payload_size, VOID* memory_ptr,
                                            ULONG memory_size);
/** Ends a pool. Packets still allocated from it can no longer be released
    (NX_PTR_ERROR), and its memory is the caller's again once the program no
    longer uses them. No thread may be waiting in nx_packet_allocate() on it
    or use it during the call; a POP3 client using it gets NX_PTR_ERROR from
    nx_pop3_client_mail_item_message_get().
    @param pool_ptr The pool.
    @retval NX_SUCCESS   The pool is deleted; its control block may be
                         created again.
    @retval NX_PTR_ERROR A pool not created or already deleted. */
POP3KIT_NETX_API UINT nx_packet_pool_delete(NX_PACKET_POOL* pool_ptr);

/** Takes a packet from the pool, waiting for one to be released when none is
    free. Thread-safe: any thread may allocate and release packets of a pool
    at the same time as others.
    @param pool_ptr    The pool.
    @param packet_ptr  [out] The packet, with no data: nx_packet_prepend_ptr
                       and nx_packet_append_ptr at `packet_type` bytes into
                       the payload area, nx_packet_length 0. The caller owns
                       it until nx_packet_release(). Set to NULL on
                       NX_INVALID_PARAMETERS and NX_NO_PACKET.
    @param packet_type Bytes reserved before the data (NX_RECEIVE_PACKET,
                       NX_TCP_PACKET, ...; any value up to the payload size).
    @param wait_option NX_NO_WAIT, NX_WAIT_FOREVER, or ticks of
                       NX_IP_PERIODIC_RATE (a wait longer than a century is a
                       century).
    @retval NX_SUCCESS            `*packet_ptr` is the packet.
    @retval NX_PTR_ERROR          A NULL `packet_ptr`, or a pool not created
                                  (or deleted).
    @retval NX_INVALID_PARAMETERS `packet_type` exceeds the payload size.
    @retval NX_NO_PACKET          None became free in time. */
POP3KIT_NETX_API UINT nx_packet_allocate(NX_PACKET_POOL* pool_ptr, NX_PACKET** packet_ptr,
                                         ULONG packet_type, ULONG wait_option);
/** Returns a packet, and the packets chained to it by nx_packet_next, to
    their pools, and wakes an allocation waiting there. The whole chain is
    checked before any packet is released. The packet must not be used
    afterwards. Thread-safe, like nx_packet_allocate().
    @param packet_ptr The packet.
    @retval NX_SUCCESS   Released.
    @retval NX_PTR_ERROR NULL, a packet of no pool (or of a deleted one), or
                         a packet already released (counted in
                         nx_packet_pool_invalid_releases); nothing is
                         released. */
POP3KIT_NETX_API UINT nx_packet_release(NX_PACKET* packet_ptr);
/** Copies the data of a packet, and of the packets chained to it, to a
    buffer. The data of each packet is nx_packet_prepend_ptr up to
    nx_packet_append_ptr (nx_packet_length is not read); nothing is written
    after it (no NUL).
    @param packet_ptr   The packet; it stays the caller's.
    @param buffer_start [out] Must hold the chain's total length.
    @param bytes_copied [out] The bytes copied.
    @retval NX_SUCCESS        Copied.
    @retval NX_PTR_ERROR      A NULL argument.
    @retval NX_INVALID_PACKET Nothing copied: a packet whose data pointers
                              are reversed, or a chain whose total length
                              does not fit in a ULONG. */
POP3KIT_NETX_API UINT nx_packet_data_retrieve(NX_PACKET* packet_ptr, VOID* buffer_start,
                                              ULONG* bytes_copied);

/** Records an IP instance: a POP3 client needs one that was created. There
    is no IP stack; the host's sockets are used, whatever the address, the
    driver or the memory. Pass zeroed memory or an instance deleted before
    (see nx_packet_pool_create()).
    @param ip_ptr         The control block; it must stay in place until
                          deleted.
    @param name           Stored as given (not copied, never read).
    @param ip_address     Recorded (informational).
    @param network_mask   Recorded (informational).
    @param default_pool   A created pool; recorded, not used.
    @param ip_link_driver Recorded, never called; may be NULL.
    @param memory_ptr     Ignored; may be NULL.
    @param memory_size    Ignored.
    @param priority       Ignored (there is no IP thread).
    @retval NX_SUCCESS   Created, with TCP, ARP and ICMP not enabled.
    @retval NX_PTR_ERROR A NULL `ip_ptr`, a `default_pool` that is NULL or
                         not created, or an `ip_ptr` already created (and not
                         deleted), which is left as it was. */
POP3KIT_NETX_API UINT nx_ip_create(NX_IP* ip_ptr, CHAR* name, ULONG ip_address, ULONG network_mask,
                                   NX_PACKET_POOL* default_pool,
                                   VOID (*ip_link_driver)(NX_IP_DRIVER*), VOID* memory_ptr,
                                   ULONG memory_size, UINT priority);
/** Ends an IP instance. POP3 clients created with it keep working (the
    instance is checked only when a client is created).
    @param ip_ptr The instance.
    @retval NX_SUCCESS   Deleted; the control block may be created again.
    @retval NX_PTR_ERROR An `ip_ptr` not created (or deleted). */
POP3KIT_NETX_API UINT nx_ip_delete(NX_IP* ip_ptr);
/** Sets nx_ip_tcp_enabled; nothing else (the POP3 client does not need it).
    @param ip_ptr The instance.
    @retval NX_SUCCESS         Enabled.
    @retval NX_PTR_ERROR       An `ip_ptr` not created (or deleted).
    @retval NX_ALREADY_ENABLED The second time. */
POP3KIT_NETX_API UINT nx_tcp_enable(NX_IP* ip_ptr);
/** Sets nx_ip_arp_enabled; nothing else.
    @param ip_ptr           The instance.
    @param arp_cache_memory Ignored; may be NULL.
    @param arp_cache_size   Ignored.
    @retval NX_SUCCESS         Enabled.
    @retval NX_PTR_ERROR       An `ip_ptr` not created (or deleted).
    @retval NX_ALREADY_ENABLED The second time. */
POP3KIT_NETX_API UINT nx_arp_enable(NX_IP* ip_ptr, VOID* arp_cache_memory, ULONG arp_cache_size);
/** Sets nx_ip_icmp_enabled; nothing else.
    @param ip_ptr The instance.
    @retval NX_SUCCESS         Enabled.
    @retval NX_PTR_ERROR       An `ip_ptr` not created (or deleted).
    @retval NX_ALREADY_ENABLED The second time. */
POP3KIT_NETX_API UINT nx_icmp_enable(NX_IP* ip_ptr);

#ifdef __cplusplus
}
#endif

/** @} */

#endif /* POP3KIT_NETX_NX_API_H */
