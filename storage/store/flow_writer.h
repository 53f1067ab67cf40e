// storage/store/flow_writer.h — the store's single writer: bounded queue in, shards out.
//
// Threads: the producers (capture, attribution, offline ingest) call
// try_push()/add_counters(), which only take a short mutex and never wait
// for disk; one writer thread drains the queue, groups records by shard
// period and commits them in batches (batch_max_records or batch_max_delay,
// whichever first) to open shards; one sealer thread (seal_in_background)
// seals shards the writer has closed.
//
// Closing rule: the writer closes the shard of period P (and never writes it
// again) once both the wall clock and the newest first_ts it has seen passed
// P.end + active_timeout + seal_margin — or the wall clock passed it and no
// record for P arrived for one more active_timeout. The data clock keeps an
// offline import of an old capture from closing a shard it is still filling.
//
// Late input: a flow for a sealed period is counted (rows_late) and not
// written; a session or counter update for one is filed in the current
// period instead (its own times are kept; lookups search around them).
//
// Failure policy (docs/STORAGE.md "Durability"): a failed commit is rolled
// back, the disk alarm is raised, and the batch is kept in memory (up to
// retry_buffer_records) and retried every retry_interval; records beyond that
// bound, and records for a period already sealed, are counted in rows_failed.
// Nothing is written to a shard except by a whole committed batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/capture_counters.h"
#include "core/flow_record.h"
#include "core/result.h"
#include "core/session_record.h"
#include "storage/store/store_options.h"

namespace conntrail::storage {

struct WriterStats {
  std::uint64_t rows_written = 0;      // flow records committed
  std::uint64_t sessions_written = 0;  // session records committed
  std::uint64_t rows_failed = 0;       // flows + sessions that will never be written
  std::uint64_t rows_late = 0;         // of rows_failed: flows whose period was already sealed
  std::uint64_t rows_expired = 0;      // older than the retention on arrival: not kept, by law
  std::uint64_t counters_moved = 0;  // counter updates for a sealed period, kept in the current one
  std::uint64_t counters_dropped = 0;  // counter updates with no writable period (clock far behind)
  std::uint64_t queue_rejected = 0;    // try_push returned false (queue full or stopped)
  std::uint64_t batches_committed = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t shards_sealed = 0;
  std::uint64_t seal_failures = 0;
  std::uint64_t shards_expired = 0;  // deleted by the retention sweep
  std::uint64_t days_merged = 0;     // days merged into one sealed day shard (merge_day.h)
  std::uint64_t merge_failures = 0;  // merges refused or failed: the day stays as it was
  std::size_t queue_depth = 0;
  std::size_t retry_backlog = 0;  // records held in memory waiting for the disk
  bool disk_alarm = false;        // the last commit failed; cleared by the next success
  std::string last_error;         // message of the last failure (no record contents)
};

namespace codec {
class FlowBlockEncoder;
}
class Sealer;

class FlowWriter {
 public:
  // Validates options, creates data_dir, starts the writer (and sealer) thread.
  static Result<std::unique_ptr<FlowWriter>> start(StoreOptions options);
  ~FlowWriter();  // stop()s
  FlowWriter(const FlowWriter&) = delete;
  FlowWriter& operator=(const FlowWriter&) = delete;

  // Never blocks on disk. False when the queue is full or the writer stopped;
  // the caller counts that as a queue drop.
  bool try_push(FlowRecord&& flow);
  bool try_push(SessionRecord&& session);
  // Adds capture counters to the period holding `time` (kept with the shard,
  // reported as completeness). Never dropped: counters bypass the capacity
  // bound (they are few, one per stats interval).
  void add_counters(TimestampNs time, const CaptureCounters& counters);

  // Waits until everything pushed before the call is committed (or has
  // failed). True when nothing is waiting for the disk.
  bool flush();
  // Commits everything, closes the shards (and seals them when seal_on_stop),
  // stops the threads. Idempotent. try_push fails afterwards.
  void stop();

  WriterStats stats() const;
  // SIGHUP: a new retention for the records refused as expired and for the
  // sealer's sweeps, without a restart.
  void set_retention_months(int months) noexcept;
  const StoreOptions& options() const noexcept { return options_; }

 private:
  struct CounterItem {
    TimestampNs time;
    CaptureCounters counters;
  };
  using Item = std::variant<FlowRecord, SessionRecord, CounterItem>;
  struct Pending;
  struct ShardSlot;

  explicit FlowWriter(StoreOptions options);
  void run();
  void dispatch(std::vector<Item>& items);
  void commit_all(bool final_attempt);
  void close_due_shards(bool stopping, TimestampNs wall);
  void close_shard(std::int64_t start);
  void note_failure(const Error& e);

  const StoreOptions options_;
  std::atomic<int> retention_months_{options_.retention_months};
  const std::int64_t period_seconds_;

  // Producer side, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::vector<Item> queue_;
  std::size_t queued_records_ = 0;
  bool stopping_ = false;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_done_ = 0;
  bool flush_ok_ = true;
  bool writer_exited_ = false;  // set by the writer thread as it returns

  // Writer thread state (touched only by the writer thread).
  std::map<std::int64_t, std::unique_ptr<Pending>> pending_;
  std::map<std::int64_t, std::unique_ptr<ShardSlot>> shards_;
  std::size_t pending_records_ = 0;
  TimestampNs data_clock_ = 0;
  TimestampNs batch_started_ = 0;
  TimestampNs next_retry_ = 0;

  // Stats: atomics written by the writer, read by anyone.
  std::atomic<std::uint64_t> rows_written_{0}, sessions_written_{0}, rows_failed_{0}, rows_late_{0},
      queue_rejected_{0}, batches_{0}, commit_failures_{0}, counters_moved_{0},
      counters_dropped_{0}, rows_expired_{0};
  std::atomic<std::size_t> retry_backlog_{0};
  std::atomic<bool> disk_alarm_{false};
  mutable std::mutex error_mu_;
  std::string last_error_;

  std::unique_ptr<codec::FlowBlockEncoder> encoder_;
  std::set<std::int64_t> closed_;  // periods handed to sealing: late from now on
  std::unique_ptr<Sealer> sealer_;
  std::atomic<std::uint64_t> sealed_on_stop_{0};
  std::thread thread_;
  std::once_flag stop_once_;
};

}  // namespace conntrail::storage
