/*
 * netx_demo — the NetX Duo POP3 client demo's flow on pop3kit's NetX API.
 *
 * Creates a client (APOP requested; USER/PASS when the server offers no
 * timestamp or refuses APOP), asks how many items there are, downloads each
 * item packet by packet, deletes it once its final packet arrived, then QUIT
 * and deletes the client. A NetX Duo program runs this in a ThreadX thread;
 * here main() is the thread.
 *
 *   netx_demo HOST PORT USER PASSWORD [OUTPUT_DIR]
 *
 * Missing arguments are taken from POP3KIT_NETX_HOST, POP3KIT_NETX_PORT,
 * POP3KIT_NETX_USER, POP3KIT_NETX_PASSWORD (defaults 127.0.0.1, 110). HOST is
 * an IPv4 or IPv6 address (IPv6 goes through nxd_pop3_client_create).
 * POP3KIT_NETX_APOP=0 asks for USER/PASS. With OUTPUT_DIR, item N is written
 * to OUTPUT_DIR/N.eml. Exit status 0 when every item was downloaded and
 * deleted and QUIT succeeded.
 */
#define _POSIX_C_SOURCE 200112L

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nxd_pop3_client.h"

#define DEMO_PACKET_PAYLOAD 1460
#define DEMO_POOL_SIZE (16 * (DEMO_PACKET_PAYLOAD + 128))

static UCHAR demo_pool_memory[DEMO_POOL_SIZE];
static NX_PACKET_POOL demo_pool;
static NX_IP demo_ip;
static NX_POP3_CLIENT demo_client;

static const char* setting(int argc, char** argv, int index, const char* env, const char* dflt) {
  const char* v = NX_NULL;
  if (argc > index) return argv[index];
  v = getenv(env);
  return (v != NX_NULL && *v != '\0') ? v : dflt;
}

/* Connects and logs in to host (IPv4 or IPv6 text) on port. */
static UINT demo_create(const char* host, ULONG port, CHAR* user, CHAR* password, UINT apop) {
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, host, &v4) == 1) {
    const unsigned char* b = (const unsigned char*)&v4.s_addr;
    return nx_pop3_client_create(&demo_client, apop, &demo_ip, &demo_pool,
                                 IP_ADDRESS(b[0], b[1], b[2], b[3]), port, user, password);
  }
  if (inet_pton(AF_INET6, host, &v6) == 1) {
    NXD_ADDRESS address;
    int i;
    address.nxd_ip_version = NX_IP_VERSION_V6;
    for (i = 0; i < 4; i++) {
      address.nxd_ip_address.v6[i] =
          ((ULONG)v6.s6_addr[4 * i] << 24) | ((ULONG)v6.s6_addr[4 * i + 1] << 16) |
          ((ULONG)v6.s6_addr[4 * i + 2] << 8) | (ULONG)v6.s6_addr[4 * i + 3];
    }
    return nxd_pop3_client_create(&demo_client, apop, &demo_ip, &demo_pool, &address, port, user,
                                  password);
  }
  fprintf(stderr, "netx_demo: %s is not an IPv4 or IPv6 address\n", host);
  return NX_POP3_PARAM_ERROR;
}

int main(int argc, char** argv) {
  const char* host = setting(argc, argv, 1, "POP3KIT_NETX_HOST", "127.0.0.1");
  const char* port_text = setting(argc, argv, 2, "POP3KIT_NETX_PORT", "110");
  const char* user = setting(argc, argv, 3, "POP3KIT_NETX_USER", "");
  const char* password = setting(argc, argv, 4, "POP3KIT_NETX_PASSWORD", "");
  const char* output_dir = argc > 5 ? argv[5] : NX_NULL;
  const char* apop_text = getenv("POP3KIT_NETX_APOP");
  UINT apop = (apop_text != NX_NULL && strcmp(apop_text, "0") == 0) ? NX_FALSE : NX_TRUE;
  char user_buffer[NX_POP3_MAX_USERNAME + 2];
  char password_buffer[NX_POP3_MAX_PASSWORD + 2];
  UINT status;
  UINT number_mail_items = 0;
  ULONG total_size = 0;
  UINT mail_item;
  int failures = 0;

  /* The API takes CHAR*, not const: copy (one byte over the limit is kept so
     that a name that is too long is reported, not truncated). */
  strncpy(user_buffer, user, sizeof user_buffer - 1);
  user_buffer[sizeof user_buffer - 1] = '\0';
  strncpy(password_buffer, password, sizeof password_buffer - 1);
  password_buffer[sizeof password_buffer - 1] = '\0';

  nx_system_initialize();
  status = nx_packet_pool_create(&demo_pool, "POP3 Client Packet Pool", DEMO_PACKET_PAYLOAD,
                                 demo_pool_memory, DEMO_POOL_SIZE);
  if (status != NX_SUCCESS) {
    fprintf(stderr, "netx_demo: packet pool create failed: 0x%02X\n", status);
    return 1;
  }
  status = nx_ip_create(&demo_ip, "POP3 Client IP", IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL,
                        &demo_pool, NX_NULL, NX_NULL, 0, 1);
  if (status == NX_SUCCESS) status = nx_arp_enable(&demo_ip, NX_NULL, 0);
  if (status == NX_SUCCESS) status = nx_tcp_enable(&demo_ip);
  if (status == NX_SUCCESS) status = nx_icmp_enable(&demo_ip);
  if (status != NX_SUCCESS) {
    fprintf(stderr, "netx_demo: IP set-up failed: 0x%02X\n", status);
    return 1;
  }

  /* Create the client: connects and logs in. */
  status = demo_create(host, strtoul(port_text, NX_NULL, 10), user_buffer, password_buffer, apop);
  if (status != NX_SUCCESS) {
    fprintf(stderr, "netx_demo: client create failed: 0x%02X\n", status);
    nx_pop3_client_delete(&demo_client);
    return 1;
  }
  printf("Logged in with %s\n", demo_client.nx_pop3_client_APOP_used ? "APOP" : "USER/PASS");

  /* Find out how many items are in our mailbox. */
  status = nx_pop3_client_mail_items_get(&demo_client, &number_mail_items, &total_size);
  if (status != NX_SUCCESS) {
    fprintf(stderr, "netx_demo: mail items get failed: 0x%02X\n", status);
    nx_pop3_client_delete(&demo_client);
    return 1;
  }
  printf("Got %u mail items, total size %lu\n", number_mail_items, total_size);

  /* Download all mail items. */
  for (mail_item = 1; mail_item <= number_mail_items; mail_item++) {
    ULONG mail_item_size = 0;
    ULONG item_bytes = 0;
    UINT final_packet = NX_FALSE;
    FILE* out = NX_NULL;

    /* This submits a RETR request and gets the mail message size. */
    status = nx_pop3_client_mail_item_get(&demo_client, mail_item, &mail_item_size);
    if (status != NX_SUCCESS) {
      fprintf(stderr, "netx_demo: item %u get failed: 0x%02X\n", mail_item, status);
      failures++;
      continue;
    }
    if (output_dir != NX_NULL) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%u.eml", output_dir, mail_item);
      out = fopen(path, "wb");
      if (out == NX_NULL) {
        fprintf(stderr, "netx_demo: cannot write %s\n", path);
        failures++;
      }
    }

    /* Get the mail message packet by packet until the final one. */
    while (final_packet == NX_FALSE) {
      NX_PACKET* packet_ptr = NX_NULL;
      ULONG bytes_retrieved = 0;
      status = nx_pop3_client_mail_item_message_get(&demo_client, &packet_ptr, &bytes_retrieved,
                                                    &final_packet);
      if (status != NX_SUCCESS) {
        fprintf(stderr, "netx_demo: item %u message get failed: 0x%02X\n", mail_item, status);
        failures++;
        break;
      }
      if (out != NX_NULL && bytes_retrieved != 0 &&
          fwrite(packet_ptr->nx_packet_prepend_ptr, 1, bytes_retrieved, out) != bytes_retrieved) {
        failures++;
      }
      item_bytes += bytes_retrieved;
      nx_packet_release(packet_ptr);

      /* The final packet: let the server know it can delete this item. */
      if (final_packet) {
        status = nx_pop3_client_mail_item_delete(&demo_client, mail_item);
        if (status != NX_SUCCESS) {
          fprintf(stderr, "netx_demo: item %u delete failed: 0x%02X\n", mail_item, status);
          failures++;
        }
      }
    }
    if (out != NX_NULL && fclose(out) != 0) failures++;
    printf("Item %u: %lu bytes (server said %lu)\n", mail_item, item_bytes, mail_item_size);
    if (status != NX_SUCCESS && status != NX_POP3_SERVER_ERROR_STATUS) break; /* connection lost */
  }

  /* Disconnect; the server now removes the deleted items. */
  status = nx_pop3_client_quit(&demo_client);
  if (status != NX_SUCCESS) {
    fprintf(stderr, "netx_demo: quit failed: 0x%02X\n", status);
    failures++;
  }
  nx_pop3_client_delete(&demo_client);
  nx_ip_delete(&demo_ip);
  nx_packet_pool_delete(&demo_pool);
  return failures == 0 ? 0 : 1;
}
