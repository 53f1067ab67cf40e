// Durability contract (docs/STORAGE.md "Durability"): stop() writes everything,
// kill -9 loses at most the uncommitted batch and never corrupts, a full or
// failing disk raises the alarm, counts what cannot be written, and resumes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "storage/manifest/manifest.h"
#include "storage/query/query_engine.h"
#include "storage/seal/sealer.h"
#include "storage/shard/shard_name.h"
#include "storage/sqlite/sqlite.h"
#include "storage/store/flow_writer.h"
#include "storage/store/store_status.h"
#include "tests/storage/synthetic_flows.h"
#include "tests/storage/test_dir.h"

namespace conntrail::storage {
namespace {

using namespace std::chrono_literals;
constexpr TimestampNs kHour = 3600 * kNsPerSecond;

StoreOptions base_options(const std::filesystem::path& dir) {
  StoreOptions o;
  o.data_dir = dir;
  o.seal_in_background = false;
  o.batch_max_delay = 20ms;
  o.batch_max_records = 2000;
  o.retry_interval = 20ms;
  o.clock = [] { return 1'790'000'000LL * kNsPerSecond; };
  return o;
}

void expect_all_shards_intact(const std::filesystem::path& dir) {
  auto files = list_shard_files(dir);
  ASSERT_TRUE(files);
  for (const auto& f : *files) {
    auto db = sql::Db::open(f.path, sql::OpenMode::kReadWrite);
    ASSERT_TRUE(db) << f.path;
    auto check = db->query_text("PRAGMA integrity_check");
    ASSERT_TRUE(check) << check.error().message;
    EXPECT_EQ(*check, "ok") << f.path;
  }
}

std::uint64_t stored_flows(const std::filesystem::path& dir) {
  auto s = storage::status(dir);
  EXPECT_TRUE(s);
  return s ? s->flows_stored : 0;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// The child writes flows forever, reporting after each flush() how many are
// committed; the parent kills it with SIGKILL at an arbitrary moment.
TEST(DurabilityTest, KillNineLosesAtMostTheUncommittedBatchAndCorruptsNothing) {
  testing::TestDir dir;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto w = FlowWriter::start(base_options(dir.path()));
      if (!w) ::_exit(3);
      testing::SyntheticFlows gen(
          {.seed = 100u + static_cast<std::uint64_t>(round), .flows_per_second = 50000.0});
      std::uint64_t committed = 0;
      for (;;) {
        for (int i = 0; i < 5000; ++i) {
          while (!(*w)->try_push(gen.next())) std::this_thread::yield();
        }
        if (!(*w)->flush()) ::_exit(4);
        committed += 5000;
        if (::write(fds[1], &committed, sizeof committed) != sizeof committed) ::_exit(5);
      }
    }
    ::close(fds[1]);
    const std::uint64_t before = stored_flows(dir.path());
    std::uint64_t reported = 0, value = 0;
    // Let it commit a few batches, then kill it while it keeps writing.
    for (int i = 0; i < 3 + round * 2; ++i) {
      ASSERT_EQ(::read(fds[0], &value, sizeof value), static_cast<ssize_t>(sizeof value));
      reported = value;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(7 * round + 3));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Reports that raced with the kill still count as committed.
    while (::read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value))
      reported = value;
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early: " << WEXITSTATUS(wstatus);
    ::close(fds[0]);

    expect_all_shards_intact(dir.path());
    const std::uint64_t after = stored_flows(dir.path());
    EXPECT_GE(after - before, reported);                // everything flushed survived
    EXPECT_LE(after - before, reported + 5000 + 2000);  // at most the batch in flight
  }
  // And the crashed shards still seal.
  auto o = base_options(dir.path());
  auto sealed = seal_due_shards(o, 1'800'000'000LL * kNsPerSecond);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_FALSE(sealed->empty());
  expect_all_shards_intact(dir.path());
}

TEST(DurabilityTest, KillNineDuringSealingIsRecovered) {
  testing::TestDir dir;
  testing::SyntheticFlows gen({.seed = 77, .flows_per_second = 20.0});
  const auto o = base_options(dir.path());
  std::uint64_t total = 0;
  {
    auto w = FlowWriter::start(o);
    ASSERT_TRUE(w);
    const TimestampNs end = gen.now() + 6 * kHour;
    while (gen.now() < end) {
      auto f = gen.next();
      while (!(*w)->try_push(std::move(f))) std::this_thread::yield();
      ++total;
    }
    (*w)->stop();
  }
  const TimestampNs later = gen.now() + 2 * kHour;
  for (int delay_ms : {1, 15, 40}) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = seal_due_shards(o, later);
      ::_exit(r ? 0 : 1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  auto sealed = seal_due_shards(o, later);  // recovers, then seals the rest
  ASSERT_TRUE(sealed) << sealed.error().message;
  auto s = storage::status(dir.path());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->flows_stored, total);
  EXPECT_EQ(s->shards_open, 0u);
  expect_all_shards_intact(dir.path());
  Manifest manifest(dir.path());
  auto problems = manifest.verify_chain();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
  auto entries = manifest.read_all();
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), s->shards_sealed);  // exactly one seal entry per shard
}

TEST(DurabilityTest, InjectedDiskFullRaisesAlarmKeepsRecordsAndResumes) {
  testing::TestDir dir;
  auto o = base_options(dir.path());
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  testing::SyntheticFlows gen({.seed = 5, .flows_per_second = 100.0});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE((*w)->try_push(gen.next()));
  ASSERT_TRUE((*w)->flush());
  sql::inject_write_fault(ErrorCode::kNoSpace);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE((*w)->try_push(gen.next()));
  EXPECT_FALSE((*w)->flush());
  ASSERT_TRUE(wait_until([&] { return (*w)->stats().disk_alarm; }));
  auto st = (*w)->stats();
  EXPECT_EQ(st.rows_written, 1000u);
  EXPECT_EQ(st.retry_backlog, 3000u);
  EXPECT_EQ(st.rows_failed, 0u);
  EXPECT_NE(st.last_error.find("injected"), std::string::npos);
  sql::clear_write_fault();
  ASSERT_TRUE(wait_until([&] { return !(*w)->stats().disk_alarm; }));
  EXPECT_TRUE((*w)->flush());
  st = (*w)->stats();
  EXPECT_EQ(st.rows_written, 4000u);
  EXPECT_EQ(st.retry_backlog, 0u);
  (*w)->stop();
  EXPECT_EQ(stored_flows(dir.path()), 4000u);
}

TEST(DurabilityTest, RecordsBeyondTheRetryBufferAreCountedNotSilentlyDropped) {
  testing::TestDir dir;
  auto o = base_options(dir.path());
  o.retry_buffer_records = 500;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  testing::SyntheticFlows gen({.seed = 6});
  sql::inject_write_fault(ErrorCode::kIo);
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE((*w)->try_push(gen.next()));
  (*w)->flush();
  sql::clear_write_fault();
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.rows_written + st.rows_failed, 2000u);
  EXPECT_EQ(st.rows_failed, 1500u);
  EXPECT_EQ(stored_flows(dir.path()), st.rows_written);
}

// A real full filesystem: a 3 MiB tmpfs filled by a ballast file.
TEST(DurabilityTest, RealFullFilesystemNeverCorruptsAndResumesWhenSpaceReturns) {
  testing::TestDir dir;
  const auto mnt = dir.path() / "mnt";
  std::filesystem::create_directories(mnt);
  if (::geteuid() != 0 || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0) {
    GTEST_SKIP() << "needs root to mount a small tmpfs; the injected-fault tests cover the logic";
  }
  struct Unmount {
    std::filesystem::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const auto data = mnt / "data";
  auto o = base_options(data);
  o.retry_buffer_records = 1u << 22;
  auto w = FlowWriter::start(o);
  ASSERT_TRUE(w);
  testing::SyntheticFlows gen({.seed = 8, .flows_per_second = 50.0});
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE((*w)->try_push(gen.next()));
  ASSERT_TRUE((*w)->flush());
  // Fill the rest of the filesystem.
  const auto ballast = mnt / "ballast";
  {
    std::ofstream out(ballast, std::ios::binary);
    std::string chunk(64 * 1024, 'x');
    while (out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
    }
  }
  std::uint64_t pushed = 2000;
  // Push until the writer reports the disk full.
  for (int round = 0; round < 200 && !(*w)->stats().disk_alarm; ++round) {
    for (int i = 0; i < 5000; ++i) {
      ASSERT_TRUE((*w)->try_push(gen.next()));
      ++pushed;
    }
    (*w)->flush();
  }
  ASSERT_TRUE((*w)->stats().disk_alarm) << "the filesystem never filled";
  EXPECT_NE((*w)->stats().last_error.find("full"), std::string::npos) << (*w)->stats().last_error;
  expect_all_shards_intact(data);
  std::filesystem::remove(ballast);  // space returns
  ASSERT_TRUE(wait_until([&] { return !(*w)->stats().disk_alarm; }));
  EXPECT_TRUE((*w)->flush());
  (*w)->stop();
  const auto st = (*w)->stats();
  EXPECT_EQ(st.rows_failed, 0u);
  EXPECT_EQ(st.rows_written, pushed);
  EXPECT_EQ(stored_flows(data), pushed);
  expect_all_shards_intact(data);
}

}  // namespace
}  // namespace conntrail::storage
