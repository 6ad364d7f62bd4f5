/* Uses the installed NetX Duo compatible C API from C: a packet pool is
   created and deleted. Exit status 0 means it worked. */
#include <stdio.h>

#include "nxd_pop3_client.h"

int main(void) {
  static UCHAR memory[4096];
  NX_PACKET_POOL pool;
  nx_system_initialize();
  if (nx_packet_pool_create(&pool, "pool", 512, memory, sizeof memory) != NX_SUCCESS) return 1;
  if (nx_packet_pool_delete(&pool) != NX_SUCCESS) return 2;
  puts("consumer_netx: ok");
  return 0;
}
