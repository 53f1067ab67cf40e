#include "agent/runtime/deletion_relay.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "storage/manifest/manifest.h"

namespace conntrail::agent {
namespace {

class DeletionRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("relay-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void append(storage::ManifestKind kind, TimestampNs start, std::uint64_t rows) {
    storage::ManifestEntry e;
    e.kind = kind;
    e.time = start + 400LL * 86400 * kNsPerSecond;
    e.period = {start, 3600};
    e.file = "f" + std::to_string(start) + ".sqlite";
    e.rows = rows;
    e.reason = kind == storage::ManifestKind::kExpire ? "retention" : "";
    ASSERT_TRUE(storage::Manifest(dir_).append(e));
  }

  DeletionRelay relay() {
    return DeletionRelay(dir_, [this](const DataDeletion& d) -> Result<void> {
      if (fail_) return fail(ErrorCode::kIo, "journal unavailable");
      recorded_.push_back(d);
      return {};
    });
  }

  std::filesystem::path dir_;
  std::vector<DataDeletion> recorded_;
  bool fail_ = false;
};

TEST_F(DeletionRelayTest, RelaysEachExpireEntryOnceAndSkipsSeals) {
  append(storage::ManifestKind::kSeal, 0, 10);
  append(storage::ManifestKind::kExpire, 0, 10);
  auto r = relay();
  ASSERT_EQ(*r.relay_new(), 1u);
  ASSERT_EQ(recorded_.size(), 1u);
  EXPECT_EQ(recorded_[0].records, 10u);
  EXPECT_EQ(recorded_[0].to, 3600 * kNsPerSecond);
  EXPECT_EQ(recorded_[0].reason, "retention");
  EXPECT_NE(recorded_[0].what.find("manifest entry 2"), std::string::npos) << recorded_[0].what;

  EXPECT_EQ(*r.relay_new(), 0u);  // nothing new
  append(storage::ManifestKind::kExpire, 3600 * kNsPerSecond, 5);
  EXPECT_EQ(*relay().relay_new(), 1u);  // a new relay (restart) resumes at the cursor
  EXPECT_EQ(recorded_.size(), 2u);
}

TEST_F(DeletionRelayTest, AFailedJournalAppendIsRetriedNotSkipped) {
  append(storage::ManifestKind::kExpire, 0, 1);
  fail_ = true;
  auto r = relay();
  EXPECT_FALSE(r.relay_new());
  fail_ = false;
  EXPECT_EQ(*r.relay_new(), 1u);
  EXPECT_EQ(recorded_.size(), 1u);
}

TEST_F(DeletionRelayTest, AGarbledCursorIsAnErrorNotARestartFromZero) {
  append(storage::ManifestKind::kExpire, 0, 1);
  std::ofstream(dir_ / "audit-relay.seq") << "garbage";
  auto n = relay().relay_new();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kCorrupt);
  EXPECT_TRUE(recorded_.empty());
}

}  // namespace
}  // namespace conntrail::agent
