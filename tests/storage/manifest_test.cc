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
