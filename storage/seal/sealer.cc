// storage/seal/sealer.cc — see sealer.h.
#include "storage/seal/sealer.h"

#include <chrono>

#include "storage/retention/retention.h"

namespace conntrail::storage {
namespace {
constexpr auto kSealRetry = std::chrono::seconds(30);
}  // namespace

SealOptions seal_options_from(const StoreOptions& options) {
  SealOptions s;
  s.zstd_level = options.sealed_zstd_level;
  return s;
}

Result<std::vector<SealResult>> seal_due_shards(const StoreOptions& options, TimestampNs now) {
  Manifest manifest(options.data_dir);
  if (auto r = recover_interrupted_seals(options.data_dir, manifest, now); !r) {
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
  return sealed;
}

Sealer::Sealer(const StoreOptions& options) : options_(options), manifest_(options.data_dir) {}

Result<std::unique_ptr<Sealer>> Sealer::start(const StoreOptions& options) {
  std::unique_ptr<Sealer> s(new Sealer(options));
  if (auto r = recover_interrupted_seals(options.data_dir, s->manifest_, options.now()); !r) {
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
    std::lock_guard lock(mu_);
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
