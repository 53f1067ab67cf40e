#include "storage/manifest/manifest.h"

#include <gtest/gtest.h>

#include <fstream>

#include "storage/hash/sha256.h"
#include "storage/shard/open_shard.h"
#include "tests/storage/test_dir.h"

namespace conntrail::storage {
namespace {

ManifestEntry hold(const std::string& id) {
  ManifestEntry e;
  e.kind = ManifestKind::kHold;
  e.hold_id = id;
  e.hold_from = 1;
  e.hold_to = 2;
  e.reason = "r";
  return e;
}

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ManifestTest, ChainsEntriesAndDetectsGarbageAndTornLines) {
  testing::TestDir dir;
  Manifest m(dir.path());
  auto a = m.append(hold("a"));
  auto b = m.append(hold("b"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->seq, 1u);
  EXPECT_EQ(a->prev, std::string(64, '0'));
  EXPECT_EQ(b->prev, a->hash);
  EXPECT_EQ(b->hash, manifest_entry_hash(*b));
  EXPECT_TRUE(m.verify_chain()->empty());
  {
    std::ofstream out(m.path(), std::ios::app);
    out << "{\"seq\": 3, \"kind\": \"seal\"\n";  // torn / garbage line
  }
  auto problems = m.verify_chain();
  ASSERT_TRUE(problems);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].line, 3u);
  EXPECT_NE((*problems)[0].what.find("unreadable"), std::string::npos);
  EXPECT_FALSE(m.read_all());
  // Appending after a damaged tail is refused rather than chaining onto garbage.
  auto c = m.append(hold("c"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kCorrupt);
}

TEST(ManifestTest, SealEntriesWrittenBeforeMergedDaysStillVerify) {
  // A seal line as versions before merged days wrote it (no "reason"), hash
  // computed outside this code: a seal entry without a reason must keep its
  // canonical form, or every existing manifest would fail verification.
  testing::TestDir dir;
  Manifest m(dir.path());
  std::ofstream(m.path()) << R"({"seq":1,"kind":"seal","time":1788224400000000000,"period_start":1788220800000000000,"period_seconds":3600,"file":"2026/09/01/20260901T000000Z_PT1H.sealed.sqlite","sha256":"abababababababababababababababababababababababababababababababab","bytes":4096,"rows":7,"sessions":1,"counters":{"packets":40,"bytes":4000,"decode_errors":0,"kernel_drops":0,"interface_drops":0,"queue_drops":0,"flows_exported":7,"flows_evicted":0},"prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"bb5ec2d951a08358b7089088023923110644af0f64f4c93180c9a13ea7e83815"}
)";
  auto problems = m.verify_chain();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
  // The merge kinds round-trip and chain after it.
  ManifestEntry day;
  day.kind = ManifestKind::kSeal;
  day.period = {1788220800000000000, 86400};
  day.file = "2026/09/01/20260901T000000Z_PT24H.sealed.sqlite";
  day.sha256 = std::string(64, 'c');
  day.rows = 7;
  day.reason = "merged from 1 sealed shards: 20260901T000000Z_PT1H.sealed.sqlite";
  ManifestEntry merged;
  merged.kind = ManifestKind::kMerge;
  merged.period = {1788220800000000000, 3600};
  merged.file = "2026/09/01/20260901T000000Z_PT1H.sealed.sqlite";
  merged.sha256 = std::string(64, 'a');
  merged.rows = 7;
  merged.reason = "merged into " + day.file;
  ASSERT_TRUE(m.append(day));
  ASSERT_TRUE(m.append(merged));
  auto all = m.read_all();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].reason, day.reason);
  EXPECT_EQ((*all)[2].kind, ManifestKind::kMerge);
  EXPECT_EQ((*all)[2].sha256, merged.sha256);
  EXPECT_EQ((*all)[2].rows, 7u);
  EXPECT_EQ((*all)[2].reason, merged.reason);
  EXPECT_TRUE(m.verify_chain()->empty());
}

TEST(OpenShardTest, RefusesAFileOfAnotherPeriod) {
  testing::TestDir dir;
  const ShardPeriod p{0, 3600}, q{3600LL * kNsPerSecond, 3600};
  const auto path = dir.path() / "x.sqlite";
  ASSERT_TRUE(OpenShard::open(path, p));
  auto other = OpenShard::open(path, q);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kCorrupt);
  EXPECT_TRUE(OpenShard::open(path, p));  // reopening the right period works
}

}  // namespace
}  // namespace conntrail::storage
