// storage/seal/sealer.cc — see sealer.h.
#include "storage/seal/sealer.h"

#include <chrono>

#include "storage/retention/retention.h"
#include "storage/seal/merge_day.h"

namespace conntrail::storage {
namespace {
constexpr auto kSealRetry = std::chrono::seconds(30);
}  // namespace

SealOptions seal_options_from(const StoreOptions& options) {
  SealOptions s;
  s.zstd_level = options.sealed_zstd_level;
  return s;
}

Result<std::vector<SealResult>> seal_due_shards(const StoreOptions& options, TimestampNs now,
                                                std::vector<MergeResult>* merged) {
  Manifest manifest(options.data_dir);
  if (auto r = recover_interrupted_seals(options.data_dir, manifest, now); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = recover_interrupted_merges(options.data_dir, manifest, now); !r) {
    return std::unexpected(r.error());
  }
  auto files = list_shard_files(options.data_dir);
  if (!files) return std::unexpected(files.error());
  std::vector<SealResult> sealed;
  for (const auto& f : *files) {
    if (f.form != ShardForm::kOpen) continue;
    if (seal_deadline(f.period, options.active_timeout, options.seal_margin) > now) continue;
    auto r = seal_shard(options.data_dir, f.period, seal_options_from(options), manifest, now);
    if (!r) return std::unexpected(r.error());
    sealed.push_back(std::move(*r));
  }
  if (options.merge_sealed_days) {
    auto days = merge_due_days(options, manifest, now);
    if (!days) return std::unexpected(days.error());
    if (merged != nullptr) *merged = std::move(*days);
  }
  return sealed;
}

Sealer::Sealer(const StoreOptions& options) : options_(options), manifest_(options.data_dir) {}

Result<std::unique_ptr<Sealer>> Sealer::start(const StoreOptions& options) {
  std::unique_ptr<Sealer> s(new Sealer(options));
  if (auto r = recover_interrupted_seals(options.data_dir, s->manifest_, options.now()); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = recover_interrupted_merges(options.data_dir, s->manifest_, options.now()); !r) {
    return std::unexpected(r.error());
  }
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

Sealer::~Sealer() { stop(); }

void Sealer::enqueue(ShardPeriod period) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(period);
  }
  wake_.notify_one();
}

void Sealer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Sealer::Stats Sealer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t Sealer::merge_after_seal(const ShardPeriod& sealed) {
  // The writer closes periods in time order, so once `sealed` is sealed its
  // day is finished if it was the day's last period, and the day before it is
  // finished in any case (its last period may have had no records at all).
  // merge_sealed_day itself refuses a day with an open shard or too early.
  const ShardPeriod day = period_of(sealed.start, kDaySeconds);
  std::vector<TimestampNs> days{day.start - kDaySeconds * kNsPerSecond};
  if (sealed.end() == day.end()) days.push_back(day.start);
  std::size_t merged = 0;
  for (const TimestampNs d : days) {
    const ShardPeriod p{d, kDaySeconds};
    if (seal_deadline(p, options_.active_timeout, options_.seal_margin) > options_.now()) continue;
    auto r = merge_sealed_day(options_.data_dir, d, seal_options_from(options_), manifest_,
                              options_.now());
    if (r) {
      ++merged;
    } else if (r.error().code != ErrorCode::kNotFound &&
               r.error().code != ErrorCode::kInvalidArgument) {
      // The hourly shards stay as they are (and queryable); the next seal retries.
      std::lock_guard lock(mu_);
      ++stats_.merge_failures;
    }
  }
  return merged;
}

void Sealer::run() {
  std::deque<ShardPeriod> retry;
  auto next_retry = std::chrono::steady_clock::now();
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_sweep) {
      next_sweep = std::chrono::steady_clock::now() + options_.sweep_interval;
      auto swept = sweep_expired(options_.data_dir, retention_months_.load(), options_.now());
      std::lock_guard lock(mu_);
      if (swept) {
        stats_.expired += swept->expired.size();
      } else {
        ++stats_.sweep_failures;
      }
    }
    ShardPeriod period;
    {
      std::unique_lock lock(mu_);
      const auto wake_at =
          std::min(next_sweep, retry.empty() ? next_sweep : next_retry + kSealRetry);
      wake_.wait_until(lock, wake_at, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && std::chrono::steady_clock::now() >= next_retry + kSealRetry &&
          !retry.empty()) {
        queue_.insert(queue_.end(), retry.begin(), retry.end());
        retry.clear();
      }
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      period = queue_.front();
      queue_.pop_front();
    }
    auto r = seal_shard(options_.data_dir, period, seal_options_from(options_), manifest_,
                        options_.now());
    const std::size_t merged = r && options_.merge_sealed_days ? merge_after_seal(period) : 0;
    std::lock_guard lock(mu_);
    stats_.merged_days += merged;
    if (r) {
      ++stats_.sealed;
    } else if (r.error().code != ErrorCode::kNotFound &&
               r.error().code != ErrorCode::kInvalidArgument) {
      // kNotFound / kInvalidArgument: no open shard, or already sealed: nothing to do.
      ++stats_.failures;
      if (!stopping_) retry.push_back(period);
      next_retry = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace conntrail::storage
