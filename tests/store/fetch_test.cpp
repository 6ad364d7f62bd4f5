// fetch_account() against a real Dovecot and, for faults Dovecot will not
// produce (a connection lost before QUIT's answer, no UIDL, EXPIRE 0,
// shared UIDs), the scripted server.
#include "pop3kit/fetch.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/dovecot.hpp"
#include "support/script_server.hpp"

namespace pop3kit::store {
namespace {

namespace fs = std::filesystem;
using test::ScriptServer;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "alice-secret";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a Maildir or mbox holds for a message the server sends as `wire`
// (CRLF line ends): the same with LF.
std::string as_stored(std::string wire) {
  std::string out;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\r' && i + 1 < wire.size() && wire[i + 1] == '\n') continue;
    out += wire[i];
  }
  return out;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = test::DovecotServer::start({{kUser, kPassword}}, &error_).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << error_;
    server_->clear_messages(kUser);
    dir_ = fs::temp_directory_path() /
           ("pop3kit-fetch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = StateStore::open((dir_ / "state.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    state_ = std::make_unique<StateStore>(std::move(*s));
    account_ = AccountId{"test", kUser, "127.0.0.1", server_->port()};
  }
  void TearDown() override {
    state_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Destination> maildir() {
    auto d = parse_destination("maildir:" + (dir_ / "Mail").string());
    EXPECT_TRUE(d.ok());
    EXPECT_TRUE((*d)->open().ok());
    return std::move(*d);
  }

  Client logged_in(std::uint16_t port) {
    ClientOptions o;
    o.security = Security::plain;
    Client c(o);
    auto r = c.connect("127.0.0.1", port);
    EXPECT_TRUE(r.ok()) << r.error().message;
    auto l = c.login(kUser, kPassword);
    EXPECT_TRUE(l.ok()) << l.error().message;
    return c;
  }

  FetchReport run(Destination& dest, FetchOptions options = {}) {
    auto lock = state_->lock(account_, std::chrono::seconds(1));
    EXPECT_TRUE(lock.ok());
    Client c = logged_in(server_->port());
    NoProgress progress;
    return fetch_account(c, FetchPlan{account_, options}, dest, *state_, progress);
  }

  // The delivered messages, in new/ and cur/, by content.
  std::multiset<std::string> delivered() const {
    std::multiset<std::string> out;
    for (const char* sub : {"new", "cur"})
      for (const auto& p : files_in(dir_ / "Mail" / sub))
        out.insert(read_file(p));
    return out;
  }

  inline static test::DovecotServer* server_ = nullptr;
  inline static std::string error_;
  fs::path dir_;
  std::unique_ptr<StateStore> state_;
  AccountId account_;
};

TEST_F(FetchTest, KeepThenASecondRunFetchesNothingThenOnlyNewMail) {
  const std::string a = "Subject: a\r\n\r\nfirst\r\n.leading dot\r\nFrom here\r\n";
  const std::string b = "Subject: b\r\n\r\nsecond\r\n";
  server_->add_message(kUser, a);
  server_->add_message(kUser, b);
  auto dest = maildir();
  FetchReport r = run(*dest);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(r.listed, 2U);
  EXPECT_EQ(r.fresh, 2U);
  EXPECT_EQ(r.delivered, 2U);
  EXPECT_EQ(r.deleted, 0U);
  EXPECT_TRUE(r.quit_ok);
  EXPECT_EQ(delivered(), (std::multiset<std::string>{as_stored(a), as_stored(b)}));
  // Maildir names carry the size of the file.
  for (const auto& p : files_in(dir_ / "Mail" / "new")) {
    const std::string name = p.filename().string();
    EXPECT_NE(name.find(",S=" + std::to_string(fs::file_size(p))), std::string::npos) << name;
  }
  EXPECT_EQ(server_->message_files(kUser).size(), 2U) << "--keep leaves the mail";

  r = run(*dest);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.listed, 2U);
  EXPECT_EQ(r.fresh, 0U);
  EXPECT_EQ(r.delivered, 0U);
  EXPECT_EQ(delivered().size(), 2U);

  const std::string c = "Subject: c\r\n\r\nthird\r\n";
  server_->add_message(kUser, c);
  r = run(*dest);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.fresh, 1U);
  EXPECT_EQ(r.delivered, 1U);
  EXPECT_EQ(delivered(), (std::multiset<std::string>{as_stored(a), as_stored(b), as_stored(c)}));
}

TEST_F(FetchTest, DeleteEmptiesTheMaildropAndRecordsDeletion) {
  for (int i = 0; i < 5; ++i)
    server_->add_message(kUser, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  auto dest = maildir();
  FetchOptions o;
  o.remove = true;
  FetchReport r = run(*dest, o);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.delivered, 5U);
  EXPECT_EQ(r.deleted, 5U);
  EXPECT_TRUE(server_->message_files(kUser).empty());
  EXPECT_EQ(delivered().size(), 5U);
  auto records = state_->records(account_);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 5U);
  for (const auto& rec : *records)
    EXPECT_EQ(rec.state, MessageState::deleted) << rec.uid;
}

TEST_F(FetchTest, MaxSizeLeavesBigMessagesAndSmallBatchesStillDeliverAll) {
  server_->add_message(kUser, "Subject: small\r\n\r\nx\r\n");
  server_->add_message(kUser, "Subject: big\r\n\r\n" + std::string(5000, 'y') + "\r\n");
  for (int i = 0; i < 7; ++i)
    server_->add_message(kUser, "Subject: s" + std::to_string(i) + "\r\n\r\nx\r\n");
  auto dest = maildir();
  FetchOptions o;
  o.max_size = 1000;
  o.batch_messages = 3;  // several batches in one pipelined retrieval
  FetchReport r = run(*dest, o);
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.too_big.size(), 1U);
  EXPECT_EQ(r.too_big[0].number, 2U);
  EXPECT_EQ(r.delivered, 8U);
  EXPECT_EQ(delivered().size(), 8U);
  // The big one is fetched once the limit allows it.
  r = run(*dest);
  EXPECT_EQ(r.delivered, 1U);
}

TEST_F(FetchTest, DryRunChangesNothing) {
  server_->add_message(kUser, "Subject: a\r\n\r\nx\r\n");
  auto dest = maildir();
  FetchOptions o;
  o.dry_run = true;
  o.remove = true;
  FetchReport r = run(*dest, o);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.would_fetch.size(), 1U);
  EXPECT_EQ(r.delivered, 0U);
  EXPECT_TRUE(delivered().empty());
  EXPECT_EQ(server_->message_files(kUser).size(), 1U);
  auto records = state_->records(account_);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST_F(FetchTest, AllFetchesAgain) {
  server_->add_message(kUser, "Subject: a\r\n\r\nx\r\n");
  auto dest = maildir();
  EXPECT_EQ(run(*dest).delivered, 1U);
  FetchOptions o;
  o.all = true;
  EXPECT_EQ(run(*dest, o).delivered, 1U);
  EXPECT_EQ(delivered().size(), 2U);
}

// A command's delivery is final when it exits, so each is recorded at once:
// the command itself sees how many deliveries the state holds before it.
TEST_F(FetchTest, EachMdaDeliveryIsRecordedBeforeTheNextStarts) {
  for (int i = 0; i < 3; ++i)
    server_->add_message(kUser, "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
  const fs::path counts = dir_ / "counts";
  auto d = parse_destination("mda:sqlite3 '" + (dir_ / "state.db").string() +
                             "' \"SELECT count(*) FROM messages WHERE state = 'delivered'\" >> '" +
                             counts.string() + "' && cat > /dev/null");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->open().ok());
  FetchReport r = run(**d);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.delivered, 3U);
  EXPECT_EQ(read_file(counts), "0\n1\n2\n");
}

// A scripted session: greeting, USER/PASS, CAPA after login when asked, then
// the given steps.
std::vector<ScriptServer::Step> logged_in_script(std::vector<ScriptServer::Step> rest) {
  std::vector<ScriptServer::Step> s = {
      ScriptServer::send("+OK ready\r\n"),     ScriptServer::expect("USER alice"),
      ScriptServer::send("+OK\r\n"),           ScriptServer::expect("PASS "),
      ScriptServer::send("+OK logged in\r\n"),
  };
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

TEST_F(FetchTest, QuitLostKeepsDeliveredAndTheNextRunDeletesWithoutFetching) {
  auto dest = maildir();
  const std::string body = "Subject: one\r\n\r\nhello\r\n";
  FetchOptions o;
  o.remove = true;
  {
    ScriptServer first(logged_in_script({
        ScriptServer::expect("LIST"),
        ScriptServer::send("+OK\r\n1 " + std::to_string(body.size()) + "\r\n.\r\n"),
        ScriptServer::expect("UIDL"), ScriptServer::send("+OK\r\n1 uid-one\r\n.\r\n"),
        ScriptServer::expect("RETR 1"), ScriptServer::send("+OK\r\n" + body + ".\r\n"),
        ScriptServer::expect("DELE 1"), ScriptServer::send("+OK\r\n"), ScriptServer::expect("QUIT"),
        ScriptServer::close(),  // no answer: nothing was removed
    }));
    auto lock = state_->lock(account_, std::chrono::seconds(1));
    Client c = logged_in(first.port());
    NoProgress progress;
    FetchReport r = fetch_account(c, FetchPlan{account_, o}, *dest, *state_, progress);
    EXPECT_EQ(first.problem(), "");
    EXPECT_EQ(r.delivered, 1U);
    EXPECT_EQ(r.deleted, 0U);
    EXPECT_FALSE(r.quit_ok);
    ASSERT_TRUE(r.error.has_value()) << "unconfirmed deletions are reported";
    EXPECT_NE(r.error->message.find("next run deletes"), std::string::npos) << r.error->message;
  }
  {
    ScriptServer second(logged_in_script({
        ScriptServer::expect("LIST"),
        ScriptServer::send("+OK\r\n1 " + std::to_string(body.size()) + "\r\n.\r\n"),
        ScriptServer::expect("UIDL"),
        ScriptServer::send("+OK\r\n1 uid-one\r\n.\r\n"),
        ScriptServer::expect("DELE 1"),  // not RETR: it was delivered already
        ScriptServer::send("+OK\r\n"),
        ScriptServer::expect("QUIT"),
        ScriptServer::send("+OK bye\r\n"),
        ScriptServer::close(),
    }));
    auto lock = state_->lock(account_, std::chrono::seconds(1));
    Client c = logged_in(second.port());
    NoProgress progress;
    FetchReport r = fetch_account(c, FetchPlan{account_, o}, *dest, *state_, progress);
    EXPECT_EQ(second.problem(), "");
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.delivered, 0U);
    EXPECT_EQ(r.deleted, 1U);
  }
  EXPECT_EQ(delivered(), (std::multiset<std::string>{as_stored(body)}));
}

TEST_F(FetchTest, NoUidlWarnsAndFetchesEverything) {
  auto dest = maildir();
  const std::string body = "Subject: x\r\n\r\ny\r\n";
  ScriptServer server(logged_in_script({
      ScriptServer::expect("LIST"),
      ScriptServer::send("+OK\r\n1 20\r\n2 20\r\n.\r\n"),
      ScriptServer::expect("UIDL"),
      ScriptServer::send("-ERR no UIDL here\r\n"),
      ScriptServer::serve_retr(2, body),
      ScriptServer::expect("QUIT"),
      ScriptServer::send("+OK\r\n"),
      ScriptServer::close(),
  }));
  auto lock = state_->lock(account_, std::chrono::seconds(1));
  Client c = logged_in(server.port());
  NoProgress progress;
  FetchReport r = fetch_account(c, FetchPlan{account_, {}}, *dest, *state_, progress);
  EXPECT_EQ(server.problem(), "");
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_FALSE(r.uidl);
  EXPECT_EQ(r.delivered, 2U);
  ASSERT_EQ(r.warnings.size(), 1U);
  EXPECT_NE(r.warnings[0].find("no UIDL"), std::string::npos);
}

TEST_F(FetchTest, SharedUidsAreBothDeliveredOnce) {
  auto dest = maildir();
  const std::string body = "Subject: same\r\n\r\ny\r\n";
  auto session = [&](bool expect_retr) {
    std::vector<ScriptServer::Step> steps = {
        ScriptServer::expect("LIST"),
        ScriptServer::send("+OK\r\n1 20\r\n2 20\r\n.\r\n"),
        ScriptServer::expect("UIDL"),
        ScriptServer::send("+OK\r\n1 dup\r\n2 dup\r\n.\r\n"),
    };
    if (expect_retr) steps.push_back(ScriptServer::serve_retr(2, body));
    steps.push_back(ScriptServer::expect("QUIT"));
    steps.push_back(ScriptServer::send("+OK\r\n"));
    steps.push_back(ScriptServer::close());
    return logged_in_script(steps);
  };
  for (const bool first : {true, false}) {
    ScriptServer server(session(first));
    auto lock = state_->lock(account_, std::chrono::seconds(1));
    Client c = logged_in(server.port());
    NoProgress progress;
    FetchReport r = fetch_account(c, FetchPlan{account_, {}}, *dest, *state_, progress);
    EXPECT_EQ(server.problem(), "");
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.delivered, first ? 2U : 0U);
  }
  EXPECT_EQ(delivered().size(), 2U);
}

TEST_F(FetchTest, ExpireZeroWithKeepWarns) {
  auto dest = maildir();
  ScriptServer server({
      ScriptServer::send("+OK ready\r\n"),
      ScriptServer::expect("CAPA"),
      ScriptServer::send("+OK\r\nUSER\r\nUIDL\r\nEXPIRE 0\r\n.\r\n"),
      ScriptServer::expect("USER alice"),
      ScriptServer::send("+OK\r\n"),
      ScriptServer::expect("PASS "),
      ScriptServer::send("+OK logged in\r\n"),
      // Without PIPELINING the client asks CAPA again after login.
      ScriptServer::expect("CAPA"),
      ScriptServer::send("+OK\r\nUSER\r\nUIDL\r\nEXPIRE 0\r\n.\r\n"),
      ScriptServer::expect("LIST"),
      ScriptServer::send("+OK\r\n.\r\n"),
      ScriptServer::expect("UIDL"),
      ScriptServer::send("+OK\r\n.\r\n"),
      ScriptServer::expect("QUIT"),
      ScriptServer::send("+OK\r\n"),
      ScriptServer::close(),
  });
  ClientOptions co;
  co.security = Security::plain;
  co.allow_plaintext_password = true;
  Client c(co);
  ASSERT_TRUE(c.connect("127.0.0.1", server.port()).ok());
  ASSERT_TRUE(c.capa().ok());
  ASSERT_TRUE(c.login(kUser, kPassword).ok());
  auto lock = state_->lock(account_, std::chrono::seconds(1));
  NoProgress progress;
  FetchReport r = fetch_account(c, FetchPlan{account_, {}}, *dest, *state_, progress);
  EXPECT_EQ(server.problem(), "");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.warnings.size(), 1U);
  EXPECT_NE(r.warnings[0].find("EXPIRE 0"), std::string::npos);
}

TEST_F(FetchTest, AnInterruptedDeliveryFoundInCurIsNotFetchedAgain) {
  server_->add_message(kUser, "Subject: a\r\n\r\nx\r\n");
  auto dest = maildir();
  // What a crash right after the message reached new/ leaves: the intent,
  // and the file, which a mail reader then moved to cur/ with flags.
  Client peek = logged_in(server_->port());
  auto listing = peek.list_with_uidl();
  ASSERT_TRUE(listing.ok());
  peek.close();
  const std::string uid = listing->at(0).uid;
  auto res = dest->reserve(uid);
  ASSERT_TRUE(res.ok());
  ASSERT_TRUE(state_->record_intents(account_, dest->spec(), std::vector<Reservation>{*res}).ok());
  ASSERT_TRUE(dest->begin(*res).ok());
  ASSERT_TRUE(dest->write("Subject: a\r\n\r\nx\r\n").ok());
  auto stored = dest->end();
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(dest->commit().ok());
  const auto in_new = files_in(dir_ / "Mail" / "new");
  ASSERT_EQ(in_new.size(), 1U);
  fs::rename(in_new[0], dir_ / "Mail" / "cur" / (in_new[0].filename().string() + ":2,S"));

  FetchReport r = run(*dest);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.recovered, 1U);
  EXPECT_EQ(r.delivered, 0U);
  EXPECT_EQ(delivered().size(), 1U);
  // The record says where the message is now and how big it is, as for a
  // delivery that was not interrupted.
  auto records = state_->records(account_);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1U);
  EXPECT_EQ(records->at(0).state, MessageState::delivered);
  EXPECT_EQ(records->at(0).location, "cur/" + in_new[0].filename().string() + ":2,S");
  EXPECT_EQ(records->at(0).size, stored->size);
}

}  // namespace
}  // namespace pop3kit::store
