// DELE against Dovecot: only QUIT +OK removes a message (RFC 1939 §6). RSET,
// and a connection dropped without QUIT, keep it. Checked on the maildir.
#include <string>

#include <gtest/gtest.h>

#include "common.hpp"

namespace pop3kit::interop {
namespace {

class DeleteFixture : public DovecotTest {
 protected:
  void SetUp() override {
    DovecotTest::SetUp();
    if (HasFatalFailure()) return;
    server().add_message(kUser, "Subject: one\r\n\r\n1\r\n");
    server().add_message(kUser, "Subject: two\r\n\r\n2\r\n");
    server().add_message(kUser, "Subject: three\r\n\r\n3\r\n");
    ASSERT_EQ(server().message_files(kUser).size(), 3u);
  }

  // Subjects left on the server, in order, from a fresh session.
  std::string remaining() {
    auto c = login();
    if (!c) return "<login failed>";
    auto l = c->list();
    if (!l.ok()) return "<list failed: " + describe(l.error()) + ">";
    std::string out;
    for (const auto& m : *l) {
      Collect got;
      auto r = c->top(m.number, 0, got.sink());
      if (!r.ok()) return "<top failed: " + describe(r.error()) + ">";
      const auto pos = got.data.find("Subject: ");
      out += got.data.substr(pos + 9, got.data.find('\r', pos) - pos - 9);
      out += ' ';
    }
    EXPECT_TRUE(c->quit().ok());
    return out;
  }
};

TEST_F(DeleteFixture, DeleQuitRemovesTheFile) {
  auto c = login();
  ASSERT_TRUE(c);
  auto d = c->dele(2);
  ASSERT_TRUE(d.ok()) << describe(d.error());
  // Within the session the message is gone from STAT and LIST.
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 2u);
  auto l = c->list();
  ASSERT_TRUE(l.ok()) << describe(l.error());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].number, 1u);
  EXPECT_EQ((*l)[1].number, 3u);
  // ...and cannot be used again.
  Collect got;
  auto r = c->retrieve(2, got.sink());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(errc::server_error)) << describe(r.error());
  auto again = c->dele(2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, make_error_code(errc::server_error)) << describe(again.error());
  // Not yet removed on disk.
  EXPECT_EQ(server().message_files(kUser).size(), 3u);

  auto q = c->quit();
  ASSERT_TRUE(q.ok()) << describe(q.error());
  EXPECT_EQ(server().message_files(kUser).size(), 2u);
  EXPECT_EQ(remaining(), "one three ");
}

TEST_F(DeleteFixture, DeleAllThenQuitEmptiesTheMaildrop) {
  auto c = login();
  ASSERT_TRUE(c);
  for (std::uint64_t n = 1; n <= 3; ++n)
    ASSERT_TRUE(c->dele(n).ok()) << n;
  ASSERT_TRUE(c->quit().ok());
  EXPECT_TRUE(server().message_files(kUser).empty());
  EXPECT_EQ(remaining(), "");
}

TEST_F(DeleteFixture, DeleRsetQuitKeepsTheFile) {
  auto c = login();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->dele(1).ok());
  ASSERT_TRUE(c->dele(3).ok());
  auto r = c->rset();
  ASSERT_TRUE(r.ok()) << describe(r.error());
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 3u) << "RSET unmarks every message";
  Collect got;
  auto retr = c->retrieve(1, got.sink());
  ASSERT_TRUE(retr.ok()) << describe(retr.error());
  EXPECT_EQ(got.data, "Subject: one\r\n\r\n1\r\n");
  ASSERT_TRUE(c->quit().ok());
  EXPECT_EQ(server().message_files(kUser).size(), 3u);
  EXPECT_EQ(remaining(), "one two three ");
}

TEST_F(DeleteFixture, DeleThenDroppedConnectionKeepsTheFile) {
  auto c = login();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->dele(1).ok());
  ASSERT_TRUE(c->dele(2).ok());
  c->close();
  EXPECT_FALSE(c->connected());
  auto st = c->stat();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(errc::not_connected)) << describe(st.error());
  // Dovecot notices the closed socket; a new session sees every message.
  EXPECT_EQ(remaining(), "one two three ");
  EXPECT_EQ(server().message_files(kUser).size(), 3u);
}

TEST_F(DeleteFixture, DeleThenDestroyedClientKeepsTheFile) {
  {
    auto c = login();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->dele(3).ok());
  }  // destructor: no QUIT
  EXPECT_EQ(remaining(), "one two three ");
}

TEST_F(DeleteFixture, OtherUsersMaildropIsSeparate) {
  server().add_message(kUser2, "Subject: for bob\r\n\r\nb\r\n");
  auto c = login(kUser2, kPassword2);
  ASSERT_TRUE(c);
  auto st = c->stat();
  ASSERT_TRUE(st.ok()) << describe(st.error());
  EXPECT_EQ(st->count, 1u);
  ASSERT_TRUE(c->dele(1).ok());
  ASSERT_TRUE(c->quit().ok());
  EXPECT_TRUE(server().message_files(kUser2).empty());
  EXPECT_EQ(server().message_files(kUser).size(), 3u);
}

}  // namespace
}  // namespace pop3kit::interop
