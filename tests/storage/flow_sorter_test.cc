// tests/storage/flow_sorter_test.cc — sealing in bounded memory gives the same shard.
#include "storage/seal/flow_sorter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "storage/hash/sha256.h"
#include "storage/manifest/manifest.h"
#include "storage/seal/seal_shard.h"
#include "storage/shard/shard_name.h"
#include "tests/storage/store_fixture.h"
#include "tests/storage/synthetic_flows.h"
#include "tests/storage/test_dir.h"

namespace conntrail::storage {
namespace {

using testing::TestDir;

// Records with many ties in the sort key (few subscribers, coarse times), each
// marked by its arrival position in `bytes_fwd`, so that order is observable.
std::vector<FlowRecord> tied_records(std::size_t n) {
  testing::SyntheticFlows gen({.seed = 11, .subscribers = 7, .servers = 50});
  auto flows = gen.take(n);
  for (std::size_t i = 0; i < flows.size(); ++i) {
    flows[i].first_ts = (flows[i].first_ts / (60 * kNsPerSecond)) * 60 * kNsPerSecond;
    flows[i].bytes_fwd = i;
  }
  return flows;
}

std::vector<std::uint64_t> drained_marks(FlowSorter& sorter) {
  std::vector<std::uint64_t> marks;
  auto r = sorter.drain([&](FlowRecord&& f) -> Result<void> {
    marks.push_back(f.bytes_fwd);
    return {};
  });
  EXPECT_TRUE(r) << r.error().message;
  return marks;
}

TEST(FlowSorterTest, SpilledRunsMergeToTheStableInMemoryOrder) {
  TestDir dir;
  const auto input = tied_records(5000);
  for (const bool by_address : {true, false}) {
    FlowSorter in_memory(SealOrder{by_address}, {.memory_rows = 1'000'000}, dir.path());
    FlowSorter spilling(SealOrder{by_address}, {.memory_rows = 333, .block_rows = 7}, dir.path());
    for (const auto& f : input) {
      ASSERT_TRUE(in_memory.add(FlowRecord(f)));
      ASSERT_TRUE(spilling.add(FlowRecord(f)));
    }
    EXPECT_EQ(in_memory.runs_spilled(), 0u);
    EXPECT_EQ(spilling.runs_spilled(), 5000u / 333u);
    const auto expected = drained_marks(in_memory);
    const auto got = drained_marks(spilling);
    EXPECT_EQ(spilling.runs_spilled(), 5000u / 333u + 1);  // the rest, at drain
    ASSERT_EQ(expected.size(), input.size());
    EXPECT_EQ(got, expected);
    // And it is really sorted, ties in arrival order.
    const SealOrder order{by_address};
    for (std::size_t i = 1; i < expected.size(); ++i) {
      const auto& a = input[expected[i - 1]];
      const auto& b = input[expected[i]];
      ASSERT_FALSE(order.less(b, a)) << i;
      if (!order.less(a, b)) {
        ASSERT_LT(expected[i - 1], expected[i]) << i;
      }
    }
  }
  // No spill file is left in the directory (it is anonymous).
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(FlowSorterTest, AnUnusableSpillDirectoryIsAClearErrorNotACrash) {
  TestDir dir;
  FlowSorter sorter(SealOrder{}, {.memory_rows = 10}, dir.path() / "missing");
  const auto input = tied_records(25);
  Result<void> r;
  for (const auto& f : input) {
    r = sorter.add(FlowRecord(f));
    if (!r) break;
  }
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("seal spill file"), std::string::npos) << r.error().message;
}

TEST(FlowSorterTest, SealingInBoundedMemoryWritesTheSameSealedFile) {
  testing::StoreFixture store;
  store.write(1.0, 3.0);  // one hour, ~10,800 flows
  const ShardPeriod period = period_of(store.start(), 3600);
  const auto copy = store.dir.path().parent_path() / (store.dir.path().filename().string() + "-b");
  std::filesystem::copy(store.dir.path(), copy,
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::overwrite_existing);

  SealOptions in_memory;
  SealOptions bounded;
  bounded.memory_rows = 1000;
  Manifest manifest_a(store.dir.path());
  Manifest manifest_b(copy);
  auto a = seal_shard(store.dir.path(), period, in_memory, manifest_a, store.clock.load());
  auto b = seal_shard(copy, period, bounded, manifest_b, store.clock.load());
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->runs_spilled, 0u);
  EXPECT_GE(b->runs_spilled, 10u);
  EXPECT_EQ(a->rows, store.flows.size());
  EXPECT_EQ(b->rows, store.flows.size());
  // Same records in the same blocks: the files are identical byte for byte.
  EXPECT_EQ(a->sha256, b->sha256);
  EXPECT_EQ(a->bytes, b->bytes);
  std::filesystem::remove_all(copy);
}

}  // namespace
}  // namespace conntrail::storage
