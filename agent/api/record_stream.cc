// agent/api/record_stream.cc — see record_stream.h.
#include "agent/api/record_stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace conntrail::agent {

RecordStream::RecordStream(Produce produce, std::string header, std::size_t buffer_limit,
                           OnDone on_done)
    : produce_(std::move(produce)),
      buffer_limit_(std::max<std::size_t>(buffer_limit, 4 * kBatchBytes)),
      on_done_(std::move(on_done)) {
  pending_ = std::move(header);
  produced_ = pending_.size();
}

RecordStream::~RecordStream() {
  {
    std::lock_guard lock(mu_);
    abandoned_ = true;
  }
  space_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (!done_called_) finish(false, "the client closed the stream before the end");
}

void RecordStream::set_resume(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  resume_ = std::move(resume);
  start_worker_locked();
}

void RecordStream::start_worker_locked() {
  if (started_) return;
  started_ = true;
  worker_ = std::thread([this] { run(); });
}

void RecordStream::run() {
  // Rows are gathered into a local batch and handed over a batch at a time,
  // so the lock and the wake-ups cost per ~16 KiB, not per row.
  std::string batch;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> batch_ends;  // relative to batch start
  auto flush = [&]() -> bool {
    std::function<void()> wake;
    {
      std::unique_lock lock(mu_);
      producer_waiting_ = true;
      space_.wait(lock, [&] {
        return abandoned_ || pending_.size() - pending_off_ + batch.size() <= buffer_limit_ ||
               pending_.size() == pending_off_;
      });
      producer_waiting_ = false;
      if (abandoned_) return false;
      for (const auto& [end, n] : batch_ends) row_ends_.emplace_back(produced_ + end, n);
      pending_ += batch;
      produced_ += batch.size();
      if (want_resume_) {
        want_resume_ = false;
        wake = resume_;
      }
    }
    batch.clear();
    batch_ends.clear();
    if (wake) wake();  // outside the lock: the server may call read() from it
    return true;
  };
  const RowSink sink = [&](std::string_view row, std::uint64_t records) -> bool {
    batch.append(row);
    batch_ends.emplace_back(batch.size(), records);
    if (batch.size() < kBatchBytes) return true;
    return flush();
  };
  Result<QueryCompleteness> outcome = fail(ErrorCode::kInternal, "query did not run");
  try {
    outcome = produce_(sink);
    if (!batch.empty()) flush();
  } catch (const std::exception& e) {  // the producer calls foreign code: contain it
    outcome = fail(ErrorCode::kInternal, std::string("query failed: ") + e.what());
  } catch (...) {
    outcome = fail(ErrorCode::kInternal, "query failed");
  }
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    producer_done_ = true;
    outcome_ = std::move(outcome);
    if (want_resume_) {
      want_resume_ = false;
      wake = resume_;
    }
  }
  if (wake) wake();
}

http2::BodySource::Chunk RecordStream::read(std::span<char> buffer) {
  std::unique_lock lock(mu_);
  start_worker_locked();
  if (done_called_) return {Status::kEnd, 0};
  const std::size_t available = pending_.size() - pending_off_;
  if (available > 0 && !buffer.empty()) {
    const std::size_t n = std::min(available, buffer.size());
    std::memcpy(buffer.data(), pending_.data() + pending_off_, n);
    hash_.update(std::string_view(pending_.data() + pending_off_, n));
    pending_off_ += n;
    delivered_ += n;
    while (!row_ends_.empty() && row_ends_.front().first <= delivered_) {
      records_ += row_ends_.front().second;
      row_ends_.pop_front();
    }
    if (pending_off_ == pending_.size()) {
      pending_.clear();
      pending_off_ = 0;
    } else if (pending_off_ > buffer_limit_) {
      pending_.erase(0, pending_off_);
      pending_off_ = 0;
    }
    const bool wake_producer =
        producer_waiting_ && pending_.size() - pending_off_ + kBatchBytes <= buffer_limit_;
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

void RecordStream::finish(bool finished, std::string error) {
  if (done_called_) return;
  done_called_ = true;
  summary_.records = records_;
  summary_.bytes = delivered_;
  summary_.sha256 = hash_.hex();
  summary_.finished = finished;
  summary_.error = std::move(error);
  if (on_done_) on_done_(summary_);
}

http2::HeaderList RecordStream::trailers() {
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
