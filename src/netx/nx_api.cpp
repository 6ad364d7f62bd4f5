// NetX Duo stand-ins: packet pools carved from caller memory, and the IP
// instance calls a NetX program makes before it creates a POP3 client.
#include "nx_api.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "netx_internal.hpp"

namespace {

constexpr ULONG kPoolId = 0x504B504CUL;  // "PKPL"
constexpr ULONG kIpId = 0x504B4950UL;    // "PKIP"
constexpr std::size_t kAlign = alignof(std::max_align_t);

// n rounded up to a multiple of a; false when that does not fit.
bool round_up(std::size_t n, std::size_t a, std::size_t& out) {
  std::size_t sum = 0;
  if (__builtin_add_overflow(n, a - 1, &sum)) return false;
  out = sum / a * a;
  return true;
}

bool pool_ok(const NX_PACKET_POOL* pool) {
  return pool != nullptr && pool->nx_packet_pool_id == kPoolId;
}

// Absolute CLOCK_MONOTONIC deadline `ticks` from now.
timespec deadline_after(ULONG ticks) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  // A century is forever enough, and keeps tv_sec far from overflowing.
  constexpr std::uint64_t kCap = 100ULL * 366 * 24 * 3600 * 1000;
  const std::uint64_t ms = std::min(pop3kit::netx::ticks_to_ms(ticks), kCap);
  ts.tv_sec += static_cast<time_t>(ms / 1000);
  ts.tv_nsec += static_cast<long>((ms % 1000) * 1'000'000);
  if (ts.tv_nsec >= 1'000'000'000) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1'000'000'000;
  }
  return ts;
}

}  // namespace

namespace pop3kit::netx {

std::uint64_t ticks_to_ms(ULONG ticks) {
  // Divided first: ticks * 1000 overflows 64 bits for ticks above ~1.8e16.
  const auto t = static_cast<std::uint64_t>(ticks);
  const std::uint64_t whole = t / NX_IP_PERIODIC_RATE;
  const std::uint64_t rest = (t % NX_IP_PERIODIC_RATE) * 1000U / NX_IP_PERIODIC_RATE;
  std::uint64_t ms = 0;
  if (__builtin_mul_overflow(whole, 1000U, &ms) || __builtin_add_overflow(ms, rest, &ms)) {
    return UINT64_MAX;
  }
  return ms;
}

bool ip_created(const NX_IP* ip) {
  return ip != nullptr && ip->nx_ip_id == kIpId;
}
bool pool_created(const NX_PACKET_POOL* pool) {
  return pool_ok(pool);
}

}  // namespace pop3kit::netx

extern "C" {

VOID nx_system_initialize(VOID) {}

UINT nx_packet_pool_create(NX_PACKET_POOL* pool_ptr, CHAR* name, ULONG payload_size,
                           VOID* memory_ptr, ULONG memory_size) {
  if (pool_ptr == nullptr || memory_ptr == nullptr) return NX_PTR_ERROR;
  // NetX refuses to create an object twice; re-carving a live pool would
  // hand its packets out a second time.
  if (pool_ok(pool_ptr)) return NX_PTR_ERROR;
  if (payload_size == 0) return NX_SIZE_ERROR;
  auto* base = static_cast<unsigned char*>(memory_ptr);
  const auto addr = reinterpret_cast<std::uintptr_t>(base);
  // Every size below is checked: a wrapped sum would make a huge payload
  // look small and let packets run past the caller's memory. A memory area
  // that would end past the top of the address space is a size lie.
  std::uintptr_t end = 0;
  std::size_t aligned = 0;
  if (__builtin_add_overflow(addr, memory_size, &end) || !round_up(addr, kAlign, aligned)) {
    return NX_SIZE_ERROR;
  }
  const std::size_t skip = aligned - addr;
  if (memory_size <= skip) return NX_SIZE_ERROR;
  const std::size_t usable = memory_size - skip;
  // Header, payload, one spare byte for a NUL after the data; aligned.
  std::size_t header = 0;
  std::size_t raw = 0;
  std::size_t stride = 0;
  if (!round_up(sizeof(NX_PACKET), kAlign, header) ||
      __builtin_add_overflow(header, payload_size, &raw) ||
      __builtin_add_overflow(raw, std::size_t{1}, &raw) || !round_up(raw, kAlign, stride)) {
    return NX_SIZE_ERROR;
  }
  const std::size_t count = usable / stride;
  if (count == 0) return NX_SIZE_ERROR;

  std::memset(pool_ptr, 0, sizeof *pool_ptr);
  pool_ptr->nx_packet_pool_name = name;
  pool_ptr->nx_packet_pool_start = reinterpret_cast<CHAR*>(base + skip);
  pool_ptr->nx_packet_pool_size = static_cast<ULONG>(count * stride);
  pool_ptr->nx_packet_pool_payload_size = payload_size;
  pool_ptr->nx_packet_pool_total = static_cast<ULONG>(count);
  pool_ptr->nx_packet_pool_available = static_cast<ULONG>(count);
  NX_PACKET* head = nullptr;
  for (std::size_t i = count; i-- > 0;) {
    unsigned char* p = base + skip + i * stride;
    auto* packet = reinterpret_cast<NX_PACKET*>(p);
    std::memset(packet, 0, sizeof *packet);
    packet->nx_packet_pool_owner = pool_ptr;
    packet->nx_packet_data_start = p + header;
    packet->nx_packet_data_end = p + header + payload_size;
    packet->nx_packet_prepend_ptr = packet->nx_packet_data_start;
    packet->nx_packet_append_ptr = packet->nx_packet_data_start;
    packet->nx_packet_queue_next = head;
    head = packet;
  }
  pool_ptr->nx_packet_pool_available_list = head;

  pthread_mutex_init(&pool_ptr->nx_packet_pool_pop3kit_mutex, nullptr);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&pool_ptr->nx_packet_pool_pop3kit_cond, &attr);
  pthread_condattr_destroy(&attr);
  pool_ptr->nx_packet_pool_id = kPoolId;
  return NX_SUCCESS;
}

UINT nx_packet_pool_delete(NX_PACKET_POOL* pool_ptr) {
  if (!pool_ok(pool_ptr)) return NX_PTR_ERROR;
  pool_ptr->nx_packet_pool_id = 0;
  pthread_cond_destroy(&pool_ptr->nx_packet_pool_pop3kit_cond);
  pthread_mutex_destroy(&pool_ptr->nx_packet_pool_pop3kit_mutex);
  pool_ptr->nx_packet_pool_available_list = nullptr;
  pool_ptr->nx_packet_pool_available = 0;
  return NX_SUCCESS;
}

UINT nx_packet_allocate(NX_PACKET_POOL* pool_ptr, NX_PACKET** packet_ptr, ULONG packet_type,
                        ULONG wait_option) {
  if (!pool_ok(pool_ptr) || packet_ptr == nullptr) return NX_PTR_ERROR;
  *packet_ptr = nullptr;
  if (packet_type > pool_ptr->nx_packet_pool_payload_size) return NX_INVALID_PARAMETERS;
  pthread_mutex_t* mu = &pool_ptr->nx_packet_pool_pop3kit_mutex;
  pthread_mutex_lock(mu);
  if (pool_ptr->nx_packet_pool_available_list == nullptr) {
    pool_ptr->nx_packet_pool_empty_requests++;
    if (wait_option != NX_NO_WAIT) {
      pool_ptr->nx_packet_pool_empty_suspensions++;
      const timespec until = deadline_after(wait_option);
      while (pool_ptr->nx_packet_pool_available_list == nullptr) {
        int rc = 0;
        if (wait_option == NX_WAIT_FOREVER) {
          rc = pthread_cond_wait(&pool_ptr->nx_packet_pool_pop3kit_cond, mu);
        } else {
          rc = pthread_cond_timedwait(&pool_ptr->nx_packet_pool_pop3kit_cond, mu, &until);
        }
        if (rc != 0 && rc != EINTR) break;  // ETIMEDOUT
      }
    }
  }
  NX_PACKET* p = pool_ptr->nx_packet_pool_available_list;
  if (p == nullptr) {
    pthread_mutex_unlock(mu);
    return NX_NO_PACKET;
  }
  pool_ptr->nx_packet_pool_available_list = p->nx_packet_queue_next;
  pool_ptr->nx_packet_pool_available--;
  pthread_mutex_unlock(mu);

  p->nx_packet_queue_next = nullptr;
  p->nx_packet_next = nullptr;
  p->nx_packet_last = nullptr;
  p->nx_packet_prepend_ptr = p->nx_packet_data_start + packet_type;
  p->nx_packet_append_ptr = p->nx_packet_prepend_ptr;
  p->nx_packet_length = 0;
  p->nx_packet_pop3kit_allocated = NX_TRUE;
  *packet_ptr = p;
  return NX_SUCCESS;
}

UINT nx_packet_release(NX_PACKET* packet_ptr) {
  if (packet_ptr == nullptr) return NX_PTR_ERROR;
  // Check the whole chain before touching anything.
  for (NX_PACKET* p = packet_ptr; p != nullptr; p = p->nx_packet_next) {
    NX_PACKET_POOL* pool = p->nx_packet_pool_owner;
    if (!pool_ok(pool)) return NX_PTR_ERROR;
    if (p->nx_packet_pop3kit_allocated != NX_TRUE) {
      pthread_mutex_lock(&pool->nx_packet_pool_pop3kit_mutex);
      pool->nx_packet_pool_invalid_releases++;
      pthread_mutex_unlock(&pool->nx_packet_pool_pop3kit_mutex);
      return NX_PTR_ERROR;
    }
  }
  NX_PACKET* p = packet_ptr;
  while (p != nullptr) {
    NX_PACKET* next = p->nx_packet_next;
    NX_PACKET_POOL* pool = p->nx_packet_pool_owner;
    p->nx_packet_pop3kit_allocated = NX_FALSE;
    p->nx_packet_next = nullptr;
    p->nx_packet_last = nullptr;
    p->nx_packet_length = 0;
    p->nx_packet_prepend_ptr = p->nx_packet_data_start;
    p->nx_packet_append_ptr = p->nx_packet_data_start;
    pthread_mutex_lock(&pool->nx_packet_pool_pop3kit_mutex);
    p->nx_packet_queue_next = pool->nx_packet_pool_available_list;
    pool->nx_packet_pool_available_list = p;
    pool->nx_packet_pool_available++;
    pthread_cond_signal(&pool->nx_packet_pool_pop3kit_cond);
    pthread_mutex_unlock(&pool->nx_packet_pool_pop3kit_mutex);
    p = next;
  }
  return NX_SUCCESS;
}

UINT nx_packet_data_retrieve(NX_PACKET* packet_ptr, VOID* buffer_start, ULONG* bytes_copied) {
  if (packet_ptr == nullptr || buffer_start == nullptr || bytes_copied == nullptr) {
    return NX_PTR_ERROR;
  }
  // Sizes first (nothing copied from a damaged chain), then the copy.
  ULONG total = 0;
  for (const NX_PACKET* p = packet_ptr; p != nullptr; p = p->nx_packet_next) {
    if (p->nx_packet_append_ptr < p->nx_packet_prepend_ptr) return NX_INVALID_PACKET;
    const auto n = static_cast<ULONG>(p->nx_packet_append_ptr - p->nx_packet_prepend_ptr);
    if (__builtin_add_overflow(total, n, &total)) return NX_INVALID_PACKET;
  }
  auto* out = static_cast<unsigned char*>(buffer_start);
  std::size_t at = 0;
  for (const NX_PACKET* p = packet_ptr; p != nullptr; p = p->nx_packet_next) {
    const auto n = static_cast<std::size_t>(p->nx_packet_append_ptr - p->nx_packet_prepend_ptr);
    if (n != 0) std::memcpy(out + at, p->nx_packet_prepend_ptr, n);
    at += n;
  }
  *bytes_copied = total;
  return NX_SUCCESS;
}

UINT nx_ip_create(NX_IP* ip_ptr, CHAR* name, ULONG ip_address, ULONG network_mask,
                  NX_PACKET_POOL* default_pool, VOID (*ip_link_driver)(NX_IP_DRIVER*),
                  VOID* memory_ptr, ULONG memory_size, UINT priority) {
  NX_PARAMETER_NOT_USED(memory_ptr);
  NX_PARAMETER_NOT_USED(memory_size);
  NX_PARAMETER_NOT_USED(priority);
  if (ip_ptr == nullptr || !pool_ok(default_pool)) return NX_PTR_ERROR;
  if (pop3kit::netx::ip_created(ip_ptr)) return NX_PTR_ERROR;  // created twice
  std::memset(ip_ptr, 0, sizeof *ip_ptr);
  ip_ptr->nx_ip_name = name;
  ip_ptr->nx_ip_address = ip_address;
  ip_ptr->nx_ip_network_mask = network_mask;
  ip_ptr->nx_ip_default_packet_pool = default_pool;
  ip_ptr->nx_ip_link_driver_entry = ip_link_driver;
  ip_ptr->nx_ip_id = kIpId;
  return NX_SUCCESS;
}

UINT nx_ip_delete(NX_IP* ip_ptr) {
  if (!pop3kit::netx::ip_created(ip_ptr)) return NX_PTR_ERROR;
  ip_ptr->nx_ip_id = 0;
  return NX_SUCCESS;
}

UINT nx_tcp_enable(NX_IP* ip_ptr) {
  if (!pop3kit::netx::ip_created(ip_ptr)) return NX_PTR_ERROR;
  if (ip_ptr->nx_ip_tcp_enabled) return NX_ALREADY_ENABLED;
  ip_ptr->nx_ip_tcp_enabled = NX_TRUE;
  return NX_SUCCESS;
}

UINT nx_arp_enable(NX_IP* ip_ptr, VOID* arp_cache_memory, ULONG arp_cache_size) {
  NX_PARAMETER_NOT_USED(arp_cache_memory);
  NX_PARAMETER_NOT_USED(arp_cache_size);
  if (!pop3kit::netx::ip_created(ip_ptr)) return NX_PTR_ERROR;
  if (ip_ptr->nx_ip_arp_enabled) return NX_ALREADY_ENABLED;
  ip_ptr->nx_ip_arp_enabled = NX_TRUE;
  return NX_SUCCESS;
}

UINT nx_icmp_enable(NX_IP* ip_ptr) {
  if (!pop3kit::netx::ip_created(ip_ptr)) return NX_PTR_ERROR;
  if (ip_ptr->nx_ip_icmp_enabled) return NX_ALREADY_ENABLED;
  ip_ptr->nx_ip_icmp_enabled = NX_TRUE;
  return NX_SUCCESS;
}

}  // extern "C"
