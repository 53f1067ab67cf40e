// Tests for storage/journal: append, reopen, torn tails, bounded lines, and
// precise detection of changed, removed and reordered entries.
#include "storage/journal/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/hash/sha256.h"

namespace conntrail::storage {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("journal_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "audit.ndjson").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  JournalOptions opts() const {
    JournalOptions o;
    o.sync = false;
    return o;
  }

  void write_entries(int n) {
    auto j = Journal::open(path_, opts());
    ASSERT_TRUE(j.has_value()) << j.error().message;
    for (int i = 1; i <= n; ++i) {
      auto e = (*j)->append(1'700'000'000'000'000'000 + i, "test", {{"n", i}});
      ASSERT_TRUE(e.has_value()) << e.error().message;
    }
  }

  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  void write_lines(const std::vector<std::string>& ls, bool final_newline = true) const {
    std::ofstream out(path_, std::ios::trunc);
    for (std::size_t i = 0; i < ls.size(); ++i) {
      out << ls[i];
      if (i + 1 < ls.size() || final_newline) out << '\n';
    }
  }

  JournalVerifyReport verify() const {
    auto r = verify_journal(path_);
    EXPECT_TRUE(r.has_value());
    return r.value_or(JournalVerifyReport{});
  }

  fs::path dir_;
  std::string path_;
};

TEST(Sha256Test, MatchesKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.hex(), sha256_hex("abc"));
  h.update("d");  // still usable after digest()
  EXPECT_EQ(h.hex(), sha256_hex("abcd"));
}

TEST_F(JournalTest, AppendsChainedEntriesAndReopens) {
  write_entries(3);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 3u);
  auto e1 = parse_journal_line(ls[0]);
  auto e2 = parse_journal_line(ls[1]);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->seq, 1u);
  EXPECT_EQ(e1->prev, kGenesisHash);
  EXPECT_EQ(e2->prev, e1->hash);
  EXPECT_EQ(e2->fields["n"], 2);

  auto j = Journal::open(path_, opts());
  ASSERT_TRUE(j.has_value()) << j.error().message;
  EXPECT_EQ((*j)->last_seq(), 3u);
  auto e4 = (*j)->append(5, "more", nlohmann::json::object());
  ASSERT_TRUE(e4);
  EXPECT_EQ(e4->seq, 4u);
  EXPECT_EQ(verify().entries, 4u);
  EXPECT_TRUE(verify().ok());
}

TEST_F(JournalTest, ScanStartsAfterGivenSeqAndStops) {
  write_entries(5);
  auto j = Journal::open(path_, opts());
  ASSERT_TRUE(j);
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE((*j)->scan(2, [&](const JournalEntry& e) {
    seen.push_back(e.seq);
    return seen.size() < 2;
  }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{3, 4}));
}

TEST_F(JournalTest, ScanFindsEveryCursorAcrossIndexBlocks) {
  write_entries(150);  // the sparse index holds every 64th entry
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto j = Journal::open(path_, opts());
    ASSERT_TRUE(j);
    if (reopen == 1) {  // entries appended after open are indexed too
      for (int i = 151; i <= 200; ++i) ASSERT_TRUE((*j)->append(i, "test", {{"n", i}}));
    }
    const std::uint64_t last = (*j)->last_seq();
    for (std::uint64_t after :
         std::vector<std::uint64_t>{0, 1, 63, 64, 65, 127, 128, 149, 150, last - 1, last}) {
      std::vector<std::uint64_t> seen;
      ASSERT_TRUE((*j)->scan(after, [&](const JournalEntry& e) {
        seen.push_back(e.seq);
        return seen.size() < 3;
      }));
      std::vector<std::uint64_t> want;
      for (std::uint64_t s = after + 1; s <= last && want.size() < 3; ++s) want.push_back(s);
      EXPECT_EQ(seen, want) << "after " << after;
    }
  }
}

TEST_F(JournalTest, VerifyCanStopAtAGivenSize) {
  write_entries(3);
  const auto two = lines()[0].size() + lines()[1].size() + 2;
  auto r = verify_journal(path_, kDefaultMaxJournalLine, 10, two);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->entries, 2u);
  EXPECT_EQ(r->torn_tail_bytes, 0u);
}

TEST_F(JournalTest, DetectsChangedEntry) {
  write_entries(5);
  auto ls = lines();
  const auto pos = ls[2].find("\"n\":3");
  ASSERT_NE(pos, std::string::npos);
  ls[2].replace(pos, 5, "\"n\":9");
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kChanged);
  EXPECT_EQ(r.problems[0].seq, 3u);
  EXPECT_EQ(r.problems[0].line, 3u);
  auto j = Journal::open(path_, opts());
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, ErrorCode::kCorrupt);
}

TEST_F(JournalTest, DetectsChangedAndRehashedEntryByTheNextLink) {
  write_entries(5);
  auto ls = lines();
  // A forger edits entry 2 and recomputes its own hash; entry 3 still names the old one.
  auto e = parse_journal_line(ls[1]);
  ASSERT_TRUE(e);
  nlohmann::json body = {{"fields", {{"n", 42}}},
                         {"prev", e->prev},
                         {"seq", 2},
                         {"time", format_rfc3339(e->time, TimePrecision::kNano)},
                         {"type", e->type}};
  std::string b = body.dump();
  const std::string h = sha256_hex(b);
  b.pop_back();
  ls[1] = b + ",\"hash\":\"" + h + "\"}";
  ASSERT_TRUE(parse_journal_line(ls[1]));  // self-consistent on its own
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kChanged);
  EXPECT_EQ(r.problems[0].seq, 2u);
}

TEST_F(JournalTest, ChangedSequenceNumberIsOneChangeNotARemoval) {
  write_entries(5);
  auto ls = lines();
  const auto pos = ls[2].find("\"seq\":3");
  ASSERT_NE(pos, std::string::npos);
  ls[2].replace(pos, 7, "\"seq\":30");
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kChanged);
  EXPECT_EQ(r.problems[0].seq, 3u);
  EXPECT_NE(r.problems[0].detail.find("claims seq 30"), std::string::npos);
}

TEST_F(JournalTest, DetectsRemovedEntry) {
  write_entries(6);
  auto ls = lines();
  ls.erase(ls.begin() + 3);  // seq 4
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kRemoved);
  EXPECT_EQ(r.problems[0].seq, 4u);
  EXPECT_EQ(r.problems[0].count, 1u);
  EXPECT_EQ(r.problems[0].line, 4u);
}

TEST_F(JournalTest, DetectsRemovedFirstEntriesAsRange) {
  write_entries(5);
  auto ls = lines();
  ls.erase(ls.begin(), ls.begin() + 2);  // seq 1, 2
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kRemoved);
  EXPECT_EQ(r.problems[0].seq, 1u);
  EXPECT_EQ(r.problems[0].count, 2u);
}

TEST_F(JournalTest, DetectsReorderedEntries) {
  write_entries(6);
  auto ls = lines();
  std::swap(ls[2], ls[3]);  // seq 3 and 4
  write_lines(ls);
  auto r = verify();
  ASSERT_EQ(r.problems.size(), 1u) << describe(r);
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kReordered);
  EXPECT_EQ(r.problems[0].seq, 3u);
  EXPECT_EQ(r.problems[0].line, 4u);
}

TEST_F(JournalTest, DetectsDuplicatedEntry) {
  write_entries(4);
  auto ls = lines();
  ls.insert(ls.begin() + 2, ls[1]);
  write_lines(ls);
  auto r = verify();
  ASSERT_FALSE(r.ok());
  bool dup = false;
  for (const auto& p : r.problems)
    dup = dup || (p.kind == JournalProblemKind::kDuplicate && p.seq == 2);
  EXPECT_TRUE(dup) << describe(r);
}

TEST_F(JournalTest, MalformedLineIsNamed) {
  write_entries(3);
  auto ls = lines();
  ls[1] = "{\"garbage\": true}";
  write_lines(ls);
  auto r = verify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kMalformed);
  EXPECT_EQ(r.problems[0].line, 2u);
}

TEST_F(JournalTest, DropsTornLastLineOnOpen) {
  write_entries(3);
  auto ls = lines();
  ls.push_back(ls[2].substr(0, 40));  // a crash mid-write of entry 4
  write_lines(ls, /*final_newline=*/false);
  auto r = verify();
  EXPECT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.torn_tail_bytes, 40u);
  auto j = Journal::open(path_, opts());
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)->recovered_torn_bytes(), 40u);
  auto e = (*j)->append(9, "after_crash", nlohmann::json::object());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->seq, 4u);
  auto r2 = verify();
  EXPECT_TRUE(r2.ok()) << describe(r2);
  EXPECT_EQ(r2.torn_tail_bytes, 0u);
  EXPECT_EQ(r2.entries, 4u);
}

TEST_F(JournalTest, RefusesOversizedEntryAndStaysValid) {
  JournalOptions o = opts();
  o.max_line_bytes = 1024;
  auto j = Journal::open(path_, o);
  ASSERT_TRUE(j);
  auto big = (*j)->append(1, "big", {{"x", std::string(2000, 'a')}});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kLimit);
  ASSERT_TRUE((*j)->append(2, "small", {{"x", 1}}));
  auto r = verify_journal(path_, 1024);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->entries, 1u);
}

TEST_F(JournalTest, OverlongLineInFileIsReportedNotLoaded) {
  write_entries(2);
  auto ls = lines();
  ls.insert(ls.begin() + 1, std::string(200'000, 'x'));
  write_lines(ls);
  auto r = verify();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems[0].kind, JournalProblemKind::kTooLong);
  EXPECT_EQ(r.problems[0].line, 2u);
}

TEST_F(JournalTest, InvalidUtf8IsRecordedNotThrown) {
  auto j = Journal::open(path_, opts());
  ASSERT_TRUE(j);
  auto e = (*j)->append(1, "auth_failure", {{"path", std::string("/v1/\xff\xfe")}});
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_TRUE(verify().ok());
}

TEST(JournalLineTest, SurvivesMutatedLines) {
  nlohmann::json body = {{"fields", {{"id", "r-1"}, {"n", 1}}},
                         {"prev", std::string(kGenesisHash)},
                         {"seq", 1},
                         {"time", "2026-11-20T00:00:00.000000000Z"},
                         {"type", "t"}};
  std::string b = body.dump();
  const std::string h = sha256_hex(b);
  b.pop_back();
  const std::string line = b + ",\"hash\":\"" + h + "\"}";
  ASSERT_TRUE(parse_journal_line(line));
  std::uint64_t x = 88172645463325252ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string m = line;
    const std::size_t pos = next() % m.size();
    m[pos] = static_cast<char>(next() & 0xff);
    auto e = parse_journal_line(m);
    if (m != line) {
      EXPECT_FALSE(e) << m;  // any change to a line is caught
    }
  }
}

TEST_F(JournalTest, EmptyOrMissingFile) {
  auto r = verify_journal(path_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto j = Journal::open(path_, opts());
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)->last_seq(), 0u);
  EXPECT_EQ((*j)->head_hash(), kGenesisHash);
  EXPECT_TRUE(verify().ok());
}

}  // namespace
}  // namespace conntrail::storage
