// agent/api/record_stream.h — any category's results as a streamed, hashed HTTP body.
//
// ResultStream (result_stream.h) streams flow rows; the subscriber-sessions
// category and the attribution answer need the same delivery guarantees for
// other rows: RecordStream runs an injected producer on its own worker thread;
// the producer hands over already formatted rows (one record each: a CSV or
// NDJSON line, or a whole JSON document) through a sink, which batches them
// (~16 KiB) into a buffer bounded by `buffer_limit` bytes (at least 64 KiB),
// waiting while a batch does not fit. The event loop pulls bytes with read();
// kWouldBlock while the buffer is empty, and the worker calls the resume
// function once there is more. So memory is one buffer per stream.
//
// As ResultStream: every byte handed to the server is hashed (SHA-256) and
// counted; a row counts once its last byte is handed over; `on_done` runs
// exactly once, on the thread that ends the body (end, producer error, or the
// server dropping it), with a DeliverySummary for the journal; the trailers
// repeat count, hash and completeness. The sink returns false once the stream
// is abandoned, so the producer stops promptly; the worker is joined before
// the object dies. (ResultStream could become a RecordStream with a flow
// producer; it is kept separate while its formatting is being tuned.)
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "agent/api/flow_query.h"
#include "agent/api/result_stream.h"
#include "agent/http2/http_types.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent {

class RecordStream final : public http2::BodySource {
 public:
  // One formatted row and how many records it carries (1 for a CSV/NDJSON
  // line; for a whole document, what it counts as delivered — the attribution
  // answer counts its sessions, so an answer naming nobody is "answered empty").
  // Returns false: stop producing (the stream is abandoned).
  using RowSink = std::function<bool(std::string_view row, std::uint64_t records)>;
  using Produce = std::function<Result<QueryCompleteness>(const RowSink& sink)>;
  using OnDone = std::function<void(const DeliverySummary&)>;

  // `header` (a CSV header, or "") is the body's first bytes; it is not a record.
  RecordStream(Produce produce, std::string header, std::size_t buffer_limit, OnDone on_done);
  ~RecordStream() override;
  RecordStream(const RecordStream&) = delete;
  RecordStream& operator=(const RecordStream&) = delete;

  void set_resume(std::function<void()> resume) override;
  Chunk read(std::span<char> buffer) override;
  http2::HeaderList trailers() override;

 private:
  static constexpr std::size_t kBatchBytes = 16 * 1024;
  void start_worker_locked();
  void run();  // worker thread body
  void finish(bool finished, std::string error);

  Produce produce_;
  std::size_t buffer_limit_;
  OnDone on_done_;

  std::mutex mu_;
  std::condition_variable space_;
  std::string pending_;
  std::size_t pending_off_ = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> row_ends_;  // (stream offset, records)
  std::uint64_t produced_ = 0;
  std::function<void()> resume_;
  bool want_resume_ = false;
  bool started_ = false;
  bool producer_done_ = false;
  bool abandoned_ = false;
  bool producer_waiting_ = false;
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
