// STAT, LIST, UIDL, TOP and RETR against Dovecot, over a corpus of messages
// chosen to break framing: empty, dot lines, no final line end, LF-only,
// bare CR, 8-bit bytes, a 200 KB single line, 10 MB.
//
// What Dovecot (maildir) sends is the stored file with every LF not preceded
// by CR turned into CRLF, plus a CRLF when the file does not end with one
// (test::dovecot_retr_body). A file with CRLF line ends that ends in CRLF
// comes back byte-identical; RETR output is compared byte for byte.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common.hpp"

namespace pop3kit::interop {
namespace {

using test::dovecot_list_size;
using test::dovecot_retr_body;

struct Sample {
  const char* name;
  std::string bytes;
};

std::string long_line_message() {
  std::string m = "Subject: one long line\r\n\r\n";
  std::string line(200 * 1024, 'x');
  for (std::size_t i = 0; i < line.size(); i += 997)
    line[i] = '.';  // dots, never at a line start
  m += line;
  m += "\r\n.after the long line\r\n";
  return m;
}

std::string eight_bit_message() {
  std::string m = "Subject: bytes\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      if (c == '\r' || c == '\n' || c == '\0') continue;
      m += c;
    }
    m += "\r\n";
  }
  return m;
}

std::vector<Sample> corpus() {
  return {
      {"empty", ""},
      {"headers only", "Subject: headers only\r\n\r\n"},
      {"simple", "From: a@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"},
      {"dot lines",
       "Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.leading dot\r\n..two leading dots\r\n"
       "middle . dot\r\n. space after dot\r\nlast\r\n"},
      {"dot line last", "Subject: ends with a dot line\r\n\r\nbody\r\n.\r\n"},
      {"body starts with dot", "Subject: s\r\n\r\n.\r\n"},
      {"terminator lookalike", "Subject: t\r\n\r\nline\r\n.\r\n+OK fake\r\n.\r\nreal end\r\n"},
      {"no final line end", "Subject: n\r\n\r\nno final CRLF"},
      {"no final line end, dot", "Subject: n\r\n\r\n."},
      {"lf only", "Subject: lf\n\nline one\n.dot\n.\n..\nlast\n"},
      {"mixed line ends", "Subject: mixed\r\n\nbare\rcr\nand\r\ncrlf\r\n"},
      {"blank lines", "Subject: b\r\n\r\n\r\n\r\n\r\n"},
      {"8 bit", eight_bit_message()},
      {"200 KB line", long_line_message()},
  };
}

using MailboxTest = DovecotTest;

TEST_F(MailboxTest, StatListUidlMatchTheMaildrop) {
  const auto samples = corpus();
  std::uint64_t total = 0;
  for (const auto& s : samples) {
    server().add_message(kUser, s.bytes);
    total += dovecot_list_size(s.bytes);
  }
  auto c = login();
  ASSERT_TRUE(c);

  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, samples.size());
  EXPECT_EQ(st->size, total);

  auto all = c->list();
  ASSERT_TRUE(all.ok()) << describe(all.error());
  ASSERT_EQ(all->size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ((*all)[i].number, i + 1);
    EXPECT_EQ((*all)[i].size, dovecot_list_size(samples[i].bytes)) << samples[i].name;
    auto one = c->list(i + 1);
    ASSERT_TRUE(one.ok()) << describe(one.error());
    EXPECT_EQ(one->number, i + 1);
    EXPECT_EQ(one->size, (*all)[i].size) << samples[i].name;
  }

  auto uids = c->uidl();
  ASSERT_TRUE(uids.ok()) << describe(uids.error());
  ASSERT_EQ(uids->size(), samples.size());
  std::set<std::string> distinct;
  for (std::size_t i = 0; i < uids->size(); ++i) {
    const auto& u = (*uids)[i];
    EXPECT_EQ(u.number, i + 1);
    // pop3_uidl_format = %08Xu%08Xv: 16 hex digits (Dovecot writes them lower-case).
    EXPECT_EQ(u.uid.size(), 16u) << u.uid;
    EXPECT_EQ(u.uid.find_first_not_of("0123456789abcdefABCDEF"), std::string::npos) << u.uid;
    distinct.insert(u.uid);
    auto one = c->uidl(i + 1);
    ASSERT_TRUE(one.ok()) << describe(one.error());
    EXPECT_EQ(one->number, i + 1);
    EXPECT_EQ(one->uid, u.uid);
  }
  EXPECT_EQ(distinct.size(), samples.size());
  ASSERT_TRUE(c->quit().ok());

  // UIDs are stable across sessions.
  auto again = login();
  ASSERT_TRUE(again);
  auto uids2 = again->uidl();
  ASSERT_TRUE(uids2.ok()) << describe(uids2.error());
  ASSERT_EQ(uids2->size(), uids->size());
  for (std::size_t i = 0; i < uids->size(); ++i)
    EXPECT_EQ((*uids2)[i].uid, (*uids)[i].uid);
}

TEST_F(MailboxTest, RetrIsByteExact) {
  const auto samples = corpus();
  for (const auto& s : samples)
    server().add_message(kUser, s.bytes);
  auto c = login();
  ASSERT_TRUE(c);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(samples[i].name);
    Collect got;
    auto r = c->retrieve(i + 1, got.sink());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    const std::string want = dovecot_retr_body(samples[i].bytes);
    EXPECT_EQ(got.data.size(), want.size());
    EXPECT_TRUE(got.data == want) << first_difference(got.data, want);
    EXPECT_EQ(*r, got.data.size()) << "returned octet count";
  }
  // Messages written with CRLF and a final CRLF come back unchanged.
  EXPECT_EQ(dovecot_retr_body(samples[3].bytes), samples[3].bytes);
  EXPECT_TRUE(c->quit().ok());
}

TEST_F(MailboxTest, RetrIsByteExactWithSmallReceiveBuffer) {
  // A 1 KiB receive buffer: every long line, dot and CRLF crosses buffer
  // boundaries in real TCP reads.
  const auto samples = corpus();
  for (const auto& s : samples)
    server().add_message(kUser, s.bytes);
  ClientOptions options;
  options.security = Security::plain;
  options.limits.receive_buffer = 1024;
  auto c = connect(options);
  ASSERT_TRUE(c);
  auto l = c->login(kUser, kPassword);
  ASSERT_TRUE(l.ok()) << describe(l.error());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(samples[i].name);
    Collect got;
    auto r = c->retrieve(i + 1, got.sink());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    const std::string want = dovecot_retr_body(samples[i].bytes);
    EXPECT_TRUE(got.data == want) << first_difference(got.data, want);
    EXPECT_EQ(*r, want.size());
  }
  auto uids = c->uidl();
  ASSERT_TRUE(uids.ok()) << describe(uids.error());
  EXPECT_EQ(uids->size(), samples.size());
}

TEST_F(MailboxTest, RetrSameMessageTwice) {
  const std::string m = "Subject: twice\r\n\r\n.\r\n..\r\nend\r\n";
  server().add_message(kUser, m);
  auto c = login();
  ASSERT_TRUE(c);
  for (int round = 0; round < 2; ++round) {
    Collect got;
    auto r = c->retrieve(1, got.sink());
    ASSERT_TRUE(r.ok()) << describe(r.error());
    EXPECT_EQ(got.data, m);
  }
}

TEST_F(MailboxTest, TopZeroIsHeadersAndBlankLine) {
  const std::string headers = "From: a@example.org\r\nTo: b@example.org\r\nSubject: top\r\n";
  const std::string body = "first\r\n.second starts with a dot\r\nthird\r\n";
  server().add_message(kUser, headers + "\r\n" + body);
  server().add_message(kUser, "Subject: lf\n\nfirst\nsecond\n");
  auto c = login();
  ASSERT_TRUE(c);

  Collect zero;
  auto r0 = c->top(1, 0, zero.sink());
  ASSERT_TRUE(r0.ok()) << describe(r0.error());
  EXPECT_EQ(zero.data, headers + "\r\n");
  EXPECT_EQ(*r0, zero.data.size());

  Collect two;
  auto r2 = c->top(1, 2, two.sink());
  ASSERT_TRUE(r2.ok()) << describe(r2.error());
  EXPECT_EQ(two.data, headers + "\r\nfirst\r\n.second starts with a dot\r\n");

  Collect many;
  auto rm = c->top(1, 1000, many.sink());
  ASSERT_TRUE(rm.ok()) << describe(rm.error());
  EXPECT_EQ(many.data, headers + "\r\n" + body);

  Collect lf;
  auto rl = c->top(2, 0, lf.sink());
  ASSERT_TRUE(rl.ok()) << describe(rl.error());
  EXPECT_EQ(lf.data, "Subject: lf\r\n\r\n");
}

TEST_F(MailboxTest, NoSuchMessageIsServerErrorAndSessionGoesOn) {
  server().add_message(kUser, "Subject: one\r\n\r\nx\r\n");
  auto c = login();
  ASSERT_TRUE(c);
  Collect got;
  auto r = c->retrieve(2, got.sink());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::server_error)) << describe(r.error());
  EXPECT_TRUE(got.data.empty());
  auto l = c->list(7);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, make_error_code(errc::server_error)) << describe(l.error());
  auto u = c->uidl(7);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, make_error_code(errc::server_error)) << describe(u.error());
  ASSERT_TRUE(c->connected());
  auto ok = c->retrieve(1, got.sink());
  ASSERT_TRUE(ok.ok()) << describe(ok.error());
  EXPECT_EQ(got.data, "Subject: one\r\n\r\nx\r\n");
}

TEST_F(MailboxTest, SinkErrorStopsDeliveryAndSessionGoesOn) {
  const std::string big(300 * 1024, 'y');
  const std::string m = "Subject: big\r\n\r\n" + big + "\r\n";
  server().add_message(kUser, m);
  server().add_message(kUser, "Subject: small\r\n\r\nz\r\n");
  auto c = login();
  ASSERT_TRUE(c);
  std::size_t calls = 0;
  auto r = c->retrieve(1, [&](std::string_view) -> std::error_code {
    ++calls;
    return std::make_error_code(std::errc::no_space_on_device);
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::sink_failed)) << describe(r.error());
  EXPECT_EQ(calls, 1u) << "no chunk after the sink refused one";
  ASSERT_TRUE(c->connected());
  Collect got;
  auto r2 = c->retrieve(2, got.sink());
  ASSERT_TRUE(r2.ok()) << describe(r2.error());
  EXPECT_EQ(got.data, "Subject: small\r\n\r\nz\r\n");
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 2u);
}

TEST_F(MailboxTest, TenMegabytes) {
  // 10 MB of 76-column lines, some with leading dots, CRLF line ends.
  std::string m = "Subject: ten megabytes\r\n\r\n";
  m.reserve(10 * 1024 * 1024 + 200);
  std::uint64_t n = 0;
  while (m.size() < 10 * 1024 * 1024) {
    std::string line = std::to_string(n++);
    if (n % 7 == 0) line = "." + line;
    if (n % 101 == 0) line = ".";
    line.resize(76, 'm');
    m += line;
    m += "\r\n";
  }
  server().add_message(kUser, m);
  auto c = login();
  ASSERT_TRUE(c);
  auto l = c->list(1);
  ASSERT_TRUE(l.ok()) << describe(l.error());
  EXPECT_EQ(l->size, m.size());
  Collect got;
  auto r = c->retrieve(1, got.sink());
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(*r, m.size());
  EXPECT_TRUE(got.data == m) << first_difference(got.data, m);
  EXPECT_GT(got.chunks, 1u) << "a 10 MB body should arrive in several chunks";
}

}  // namespace
}  // namespace pop3kit::interop
