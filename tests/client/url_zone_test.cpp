// IPv6 zone IDs in POP URLs (RFC 6874): parsed and decoded for getaddrinfo,
// written back escaped, refused where RFC 6874 does not allow them, and
// reaching a link-local server when this host has a link-local address.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "pop3kit/client.hpp"
#include "pop3kit/transport.hpp"
#include "pop3kit/url.hpp"

namespace pop3kit {
namespace {

PopUrl ok(std::string_view text) {
  auto r = parse_pop_url(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : PopUrl{};
}

std::string refused(std::string_view text) {
  auto r = parse_pop_url(text);
  EXPECT_FALSE(r.ok()) << text << " was accepted as host " << (r.ok() ? r->host : "");
  return r.ok() ? std::string() : r.error().message;
}

TEST(UrlZoneId, ParsedAndDecoded) {
  PopUrl u = ok("pop3://[fe80::1%25eth0]");
  EXPECT_EQ(u.host, "fe80::1%eth0");
  EXPECT_EQ(u.port, 110);
  u = ok("pops://alice;auth=+APOP@[fe80::a:b%25en%2D0.1_~]:1995/");
  EXPECT_EQ(u.host, "fe80::a:b%en-0.1_~");
  EXPECT_EQ(u.port, 1995);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(ok("pop://[fe80::1%252]").host, "fe80::1%2");  // an interface index
  EXPECT_EQ(ok("pop://[ff02::1%25eth0]").host, "ff02::1%eth0");
  EXPECT_EQ(ok("pop://[fe80::1%25a%21b]").host, "fe80::1%a!b");
}

TEST(UrlZoneId, Refused) {
  // RFC 6874: the "%" itself is escaped.
  EXPECT_NE(refused("pop://[fe80::1%eth0]").find("%25"), std::string::npos);
  refused("pop://[fe80::1%2]");
  refused("pop://[fe80::1%25]");
  refused("pop://[fe80::1%25eth 0]");
  refused("pop://[fe80::1%25eth%0A]");
  refused("pop://[fe80::1%25eth%20]");
  refused("pop://[fe80::1%25eth%FF]");
  refused("pop://[fe80::1%25eth%00]");
  refused("pop://[fe80::1%25%zz]");
  refused("pop://[fe80::1%25%4]");
  refused("pop://[fe80::1%25eth/0]");
  refused("pop://[fe80::1%25eth:0]");
  refused("pop://[fe80::1%25eth0%]");
  refused("pop://[%25eth0]");
  refused("pop://[fe80::zz%25eth0]");
  // Only IPv6 literals carry a zone.
  EXPECT_NE(refused("pop://host%25eth0").find("IPv6"), std::string::npos);
  refused("pop://127.0.0.1%25lo");
  refused("pop://127.0.0.1%25lo:110");
}

TEST(UrlZoneId, PrintedEscapedAndReadBack) {
  for (const char* text :
       {"pop://[fe80::1%25eth0]", "pops://alice;AUTH=+APOP@[fe80::a:b%25en-0.1_~]:1995",
        "pop://[fe80::1%25a%21b]:1110", "pop://b%40ob@[::1]", "pop://mail.example.org:2110",
        "pops://x;AUTH=SCRAM-SHA-256@h"}) {
    SCOPED_TRACE(text);
    const PopUrl u = ok(text);
    EXPECT_EQ(format_pop_url(u), text);
    const PopUrl back = ok(format_pop_url(u));
    EXPECT_EQ(back.host, u.host);
    EXPECT_EQ(back.port, u.port);
    EXPECT_EQ(back.user, u.user);
    EXPECT_EQ(back.auth, u.auth);
    EXPECT_EQ(back.tls, u.tls);
  }
  EXPECT_EQ(format_host_port(ok("pop://[fe80::1%25eth0]")), "[fe80::1%25eth0]:110");
  EXPECT_EQ(format_host_port(ok("pop://[::1]:7")), "[::1]:7");
  EXPECT_EQ(format_host_port(ok("pop://h.example")), "h.example:110");
  // A host or zone that did not come from the parser is escaped, never
  // printed raw (no control characters reach a terminal).
  PopUrl evil;
  evil.host = "evil\x1b[31m";
  EXPECT_EQ(format_host_port(evil), "evil%1B%5B31m:110");
  evil.host = "fe80::1%e\nx";
  EXPECT_EQ(format_host_port(evil), "[fe80::1%25e%0Ax]:110");
}

// A link-local address of this host and its interface, or {} when it has
// none (then the connect tests are skipped).
struct LinkLocal {
  std::string address;
  std::string interface;
  unsigned index = 0;
};
LinkLocal find_link_local() {
  LinkLocal found;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return found;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET6) continue;
    if ((a->ifa_flags & IFF_UP) == 0) continue;
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
    if (!IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    found = {text, a->ifa_name, if_nametoindex(a->ifa_name)};
    break;
  }
  freeifaddrs(list);
  return found;
}

// Listens on the link-local address (scope set); serves one greeting.
class LinkLocalServer {
 public:
  explicit LinkLocalServer(const LinkLocal& ll) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    inet_pton(AF_INET6, ll.address.c_str(), &sa.sin6_addr);
    sa.sin6_scope_id = ll.index;
    socklen_t len = sizeof sa;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::listen(fd_, 4) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      return;
    }
    port_ = ntohs(sa.sin6_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      const char greeting[] = "+OK link-local\r\n";
      (void)!::send(c, greeting, sizeof greeting - 1, MSG_NOSIGNAL);
      char buf[256];
      while (::recv(c, buf, sizeof buf, 0) > 0) {
      }
      ::close(c);
    });
  }
  ~LinkLocalServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(UrlZoneId, ConnectsToALinkLocalServer) {
  const LinkLocal ll = find_link_local();
  if (ll.address.empty()) GTEST_SKIP() << "this host has no IPv6 link-local address";
  LinkLocalServer server(ll);
  ASSERT_NE(server.port(), 0) << "cannot listen on " << ll.address << "%" << ll.interface;
  const std::string url =
      "pop://[" + ll.address + "%25" + ll.interface + "]:" + std::to_string(server.port());
  const PopUrl u = ok(url);
  ASSERT_EQ(u.host, ll.address + "%" + ll.interface);
  ClientOptions options;
  options.security = Security::plain;
  options.connect_timeout = std::chrono::seconds(5);
  options.io_timeout = std::chrono::seconds(5);
  Client client(options);
  auto r = client.connect(u.host, u.port);
  ASSERT_TRUE(r.ok()) << url << ": " << r.error().message;
  EXPECT_EQ(client.greeting().text, "link-local");
  // By index too, and the peer is named with its zone.
  auto t = net::connect_tcp(ll.address + "%" + std::to_string(ll.index), server.port(),
                            std::chrono::seconds(5));
  (void)t;  // the server serves one connection; this one only has to connect
}

TEST(UrlZoneId, ErrorsNameTheZone) {
  const LinkLocal ll = find_link_local();
  if (ll.address.empty()) GTEST_SKIP() << "this host has no IPv6 link-local address";
  // Port 1 on our own address: refused at once, and the message says where.
  auto t = net::connect_tcp(ll.address + "%" + ll.interface, 1, std::chrono::seconds(5));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("%25" + ll.interface + "]:1"), std::string::npos)
      << t.error().message;
  // Without the zone the kernel cannot pick an interface.
  EXPECT_FALSE(net::connect_tcp(ll.address, 1, std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace pop3kit
