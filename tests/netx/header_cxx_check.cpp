// The NetX headers from C++: C linkage, no name mangling surprises, and the
// types usable in constant expressions.
#include "nxd_pop3_client.h"

#include <type_traits>

#include <gtest/gtest.h>

static_assert(NX_POP3_PARAM_ERROR == 0xB1);
static_assert(NX_POP3_INVALID_MAIL_ITEM == 0xB2);
static_assert(NX_POP3_APOP_FAILED_MD5_DIGEST == 0xB3);
static_assert(NX_POP3_SERVER_ERROR_STATUS == 0xB4);
static_assert(NX_POP3_MAIL_BUFFER_OVERFLOW == 0xB5);
static_assert(NX_POP3_INSUFFICIENT_PACKET_PAYLOAD == 0xB6);
static_assert(NX_POP3_CLIENT_INVALID_STATE == 0xB7);
static_assert(NX_POP3_CLIENT_INVALID_INDEX == 0xB8);
static_assert(NX_SUCCESS == 0x00 && NX_NO_PACKET == 0x01 && NX_PTR_ERROR == 0x07);
static_assert(NX_NOT_SUPPORTED == 0x4B && NX_NOT_CONNECTED == 0x38 && NX_WAIT_ABORTED == 0x1A);
static_assert(NX_POP3_MAX_USERNAME == 40 && NX_POP3_MAX_PASSWORD == 20);
static_assert(NX_IP_PERIODIC_RATE == 100);
static_assert(NX_POP3_CLIENT_PACKET_TIMEOUT == 100);
static_assert(NX_IP_VERSION_V4 == 4 && NX_IP_VERSION_V6 == 6);
static_assert(IP_ADDRESS(192, 168, 1, 2) == 0xC0A80102UL);
static_assert(NX_TRUE == 1 && NX_FALSE == 0);
static_assert(std::is_same_v<decltype(&nx_pop3_client_mail_item_message_get),
                             UINT (*)(NX_POP3_CLIENT*, NX_PACKET**, ULONG*, UINT*)>);
static_assert(std::is_same_v<decltype(&nxd_pop3_client_create),
                             UINT (*)(NX_POP3_CLIENT*, UINT, NX_IP*, NX_PACKET_POOL*, NXD_ADDRESS*,
                                      ULONG, CHAR*, CHAR*)>);
static_assert(std::is_same_v<decltype(&nx_pop3_client_create),
                             UINT (*)(NX_POP3_CLIENT*, UINT, NX_IP*, NX_PACKET_POOL*, ULONG, ULONG,
                                      CHAR*, CHAR*)>);

extern "C" UINT (*const netx_cxx_check_rset)(NX_POP3_CLIENT*) = nx_pop3_client_rset;

TEST(NetxHeaderCxx, LinksFromCxx) {
  EXPECT_EQ(nx_pop3_client_noop(nullptr), UINT{NX_PTR_ERROR});
  EXPECT_EQ(netx_cxx_check_rset(nullptr), UINT{NX_PTR_ERROR});
  NXD_ADDRESS a{};
  a.nxd_ip_address.v6[3] = 1;
  EXPECT_EQ(a.nxd_ip_address.v6[3], 1UL);
}
