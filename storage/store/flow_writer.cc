// storage/store/flow_writer.cc — see flow_writer.h.
#include "storage/store/flow_writer.h"

#include "storage/retention/calendar.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "storage/codec/flow_block.h"
#include "storage/retention/calendar.h"
#include "storage/seal/sealer.h"
#include "storage/shard/open_shard.h"
#include "storage/shard/shard_name.h"

namespace conntrail::storage {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Shards the writer keeps open at once; an offline import of a long capture
// touches many periods, and each open shard costs a file descriptor and cache.
constexpr std::size_t kMaxOpenShards = 8;

}  // namespace

struct FlowWriter::Pending {
  std::vector<FlowRecord> flows;
  std::vector<SessionRecord> sessions;
  CaptureCounters counters;
  bool has_counters = false;
  std::size_t records() const noexcept { return flows.size() + sessions.size(); }
};

struct FlowWriter::ShardSlot {
  std::optional<OpenShard> shard;
  TimestampNs last_record_wall = 0;  // injected wall clock when a record last arrived
  std::int64_t last_use_ms = 0;
};

FlowWriter::FlowWriter(StoreOptions options)
    : options_(std::move(options)),
      period_seconds_(options_.shard_period.count()),
      encoder_(std::make_unique<codec::FlowBlockEncoder>(options_.open_zstd_level)) {}

Result<std::unique_ptr<FlowWriter>> FlowWriter::start(StoreOptions options) {
  if (auto r = options.validate(); !r) return std::unexpected(r.error());
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + options.data_dir.string() + ": " + ec.message());
  std::unique_ptr<FlowWriter> w(new FlowWriter(std::move(options)));
  w->queue_.reserve(std::min<std::size_t>(w->options_.queue_capacity, 65536));
  if (w->options_.seal_in_background) {
    auto sealer = Sealer::start(w->options_);
    if (!sealer) return std::unexpected(sealer.error());
    w->sealer_ = std::move(*sealer);
    // Open shards left by an earlier run whose time is up: closed for writing
    // from now on, and sealed in the background.
    auto files = list_shard_files(w->options_.data_dir);
    if (!files) return std::unexpected(files.error());
    const TimestampNs now = w->options_.now();
    for (const auto& f : *files) {
      if (f.form != ShardForm::kOpen) continue;
      if (seal_deadline(f.period, w->options_.active_timeout, w->options_.seal_margin) > now)
        continue;
      // (A shard of another period length, from before a configuration
      // change, is sealed too; this writer never writes such periods.)
      if (f.period.seconds == w->period_seconds_) w->closed_.insert(f.period.start);
      w->sealer_->enqueue(f.period);
    }
  }
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

FlowWriter::~FlowWriter() { stop(); }

bool FlowWriter::try_push(FlowRecord&& flow) {
  std::unique_lock lock(mu_);
  if (stopping_ || queued_records_ >= options_.queue_capacity) {
    lock.unlock();
    queue_rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queue_.emplace_back(std::move(flow));
  ++queued_records_;
  // Wake the writer only when a batch's worth is waiting; otherwise it wakes
  // on its own batch_max_delay timer (a notify per record costs a syscall).
  const bool wake = queued_records_ == options_.batch_max_records;
  lock.unlock();
  if (wake) wake_.notify_one();
  return true;
}

bool FlowWriter::try_push(SessionRecord&& session) {
  std::unique_lock lock(mu_);
  if (stopping_ || queued_records_ >= options_.queue_capacity) {
    lock.unlock();
    queue_rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queue_.emplace_back(std::move(session));
  ++queued_records_;
  return true;
}

void FlowWriter::add_counters(TimestampNs time, const CaptureCounters& counters) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  queue_.emplace_back(CounterItem{time, counters});
}

bool FlowWriter::flush() {
  std::unique_lock lock(mu_);
  if (writer_exited_) return retry_backlog_.load() == 0;
  const std::uint64_t ticket = ++flush_requested_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || writer_exited_; });
  return flush_done_ >= ticket ? flush_ok_ : retry_backlog_.load() == 0;
}

void FlowWriter::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (sealer_) sealer_->stop();
    if (options_.seal_on_stop) {
      auto sealed = seal_due_shards(options_, options_.now());
      if (sealed) {
        sealed_on_stop_ = sealed->size();
      } else {
        note_failure(sealed.error());
      }
    }
    std::lock_guard lock(mu_);
    flushed_.notify_all();
  });
}

WriterStats FlowWriter::stats() const {
  WriterStats s;
  s.rows_written = rows_written_.load();
  s.sessions_written = sessions_written_.load();
  s.rows_failed = rows_failed_.load();
  s.rows_late = rows_late_.load();
  s.rows_expired = rows_expired_.load();
  s.counters_moved = counters_moved_.load();
  s.counters_dropped = counters_dropped_.load();
  s.queue_rejected = queue_rejected_.load();
  s.batches_committed = batches_.load();
  s.commit_failures = commit_failures_.load();
  s.retry_backlog = retry_backlog_.load();
  s.disk_alarm = disk_alarm_.load();
  s.shards_sealed = sealed_on_stop_.load();
  if (sealer_) {
    const auto ss = sealer_->stats();
    s.shards_sealed += ss.sealed;
    s.seal_failures = ss.failures;
    s.shards_expired = ss.expired;
    s.days_merged = ss.merged_days;
    s.merge_failures = ss.merge_failures;
  }
  {
    std::lock_guard lock(mu_);
    s.queue_depth = queued_records_;
  }
  std::lock_guard lock(error_mu_);
  s.last_error = last_error_;
  return s;
}

void FlowWriter::note_failure(const Error& e) {
  disk_alarm_.store(true);
  std::lock_guard lock(error_mu_);
  last_error_ = e.message;
}

void FlowWriter::run() {
  std::vector<Item> items;
  items.reserve(queue_.capacity());
  std::int64_t batch_start_ms = steady_ms();
  for (;;) {
    bool stopping = false;
    std::uint64_t flush_ticket = 0;
    // The clock as the queue is drained: every record pushed before this
    // instant is in `items`. Shards are closed by this time, not by a later
    // reading — a producer that moved the clock on after pushing a record
    // for period P must not get P closed while that record still waits in
    // the queue (it would then be refused as late).
    TimestampNs drained_at = 0;
    {
      std::unique_lock lock(mu_);
      const auto deadline = SteadyClock::now() + options_.batch_max_delay / 4;
      wake_.wait_until(lock, deadline, [&] {
        return stopping_ || flush_requested_ > flush_done_ ||
               queued_records_ >= options_.batch_max_records;
      });
      drained_at = options_.now();
      items.swap(queue_);
      queued_records_ = 0;
      stopping = stopping_;
      flush_ticket = flush_requested_;
    }
    dispatch(items);
    items.clear();

    const std::int64_t now_ms = steady_ms();
    const bool due = pending_records_ >= options_.batch_max_records ||
                     now_ms - batch_start_ms >= options_.batch_max_delay.count() ||
                     flush_ticket > flush_done_ || stopping;
    if (due && !pending_.empty()) {
      const bool retry_ok =
          !disk_alarm_.load() || now_ms >= next_retry_ || stopping || flush_ticket > flush_done_;
      if (retry_ok) commit_all(stopping);
    }
    if (due) batch_start_ms = now_ms;
    close_due_shards(stopping, drained_at);

    if (flush_ticket > 0) {
      std::lock_guard lock(mu_);
      if (flush_ticket > flush_done_) {
        flush_done_ = flush_ticket;
        flush_ok_ = pending_.empty();
        flushed_.notify_all();
      }
    }
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;  // counters pushed during the final drain
    }
  }
  std::lock_guard lock(mu_);
  writer_exited_ = true;
  flushed_.notify_all();
}

void FlowWriter::set_retention_months(int months) noexcept {
  retention_months_.store(months);
  if (sealer_) sealer_->set_retention_months(months);
}

void FlowWriter::dispatch(std::vector<Item>& items) {
  for (auto& item : items) {
    TimestampNs t = 0;
    if (auto* f = std::get_if<FlowRecord>(&item)) {
      t = f->first_ts;
      data_clock_ = std::max(data_clock_, t);
    } else if (auto* s = std::get_if<SessionRecord>(&item)) {
      // A session is filed under its record time: its end once closed, else its start.
      t = s->is_open() ? s->start_ts : s->end_ts;
    } else {
      t = std::get<CounterItem>(item).time;
    }
    std::int64_t start = period_of(t, period_seconds_).start;
    const bool is_counter = std::holds_alternative<CounterItem>(item);
    const bool is_session = std::holds_alternative<SessionRecord>(item);
    // Older than the retention already (an import of an old capture): the
    // sweeper would delete the shard under the writer's feet, and the law
    // says the record must not be kept. Counted, never written.
    if (is_expired(ShardPeriod{start, period_seconds_}, options_.now(), retention_months_.load())) {
      if (is_counter) {
        counters_dropped_.fetch_add(1);
      } else {
        rows_expired_.fetch_add(1);
      }
      continue;
    }
    // A period this or an earlier writer sealed cannot take records any more.
    auto writable = [&](std::int64_t period_start) {
      if (closed_.count(period_start) != 0) return false;
      if (shards_.count(period_start) != 0 || pending_.count(period_start) != 0) return true;
      const ShardPeriod p{period_start, period_seconds_};
      if (std::filesystem::exists(shard_path(options_.data_dir, p, ShardForm::kSealed))) {
        return false;
      }
      // A day merged into one sealed day shard (merge_day.h) is finished too.
      const ShardPeriod day = period_of(period_start, kDaySeconds);
      return day == p ||
             !std::filesystem::exists(shard_path(options_.data_dir, day, ShardForm::kSealed));
    };
    if (!writable(start)) {
      // Sessions and counters often describe the past (a lease found expired,
      // a stats interval): file them in the current period instead. Session
      // lookups search session_lookaround around the instant, so they are found.
      const std::int64_t now_start = period_of(options_.now(), period_seconds_).start;
      if ((is_session || is_counter) && now_start != start && writable(now_start)) {
        start = now_start;
        if (is_counter) counters_moved_.fetch_add(1);
      } else {
        if (is_counter) {
          counters_dropped_.fetch_add(1);
        } else {
          rows_late_.fetch_add(1);
          rows_failed_.fetch_add(1);
        }
        continue;
      }
    }
    if (!is_counter && pending_records_ >= options_.retry_buffer_records) {
      rows_failed_.fetch_add(1);  // the disk has been failing for long: count, shed
      continue;
    }
    auto& slot = pending_[start];
    if (!slot) slot = std::make_unique<Pending>();
    if (auto* f = std::get_if<FlowRecord>(&item)) {
      slot->flows.push_back(std::move(*f));
      ++pending_records_;
    } else if (auto* s = std::get_if<SessionRecord>(&item)) {
      slot->sessions.push_back(std::move(*s));
      ++pending_records_;
    } else {
      slot->counters += std::get<CounterItem>(item).counters;
      slot->has_counters = true;
    }
  }
  retry_backlog_.store(disk_alarm_.load() ? pending_records_ : 0);
}

void FlowWriter::commit_all(bool final_attempt) {
  codec::FlowBlockEncoder& encoder = *encoder_;
  bool all_ok = true;
  const TimestampNs wall = options_.now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    const std::int64_t start = it->first;
    Pending& p = *it->second;
    auto& slot = shards_[start];
    if (!slot) slot = std::make_unique<ShardSlot>();
    Result<void> r;
    if (!slot->shard) {
      const ShardPeriod period{start, period_seconds_};
      auto opened =
          OpenShard::open(shard_path(options_.data_dir, period, ShardForm::kOpen), period);
      if (opened) {
        slot->shard.emplace(std::move(*opened));
      } else {
        r = std::unexpected(opened.error());
      }
    }
    if (r && slot->shard) {
      OpenShard& shard = *slot->shard;
      r = shard.begin();
      if (r && !p.flows.empty()) r = shard.append_flows(p.flows, encoder);
      for (std::size_t i = 0; r && i < p.sessions.size(); ++i) r = shard.add_session(p.sessions[i]);
      if (r && p.has_counters) r = shard.add_counters(p.counters);
      if (r) r = shard.commit();
      if (!r) shard.rollback();
    }
    if (!r) {
      all_ok = false;
      commit_failures_.fetch_add(1);
      note_failure(r.error());
      // Re-open next time: after an I/O error the connection's state is suspect.
      slot->shard.reset();
      if (final_attempt) {
        rows_failed_.fetch_add(p.records());
        pending_records_ -= p.records();
        it = pending_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    rows_written_.fetch_add(p.flows.size());
    sessions_written_.fetch_add(p.sessions.size());
    batches_.fetch_add(1);
    if (!p.flows.empty() || !p.sessions.empty()) slot->last_record_wall = wall;
    slot->last_use_ms = steady_ms();
    pending_records_ -= p.records();
    it = pending_.erase(it);
  }
  if (all_ok) {
    disk_alarm_.store(false);
  } else {
    next_retry_ = steady_ms() + options_.retry_interval.count();
  }
  retry_backlog_.store(all_ok ? 0 : pending_records_);
}

void FlowWriter::close_shard(std::int64_t start) {
  auto it = shards_.find(start);
  if (it == shards_.end()) return;
  if (it->second->shard) (void)it->second->shard->checkpoint();
  shards_.erase(it);
}

void FlowWriter::close_due_shards(bool stopping, TimestampNs wall) {
  const TimestampNs wait =
      (options_.active_timeout.count() + options_.seal_margin.count()) * kNsPerSecond;
  const TimestampNs idle =
      std::max<TimestampNs>(options_.active_timeout.count() * kNsPerSecond, kNsPerSecond);
  std::vector<std::int64_t> due;
  for (auto& [start, slot] : shards_) {
    if (pending_.count(start) != 0) continue;  // still has uncommitted records
    const TimestampNs deadline = ShardPeriod{start, period_seconds_}.end() + wait;
    const bool closed =
        wall >= deadline && (data_clock_ >= deadline || wall - slot->last_record_wall >= idle);
    if (closed) due.push_back(start);
  }
  for (auto start : due) {
    close_shard(start);
    closed_.insert(start);
    if (sealer_) sealer_->enqueue(ShardPeriod{start, period_seconds_});
  }
  // Bound the number of open connections (offline imports touch many periods).
  while (shards_.size() > kMaxOpenShards) {
    auto lru = std::min_element(shards_.begin(), shards_.end(), [](const auto& a, const auto& b) {
      return a.second->last_use_ms < b.second->last_use_ms;
    });
    if (pending_.count(lru->first) != 0) break;
    close_shard(lru->first);
  }
  if (stopping) {
    std::vector<std::int64_t> all;
    for (auto& [start, slot] : shards_) all.push_back(start);
    for (auto start : all) close_shard(start);
  }
}

}  // namespace conntrail::storage
