/* A C99 program that uses the installed NetX Duo compatible API through
   find_package(pop3kit) and pop3kit::netx. Exit status 0 means it worked. */
#include "nxd_pop3_client.h"

#include <stddef.h>

int main(void) {
  static UCHAR memory[4096];
  NX_PACKET_POOL pool;
  NX_IP ip;
  NX_POP3_CLIENT client;
  NXD_ADDRESS address;
  NX_PACKET* packet = NX_NULL;
  ULONG total = 0;
  UINT items = 0;
  UINT status;

  nx_system_initialize();
  status = nx_packet_pool_create(&pool, "pool", 512, memory, sizeof memory);
  if (status != NX_SUCCESS) return 1;
  status = nx_ip_create(&ip, "ip", IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL, &pool, NX_NULL, NX_NULL,
                        0, 1);
  if (status != NX_SUCCESS) return 2;
  address.nxd_ip_version = NX_IP_VERSION_V6;
  address.nxd_ip_address.v6[0] = 0;
  address.nxd_ip_address.v6[1] = 0;
  address.nxd_ip_address.v6[2] = 0;
  address.nxd_ip_address.v6[3] = 1;
  /* Port 0 is refused before any connection attempt. */
  if (nxd_pop3_client_create(&client, NX_TRUE, &ip, &pool, &address, 0, "user", "password") !=
      NX_POP3_PARAM_ERROR)
    return 3;
  if (nx_pop3_client_mail_items_get(NX_NULL, &items, &total) != NX_PTR_ERROR) return 4;
  if (nx_pop3_client_mail_item_message_get(NX_NULL, &packet, &total, &items) != NX_PTR_ERROR)
    return 5;
  if (nx_pop3_client_delete(&client) != NX_SUCCESS) return 6;
  if (nx_packet_allocate(&pool, &packet, NX_RECEIVE_PACKET, NX_NO_WAIT) != NX_SUCCESS) return 7;
  if (nx_packet_release(packet) != NX_SUCCESS) return 8;
  if (NX_POP3_CLIENT_INVALID_INDEX != 0xB8 || NX_NOT_CONNECTED != 0x38) return 9;
  nx_ip_delete(&ip);
  nx_packet_pool_delete(&pool);
  return 0;
}
