// agent/api/result_stream.h — a lawful request's results as a streamed HTTP body.
//
// A query over 30 days can produce millions of rows; the server must not hold
// them. ResultStream runs the injected FlowQueryFn on its own worker thread,
// which formats each row (FlowFormatter: the same columns as `conntrail
// flows`) into 16 KiB batches and hands them to a buffer bounded by
// `buffer_limit` bytes (at least 64 KiB), waiting while a batch does not fit. The server's event
// loop pulls bytes with read(); when the buffer is empty read() returns kWouldBlock and the worker
// calls the resume function once there is more. So memory is one buffer per stream whatever the
// result.
//
// Every byte handed to the server is hashed (SHA-256) and counted, and rows
// are counted only once their last byte is handed over. When the body ends —
// normally (kEnd), by a query error (kError), or because the server dropped
// the stream (destructor) — `on_done` is called exactly once, on the thread
// that ends it (the event loop), with what was delivered, so the caller can
// journal the delivery. The trailers repeat the count, hash and completeness.
//
// Invariants: the worker is joined before the object dies; on_row returns
// false as soon as the stream is abandoned, so a query stops promptly.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "agent/api/flow_query.h"
#include "agent/http2/http_types.h"
#include "core/flow_format.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent {

struct DeliverySummary {
  std::uint64_t records = 0;  // rows whose every byte was handed over
  std::uint64_t bytes = 0;
  std::string sha256;                             // of exactly those bytes
  bool finished = false;                          // the whole result was delivered
  std::optional<QueryCompleteness> completeness;  // set when the query returned
  std::string error;  // why it did not finish ("client closed the stream", …)
};

nlohmann::json to_json(const QueryCompleteness& c);

class ResultStream final : public http2::BodySource {
 public:
  using OnDone = std::function<void(const DeliverySummary&)>;

  ResultStream(FlowQueryFn query, QuerySpec spec, OutputFormat format, TimeFormat time_format,
               std::size_t buffer_limit, OnDone on_done);
  ~ResultStream() override;
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;

  void set_resume(std::function<void()> resume) override;
  Chunk read(std::span<char> buffer) override;
  http2::HeaderList trailers() override;

 private:
  static constexpr std::size_t kBatchBytes = 16 * 1024;
  void start_worker_locked();
  void run();  // worker thread body
  void finish(bool finished, std::string error);

  FlowQueryFn query_;
  QuerySpec spec_;
  FlowFormatter formatter_;
  std::size_t buffer_limit_;
  OnDone on_done_;

  std::mutex mu_;
  std::condition_variable space_;       // worker waits here while the buffer is full
  std::string pending_;                 // formatted bytes not yet handed over
  std::size_t pending_off_ = 0;         // consumed prefix of pending_
  std::deque<std::uint64_t> row_ends_;  // stream offsets where rows end, not yet delivered
  std::uint64_t produced_ = 0;          // bytes appended to pending_ in total
  std::function<void()> resume_;
  bool want_resume_ = false;
  bool started_ = false;
  bool producer_done_ = false;
  bool abandoned_ = false;         // the consumer is gone or finished: stop producing
  bool producer_waiting_ = false;  // the worker sleeps on space_
  std::optional<Result<QueryCompleteness>> outcome_;

  // Consumer (event-loop) side only.
  storage::Sha256 hash_;
  std::uint64_t delivered_ = 0;
  std::uint64_t records_ = 0;
  bool done_called_ = false;
  DeliverySummary summary_;

  std::thread worker_;
};

}  // namespace conntrail::agent
