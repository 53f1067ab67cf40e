// storage/seal/sealer.h — the thread that seals closed shards, and the batch sealing entry point.
//
// The writer hands over a period once it has closed that shard for good
// (flow_writer.h "Closing rule"); the sealer seals it on its own thread so
// that sealing (CPU: sort + compress) never delays ingest. The same thread
// runs the retention sweep (retention.h) at start and every
// StoreOptions::sweep_interval. A failed seal
// (disk full, I/O error) is retried every kSealRetry; the open shard stays
// queryable meanwhile. stop() seals what is queued and returns.
#pragma once

#include <atomic>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"
#include "storage/manifest/manifest.h"
#include "storage/seal/seal_shard.h"
#include "storage/store/store_options.h"

namespace conntrail::storage {

SealOptions seal_options_from(const StoreOptions& options);

// Seals every open shard under data_dir whose period ended, plus active
// timeout and margin, at or before `now` (`conntrail shards seal`, seal_on_stop,
// start-up), then (StoreOptions::merge_sealed_days) merges every due day
// (merge_day.h). Runs recover_interrupted_seals and _merges first. The caller guarantees no
// writer still writes those periods. Returns the shards sealed.
struct MergeResult;
// `merged` (optional) receives the days merged.
Result<std::vector<SealResult>> seal_due_shards(const StoreOptions& options, TimestampNs now,
                                                std::vector<MergeResult>* merged = nullptr);

class Sealer {
 public:
  struct Stats {
    std::uint64_t sealed = 0;
    std::uint64_t failures = 0;
    std::uint64_t expired = 0;  // shards deleted by retention
    std::uint64_t sweep_failures = 0;
    std::uint64_t merged_days = 0;     // days merged into one sealed day shard (merge_day.h)
    std::uint64_t merge_failures = 0;  // merges refused or failed (the day stays hourly)
  };

  static Result<std::unique_ptr<Sealer>> start(const StoreOptions& options);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  void enqueue(ShardPeriod period);
  // Seals what is queued (one attempt each), then joins the thread.
  void stop();
  Stats stats() const;
  // SIGHUP: the retention the next sweeps use (1..120 months, validated by the caller).
  void set_retention_months(int months) noexcept { retention_months_.store(months); }

 private:
  explicit Sealer(const StoreOptions& options);
  void run();
  // Merges the days the seal of `sealed` finished; returns how many.
  std::size_t merge_after_seal(const ShardPeriod& sealed);

  const StoreOptions options_;
  std::atomic<int> retention_months_{options_.retention_months};
  Manifest manifest_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<ShardPeriod> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace conntrail::storage
