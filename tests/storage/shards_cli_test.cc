// `conntrail query` and `conntrail shards`, run as the real binary against a real store,
// including every kind of tampering `shards verify` must report.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "storage/seal/sealer.h"
#include "storage/shard/shard_name.h"
#include "tests/storage/store_fixture.h"

namespace conntrail::storage {
namespace {

using testing::kHour;

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun run(const std::string& args) {
  const std::string cmd = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail " + args + " 2>&1";
  CliRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class ShardsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_.write(3.2, 20.0);
    dir_ = fx_.dir.path().string();
    // Seal the first three hours; the fourth stays open.
    const auto now = fx_.start() + 3 * kHour + 10 * 60 * kNsPerSecond;
    auto r = run("shards seal --data-dir " + dir_ + " --now " + std::to_string(now / kNsPerSecond));
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_NE(r.out.find("3 shards sealed"), std::string::npos) << r.out;
  }
  std::filesystem::path sealed(int hour) const {
    return shard_path(fx_.dir.path(), ShardPeriod{fx_.start() + hour * kHour, 3600},
                      ShardForm::kSealed);
  }
  std::string rel(int hour) const {
    return relative_shard_path(ShardPeriod{fx_.start() + hour * kHour, 3600}, ShardForm::kSealed);
  }
  CliRun verify() { return run("shards verify --data-dir " + dir_); }

  testing::StoreFixture fx_;
  std::string dir_;
};

TEST_F(ShardsCliTest, ListAndVerifyAnIntactStore) {
  auto list = run("shards list --data-dir " + dir_);
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("sealed,"), std::string::npos);
  EXPECT_NE(list.out.find("open,"), std::string::npos);
  auto v = verify();
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("OK: 3 manifest entries, 3 sealed and 1 open shards checked, 0 problems"),
            std::string::npos)
      << v.out;
}

TEST_F(ShardsCliTest, SummarizeAddsTheEntriesOfShardsSealedWithoutThem) {
  const auto summary = sealed(0).parent_path() / "summary.bin";
  ASSERT_TRUE(std::filesystem::exists(summary));  // written at sealing
  std::filesystem::remove(summary);               // as a store from before summaries
  auto r = run("shards summarize --data-dir " + dir_);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("3 shard summaries added"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(summary));
  r = run("shards summarize --data-dir " + dir_);
  EXPECT_NE(r.out.find("0 shard summaries added"), std::string::npos) << r.out;
  EXPECT_EQ(verify().code, 0);
}

TEST_F(ShardsCliTest, QueryPrintsCsvAndNdjsonAndTheCompleteness) {
  const auto& f = fx_.flows[fx_.flows.size() / 2];
  std::size_t expected = 0;
  const TimestampNs from = fx_.start(), to = fx_.start() + 4 * kHour;
  for (const auto& g : fx_.flows) expected += (g.src_ip == f.src_ip || g.dst_ip == f.src_ip);
  const std::string window = " --from " + std::to_string(from / kNsPerSecond) + " --to " +
                             std::to_string(to / kNsPerSecond);
  auto csv = run("query --data-dir " + dir_ + " --ip " + f.src_ip.to_string() + window);
  ASSERT_EQ(csv.code, 0) << csv.out;
  EXPECT_EQ(csv.out.rfind("proto,src_ip,src_port,dst_ip,dst_port", 0), 0u);
  std::istringstream lines(csv.out);
  std::string line;
  std::size_t rows = 0;
  while (std::getline(lines, line))
    rows += line.find(f.src_ip.to_string()) != std::string::npos && line[0] != 'n';
  EXPECT_EQ(rows, expected);
  EXPECT_NE(csv.out.find("shards read: 3 sealed, 1 open"), std::string::npos) << csv.out;
  auto nd = run("query --data-dir " + dir_ + " --ip " + f.src_ip.to_string() + " --port " +
                std::to_string(f.src_port) + " --format ndjson" + window);
  ASSERT_EQ(nd.code, 0) << nd.out;
  EXPECT_NE(nd.out.find("\"src_port\":" + std::to_string(f.src_port)), std::string::npos) << nd.out;
  auto bad = run("query --data-dir " + dir_ + " --ip 300.1.1.1" + window);
  EXPECT_EQ(bad.code, 2);
  auto none = run("query --data-dir " + dir_ + window);
  EXPECT_EQ(none.code, 2);
}

TEST_F(ShardsCliTest, VerifyReportsAModifiedShard) {
  ::chmod(sealed(1).c_str(), 0644);
  {
    std::fstream io(sealed(1), std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(std::filesystem::file_size(sealed(1)) / 2));
    io.put('\x5a');
  }
  auto v = verify();
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("FAIL " + rel(1) + ": modified: SHA-256"), std::string::npos) << v.out;
  EXPECT_EQ(v.out.find("FAIL " + rel(0)), std::string::npos) << v.out;
}

TEST_F(ShardsCliTest, VerifyReportsARemovedShard) {
  std::filesystem::remove(sealed(2));
  auto v = verify();
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.out.find("FAIL " + rel(2) + ": removed: sealed in manifest seq 3"), std::string::npos)
      << v.out;
}

TEST_F(ShardsCliTest, VerifyReportsReorderedShards) {
  const auto tmp = sealed(0).string() + ".swap";
  std::filesystem::rename(sealed(0), tmp);
  std::filesystem::rename(sealed(1), sealed(0));
  std::filesystem::rename(tmp, sealed(1));
  auto v = verify();
  EXPECT_EQ(v.code, 1);
  for (int h : {0, 1}) {
    EXPECT_NE(v.out.find("FAIL " + rel(h) + ": modified"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("FAIL " + rel(h) + ": holds period"), std::string::npos) << v.out;
  }
}

TEST_F(ShardsCliTest, VerifyReportsManifestTampering) {
  const auto manifest = fx_.dir.path() / "manifest.jsonl";
  std::vector<std::string> lines;
  {
    std::ifstream in(manifest);
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 3u);
  auto write = [&](const std::vector<std::string>& ls) {
    std::ofstream out(manifest, std::ios::trunc);
    for (const auto& l : ls) out << l << "\n";
  };
  // Changed: a smaller row count on line 2.
  auto changed = lines;
  const auto pos = changed[1].find("\"rows\":");
  ASSERT_NE(pos, std::string::npos);
  changed[1].replace(pos, 8, "\"rows\":1");
  write(changed);
  auto v = verify();
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.out.find("FAIL manifest line 2: entry seq 2 was modified"), std::string::npos)
      << v.out;
  // Reordered: lines 2 and 3 swapped.
  write({lines[0], lines[2], lines[1]});
  v = verify();
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.out.find("FAIL manifest line 2: seq 3 follows seq 1"), std::string::npos) << v.out;
  // Removed: line 2 dropped (its shard then shows as unrecorded).
  write({lines[0], lines[2]});
  v = verify();
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.out.find("FAIL manifest line 2: seq 3 follows seq 1"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("FAIL " + rel(1) + ": unrecorded"), std::string::npos) << v.out;
  write(lines);
  EXPECT_EQ(verify().code, 0);
}

TEST_F(ShardsCliTest, SealMergesAFinishedDayUnlessToldNotTo) {
  const TimestampNs day = period_of(fx_.start(), 86400).start;
  const std::string after = std::to_string((day + 2 * 24 * kHour) / kNsPerSecond);
  auto kept = run("shards seal --no-merge --data-dir " + dir_ + " --now " + after);
  ASSERT_EQ(kept.code, 0) << kept.out;
  EXPECT_NE(kept.out.find("1 shards sealed"), std::string::npos) << kept.out;
  EXPECT_EQ(kept.out.find("merged"), std::string::npos) << kept.out;
  EXPECT_TRUE(std::filesystem::exists(sealed(3)));
  auto merged = run("shards seal --data-dir " + dir_ + " --now " + after);
  ASSERT_EQ(merged.code, 0) << merged.out;
  const std::string day_file = period_stem(ShardPeriod{day, 86400}) + ".sealed.sqlite";
  EXPECT_NE(merged.out.find("merged 4 shards into " + day_file), std::string::npos) << merged.out;
  for (int h = 0; h < 4; ++h) EXPECT_FALSE(std::filesystem::exists(sealed(h))) << h;
  const auto v = verify();
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("1 sealed and 0 open shards checked"), std::string::npos) << v.out;
}

TEST_F(ShardsCliTest, ExpireAndHoldsThroughTheCli) {
  const auto far = fx_.start() + 400LL * 24 * kHour;  // 13 months later
  auto h = run("shards hold --data-dir " + dir_ + " --id case-1 --reason warrant --from " +
               std::to_string(fx_.start() / kNsPerSecond) + " --to " +
               std::to_string((fx_.start() + kHour) / kNsPerSecond));
  ASSERT_EQ(h.code, 0) << h.out;
  auto holds = run("shards holds --data-dir " + dir_);
  EXPECT_NE(holds.out.find("case-1,"), std::string::npos) << holds.out;
  auto e = run("shards expire --data-dir " + dir_ + " --now " + std::to_string(far / kNsPerSecond));
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("3 shards expired, 1 kept by holds"), std::string::npos) << e.out;
  EXPECT_TRUE(std::filesystem::exists(sealed(0)));
  EXPECT_FALSE(std::filesystem::exists(sealed(1)));
  EXPECT_EQ(verify().code, 0) << verify().out;  // expiry is recorded: not "removed"
  ASSERT_EQ(run("shards release --data-dir " + dir_ + " --id case-1 --reason done").code, 0);
  e = run("shards expire --data-dir " + dir_ + " --now " + std::to_string(far / kNsPerSecond));
  EXPECT_NE(e.out.find("1 shards expired, 0 kept by holds"), std::string::npos) << e.out;
  EXPECT_EQ(run("shards bogus --data-dir " + dir_).code, 2);
}

}  // namespace
}  // namespace conntrail::storage
