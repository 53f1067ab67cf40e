#include "agent/api/result_stream.h"

#include <algorithm>
#include <cstring>

namespace conntrail::agent {

nlohmann::json to_json(const QueryCompleteness& c) {
  nlohmann::json uncovered = nlohmann::json::array();
  for (const auto& r : c.uncovered) {
    uncovered.push_back({{"from", format_rfc3339(r.from, TimePrecision::kMicro)},
                         {"to", format_rfc3339(r.to, TimePrecision::kMicro)}});
  }
  return {{"complete", c.complete()},
          {"shards_searched", c.shards_searched},
          {"shards_unreadable", c.shards_unreadable},
          {"packets_dropped", c.packets_dropped},
          {"uncovered", uncovered}};
}

namespace {

// Flow rows formatted straight into the stream's block: no per-row copy.
ResultStream::Produce flow_rows(FlowQueryFn query, QuerySpec spec, FlowFormatter formatter) {
  return [query = std::move(query), spec = std::move(spec),
          formatter](ResultStream::RowSink& sink) -> Result<QueryCompleteness> {
    return query(spec, [&](const FlowRecord& flow) {
      formatter.append_row(flow, sink.out());
      return sink.end_row();
    });
  };
}

}  // namespace

ResultStream::ResultStream(Produce produce, std::string header, std::size_t buffer_limit,
                           OnDone on_done)
    : produce_(std::move(produce)),
      buffer_limit_(std::max(buffer_limit, kMinBufferLimit)),
      block_limit_(std::min(kMaxBlockBytes, buffer_limit_ / 8)),
      on_done_(std::move(on_done)) {
  if (!header.empty()) {
    queued_bytes_ = header.size();
    queue_.push_back(Block{std::move(header), {}});
  }
}

ResultStream::ResultStream(FlowQueryFn query, QuerySpec spec, OutputFormat format,
                           TimeFormat time_format, std::size_t buffer_limit, OnDone on_done)
    : ResultStream(flow_rows(std::move(query), std::move(spec), FlowFormatter(format, time_format)),
                   FlowFormatter(format, time_format).header(), buffer_limit,
                   std::move(on_done)) {}

ResultStream::~ResultStream() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
  }
  space_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (!done_called_) finish(false, "the client closed the stream before the end");
}

void ResultStream::set_resume(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  resume_ = std::move(resume);
  start_worker_locked();
}

void ResultStream::start_worker_locked() {
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] { run(); });
}

void ResultStream::hash_delivered(std::vector<Block>& blocks) {
  for (Block& b : blocks) {
    hash_.update(b.bytes);
    if (spare_.size() < 4) {
      b.bytes.clear();
      b.row_ends.clear();
      spare_.push_back(std::move(b));
    }
  }
  blocks.clear();
}

bool ResultStream::push(Block& block) {
  // Whenever the worker holds mu_ its `to_hash` is empty: blocks it took are
  // hashed before it looks at anything else (abandonment included), so the
  // ending side finds every unhashed delivered block in delivered_.
  std::vector<Block> to_hash;
  for (;;) {
    std::function<void()> wake;
    {
      std::unique_lock lock(mu_);
      if (abandoned_) return false;
      if (!delivered_.empty()) {
        to_hash.swap(delivered_);
      } else if (queue_.empty() || queued_bytes_ + block.bytes.size() <= buffer_limit_) {
        queued_bytes_ += block.bytes.size();
        queue_.push_back(std::move(block));
        if (want_resume_) {
          want_resume_ = false;
          wake = resume_;
        }
      } else {
        producer_waiting_ = true;
        space_.wait(lock, [&] {
          return abandoned_ || queue_.empty() ||
                 queued_bytes_ + block.bytes.size() <= buffer_limit_;
        });
        producer_waiting_ = false;
        continue;
      }
    }
    if (!to_hash.empty()) {
      hash_delivered(to_hash);  // outside the lock: the loop keeps reading meanwhile
      continue;
    }
    if (wake) wake();  // outside the lock: the server may call read() from it
    break;
  }
  if (!spare_.empty()) {
    block = std::move(spare_.back());
    spare_.pop_back();
  } else {
    block = Block{};
    block.bytes.reserve(block_limit_ + 1024);
  }
  return true;
}

void ResultStream::run() {
  // Rows are formatted into a local block and queued a block at a time, so
  // the lock and the wake-ups cost per block, not per row.
  Block block;
  block.bytes.reserve(block_limit_ + 1024);
  RowSink sink(*this, block, std::min(kFirstBlockBytes, block_limit_));
  Result<QueryCompleteness> outcome = fail(ErrorCode::kInternal, "query did not run");
  try {
    outcome = produce_(sink);
    if (!block.bytes.empty()) push(block);
  } catch (const std::exception& e) {  // the producer calls foreign code: contain it
    outcome = fail(ErrorCode::kInternal, std::string("query failed: ") + e.what());
  } catch (...) {
    outcome = fail(ErrorCode::kInternal, "query failed");
  }
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    producer_done_ = true;  // from here on the hasher is the ending side's
    outcome_ = std::move(outcome);
    if (want_resume_) {
      want_resume_ = false;
      wake = resume_;
    }
  }
  if (wake) wake();
}

http2::BodySource::Chunk ResultStream::read(std::span<char> buffer) {
  std::unique_lock lock(mu_);
  start_worker_locked();
  if (done_called_) return {Status::kEnd, 0};
  if (!queue_.empty() && !buffer.empty()) {
    Block& b = queue_.front();
    const std::size_t n = std::min(b.bytes.size() - front_off_, buffer.size());
    std::memcpy(buffer.data(), b.bytes.data() + front_off_, n);
    front_off_ += n;
    queued_bytes_ -= n;
    delivered_bytes_ += n;
    while (front_rows_ < b.row_ends.size() && b.row_ends[front_rows_].end <= front_off_) {
      records_ += b.row_ends[front_rows_].records;
      ++front_rows_;
    }
    if (front_off_ == b.bytes.size()) {  // back to the worker, to hash and reuse
      delivered_.push_back(std::move(b));
      queue_.pop_front();
      front_off_ = 0;
      front_rows_ = 0;
    }
    // Wake the worker once half the buffer is free (hysteresis: it then
    // refills in one go instead of waking per block).
    const bool wake_producer =
        producer_waiting_ && (queue_.empty() || queued_bytes_ <= buffer_limit_ / 2);
    lock.unlock();
    if (wake_producer) space_.notify_one();
    return {Status::kData, n};
  }
  if (!producer_done_) {
    want_resume_ = true;
    return {Status::kWouldBlock, 0};
  }
  const bool ok = outcome_ && outcome_->has_value();
  if (ok) summary_.completeness = **outcome_;
  const std::string error =
      ok ? std::string() : (outcome_ ? outcome_->error().message : "no outcome");
  lock.unlock();
  finish(ok, error);
  return {ok ? Status::kEnd : Status::kError, 0};
}

void ResultStream::hash_remaining_locked() {
  for (const Block& b : delivered_) hash_.update(b.bytes);
  delivered_.clear();
  if (!queue_.empty() && front_off_ > 0) {
    hash_.update(std::string_view(queue_.front().bytes).substr(0, front_off_));
  }
}

void ResultStream::finish(bool finished, std::string error) {
  // Called only once the worker has stopped (producer_done_ seen, or joined).
  if (done_called_) return;
  done_called_ = true;
  {
    std::lock_guard lock(mu_);
    hash_remaining_locked();
  }
  summary_.records = records_;
  summary_.bytes = delivered_bytes_;
  summary_.sha256 = hash_.hex();
  summary_.finished = finished;
  summary_.error = std::move(error);
  if (on_done_) on_done_(summary_);
}

http2::HeaderList ResultStream::trailers() {
  http2::HeaderList t;
  if (!done_called_) return t;
  t.emplace_back("x-conntrail-records", std::to_string(summary_.records));
  t.emplace_back("x-conntrail-bytes", std::to_string(summary_.bytes));
  t.emplace_back("x-conntrail-sha256", summary_.sha256);
  if (summary_.completeness) {
    t.emplace_back("x-conntrail-complete", summary_.completeness->complete() ? "true" : "false");
  }
  return t;
}

}  // namespace conntrail::agent
