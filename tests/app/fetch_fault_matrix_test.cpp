// The fault matrix of `pop3kit fetch --delete`: a whole session (greeting,
// CAPA, STLS, CAPA again, login, LIST+UIDL, RETRs, DELEs, QUIT) against the
// stateful model server, broken once at every single line the server
// writes:
//   - Cut: the connection closes after line N.
//   - Stall: the server goes silent after line N; the deadline must fire.
//   - Inject: an unsolicited "+OK" follows the response that ends at line N.
// After each broken run: the exit code is 75 or 76 with a message (0 only
// when the session was already complete), the Maildir holds only complete
// messages, each at most once, and nothing is reported deleted that the
// server did not commit. A run against the healthy server then delivers
// every message exactly once and leaves the maildrop empty.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_pop3kit.hpp"
#include "support/model_server.hpp"
#include "support/test_certs.hpp"

namespace fs = std::filesystem;
using pop3kit::test::ModelFault;
using pop3kit::test::ModelMessage;
using pop3kit::test::ModelOptions;
using pop3kit::test::ModelServer;
using pop3kit::test::run_pop3kit;
using pop3kit::test::RunOptions;
using pop3kit::test::RunResult;
using pop3kit::test::TestCerts;

namespace {

/// Three messages with the lines that need care: a dot-leading line (stuffed
/// on the wire), a "From " line, an empty line; the second is long enough
/// to be written in several pieces.
std::vector<ModelMessage> source_maildrop() {
  std::vector<ModelMessage> out;
  for (int i = 1; i <= 3; ++i) {
    std::string text = "From: a@example.net\r\nSubject: message " + std::to_string(i) +
                       "\r\nX-Marker: fault-" + std::to_string(i) + "\r\n\r\n.leading dot\r\n" +
                       "From the body\r\n\r\n";
    if (i == 2) {
      for (int k = 0; k < 6; ++k)
        text += std::string(70, static_cast<char>('a' + k)) + "\r\n";
    }
    text += "end of " + std::to_string(i) + "\r\n";
    out.push_back({"uid-" + std::to_string(i), std::move(text)});
  }
  return out;
}

std::string lf(const std::string& crlf) {
  std::string out;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\r' && i + 1 < crlf.size() && crlf[i + 1] == '\n') continue;
    out += crlf[i];
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FetchFaultMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "pop3kit-fault-matrix-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    const TestCerts& certs = TestCerts::get();
    ModelOptions o;
    o.cert_file = certs.cert("good");
    o.key_file = certs.key("good");
    server_ = std::make_unique<ModelServer>(source_maildrop(), o);
    for (const ModelMessage& m : source_maildrop())
      expected_[lf(m.text)] = m.uid;
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// A fresh maildrop, Maildir and state database for the next point.
  void fresh(std::size_t point) {
    server_->reset(source_maildrop());
    maildir_ = dir_ / ("Maildir-" + std::to_string(point));
    state_ = dir_ / ("state-" + std::to_string(point) + ".db");
  }

  RunResult fetch(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{
        "fetch",     "pop3://u@127.0.0.1:" + std::to_string(server_->port()),
        "--to",      "maildir:" + maildir_.string(),
        "--state",   state_.string(),
        "--ca-file", TestCerts::get().ca,
        "--delete",  "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions o;
    o.env["POP3KIT_PASSWORD"] = "p";
    o.timeout_seconds = 30;
    RunResult r = run_pop3kit(args, o);
    server_->wait_idle();
    return r;
  }

  /// The messages in new/ and cur/, by the source UID their text is. With
  /// `exact`, a file that is not byte for byte a source message (truncated,
  /// mixed) fails the test; without, messages are told apart by their
  /// X-Marker line (a server that answers out of step can make a message's
  /// text whatever it likes, but never make pop3kit store one twice).
  std::map<std::string, int> delivered(const std::string& where, bool exact = true) {
    std::map<std::string, int> count;
    for (const char* sub : {"new", "cur"}) {
      const fs::path d = maildir_ / sub;
      if (!fs::exists(d)) continue;
      for (const auto& e : fs::directory_iterator(d)) {
        const std::string text = slurp(e.path());
        if (!exact) {
          const std::size_t at = text.find("X-Marker: fault-");
          EXPECT_NE(at, std::string::npos) << where << ": " << e.path().filename();
          if (at != std::string::npos) ++count["uid-" + text.substr(at + 16, 1)];
          continue;
        }
        const auto it = expected_.find(text);
        EXPECT_NE(it, expected_.end())
            << where << ": " << e.path().filename() << " is not a complete message:\n"
            << text;
        if (it != expected_.end()) ++count[it->second];
      }
    }
    return count;
  }

  /// The checks after a broken run at `point`, then the healthy rerun.
  void check_point(const std::string& where, const RunResult& broken, std::size_t commits_before,
                   bool complete_session, bool exact = true, bool detect = true,
                   bool quit_refused = false) {
    const std::size_t committed_now = server_->commits() - commits_before;
    const std::size_t left = server_->maildrop().size();
    if (quit_refused) {
      // The server's refusal (69), or the session's own fault found first.
      EXPECT_TRUE(broken.exit_code == 69 || broken.exit_code == 75 || broken.exit_code == 76)
          << where << ": exit " << broken.exit_code << "\n"
          << broken.err;
    } else if (complete_session || !detect) {
      EXPECT_TRUE(broken.exit_code == 0 || broken.exit_code == 75 || broken.exit_code == 76)
          << where << ": exit " << broken.exit_code << "\n"
          << broken.err;
    } else {
      EXPECT_TRUE(broken.exit_code == 75 || broken.exit_code == 76)
          << where << ": exit " << broken.exit_code << "\n"
          << broken.err;
    }
    if (broken.exit_code != 0) {
      EXPECT_FALSE(broken.err.empty()) << where << ": no message for exit " << broken.exit_code;
    }
    // Nothing counts as deleted unless the server committed it.
    std::uint64_t reported = 0;
    try {
      const auto j = nlohmann::json::parse(broken.out);
      for (const auto& a : j.at("accounts"))
        reported += a.at("deleted").get<std::uint64_t>();
    } catch (const std::exception& e) {
      ADD_FAILURE() << where << ": --json output unreadable (" << e.what() << "):\n" << broken.out;
    }
    const std::size_t removed = source_maildrop().size() - left;
    if (committed_now == 0) {
      EXPECT_EQ(reported, 0u) << where << ": reported deletions the server did not commit";
      EXPECT_EQ(removed, 0u) << where;
    } else {
      EXPECT_LE(reported, removed) << where;
    }
    for (const auto& [uid, n] : delivered(where + " (broken run)", exact)) {
      EXPECT_EQ(n, 1) << where << ": " << uid << " delivered " << n << " times";
    }

    server_->set_quit_fails(false);
    const RunResult healthy = fetch();
    EXPECT_EQ(healthy.exit_code, 0) << where << " (rerun): " << healthy.err;
    const auto after = delivered(where + " (rerun)", exact);
    for (const ModelMessage& m : source_maildrop()) {
      const auto it = after.find(m.uid);
      EXPECT_TRUE(it != after.end() && it->second == 1)
          << where << " (rerun): " << m.uid << " delivered " << (it == after.end() ? 0 : it->second)
          << " times";
    }
    EXPECT_TRUE(server_->maildrop().empty()) << where << " (rerun): the maildrop is not empty";
  }

  /// A healthy session first: how many lines it takes, and where its
  /// responses end.
  void measure() {
    fresh(0);
    const RunResult r = fetch();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    lines_ = server_->last_lines();
    ends_ = server_->last_response_ends();
    ASSERT_GT(lines_, 20u) << "the session is shorter than a full fetch --delete";
    ASSERT_EQ(delivered("healthy").size(), 3u);
  }

  fs::path dir_, maildir_, state_;
  std::unique_ptr<ModelServer> server_;
  std::map<std::string, std::string> expected_;  // LF text -> UID
  std::size_t lines_ = 0;
  std::vector<ModelServer::ResponseEnd> ends_;
};

TEST_F(FetchFaultMatrix, CutAfterEveryLine) {
  measure();
  for (std::size_t n = 1; n <= lines_; ++n) {
    fresh(n);
    const std::size_t commits = server_->commits();
    server_->arm(ModelFault::cut, n);
    const RunResult r = fetch();
    check_point("cut after line " + std::to_string(n) + " of " + std::to_string(lines_), r, commits,
                n == lines_);
  }
}

TEST_F(FetchFaultMatrix, StallAfterEveryLine) {
  measure();
  for (std::size_t n = 1; n <= lines_; ++n) {
    fresh(n);
    const std::size_t commits = server_->commits();
    server_->arm(ModelFault::stall, n);
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = fetch({"--timeout", "1"});
    const auto took = std::chrono::steady_clock::now() - t0;
    const std::string where =
        "stall after line " + std::to_string(n) + " of " + std::to_string(lines_);
    // Generous: the point is that it ends, not how fast.
    EXPECT_LT(took, std::chrono::seconds(20)) << where;
    check_point(where, r, commits, n == lines_);
  }
}

// An unsolicited line is found when it arrives while pop3kit waits (exit
// 76). Where pop3kit had pipelined its next command, the line is read as the
// start of that command's answer, which no client can tell apart from the
// server's own words; there the run may succeed, but must still store no
// message twice and claim no deletion the server did not commit.
TEST_F(FetchFaultMatrix, UnsolicitedLineAfterEveryResponse) {
  measure();
  std::size_t waited = 0;
  for (const auto& end : ends_) {
    fresh(end.line);
    const std::size_t commits = server_->commits();
    server_->arm(ModelFault::inject, end.line);
    const RunResult r = fetch({"--timeout", "5"});
    if (!end.pipelined) ++waited;
    check_point("unsolicited line after line " + std::to_string(end.line) + " of " +
                    std::to_string(lines_) + (end.pipelined ? " (pipelined)" : ""),
                r, commits, end.line == lines_, !end.pipelined, !end.pipelined);
  }
  EXPECT_GE(waited, 8u) << "too few points where pop3kit waits for an answer";
}

// The case where a shifted answer would do harm: QUIT is refused (the
// server keeps every message), and an unsolicited +OK earlier in the session
// would, read as the answer to a later command, make that refusal look like
// success. Whatever the point, no deletion may be claimed.
TEST_F(FetchFaultMatrix, UnsolicitedLineNeverHidesARefusedQuit) {
  measure();
  for (const auto& end : ends_) {
    fresh(end.line);
    server_->set_quit_fails(true);
    const std::size_t commits = server_->commits();
    server_->arm(ModelFault::inject, end.line);
    const RunResult r = fetch({"--timeout", "5"});
    const std::string where = "QUIT refused, unsolicited line after line " +
                              std::to_string(end.line) + " of " + std::to_string(lines_) +
                              (end.pipelined ? " (pipelined)" : "");
    check_point(where, r, commits, false, !end.pipelined, !end.pipelined, true);
  }
}

}  // namespace
