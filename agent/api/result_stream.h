// agent/api/result_stream.h — a lawful request's results as a streamed HTTP body.
//
// A query over 30 days can produce millions of rows; the server must not hold
// them. ResultStream runs an injected producer on its own worker thread; the
// producer appends formatted rows (a CSV or NDJSON line, or a whole JSON
// document, each counting as some number of records) through a RowSink,
// which gathers them into blocks and queues them; the server's event loop
// pulls bytes with read(). Every category streams this way: flows (the
// FlowQueryFn constructor: FlowFormatter rows, the same columns as `conntrail
// flows`), subscriber sessions, the attribution answer. When the queue is
// empty read() returns kWouldBlock and the worker calls the resume function
// once there is more; when the queue holds `buffer_limit` bytes (at least
// 64 KiB) the worker waits — a slow client stops the query. So memory is
// bounded per stream whatever the result: the queue, one block being
// formatted, and delivered blocks not yet hashed (each at most about
// `buffer_limit`, or one row if a row is larger).
//
// Every byte handed to the server is hashed (SHA-256) and counted, and a
// row's records are counted only once its last byte is handed over. The
// hashing is the stream's biggest per-byte cost, so it runs on the worker, not
// the event loop: blocks the loop has fully handed over go back to the worker,
// which hashes them in delivery order (and reuses their memory) before
// queueing more. Whatever remains unhashed when the body ends — the last
// blocks, and the handed-over part of a block cut short — is hashed by the
// ending side once the worker has stopped, so the digest is always of exactly
// the delivered bytes. When the body ends — normally (kEnd), by a producer
// error (kError), or because the server dropped the stream (destructor) —
// `on_done` is called exactly once, on the thread that ends it (the event
// loop), with what was delivered, so the caller can journal the delivery.
// The trailers repeat the count, hash and completeness.
//
// Invariants: the worker is joined before the object dies; RowSink::end_row
// returns false as soon as the stream is abandoned, so a producer stops
// promptly; the hasher is touched by the worker until it has finished
// (producer_done_ set under mu_, or joined) and only by the event loop after.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
  struct Block;

 public:
  // The producer's side of the stream (worker thread only): append one row's
  // bytes to out(), then end_row() with the records it carries (1 for a
  // CSV/NDJSON line; for a whole document what it counts as delivered — the
  // attribution answer counts its sessions, so an answer naming nobody is
  // "answered empty"). end_row() returns false: stop producing (abandoned).
  class RowSink {
   public:
    std::string& out() { return block_->bytes; }
    inline bool end_row(std::uint64_t records = 1);
    bool add(std::string_view row, std::uint64_t records = 1) {
      block_->bytes.append(row);
      return end_row(records);
    }

   private:
    friend class ResultStream;
    RowSink(ResultStream& stream, Block& block, std::size_t target)
        : stream_(&stream), block_(&block), target_(target) {}
    ResultStream* stream_;
    Block* block_;
    std::size_t target_;  // queue the block once it holds this many bytes
  };
  using Produce = std::function<Result<QueryCompleteness>(RowSink& sink)>;
  using OnDone = std::function<void(const DeliverySummary&)>;

  // `header` (a CSV header, or "") is the body's first bytes; it is not a record.
  ResultStream(Produce produce, std::string header, std::size_t buffer_limit, OnDone on_done);
  // Flow rows: runs `query` with `spec` and formats each row with FlowFormatter.
  ResultStream(FlowQueryFn query, QuerySpec spec, OutputFormat format, TimeFormat time_format,
               std::size_t buffer_limit, OnDone on_done);
  ~ResultStream() override;
  ResultStream(const ResultStream&) = delete;
  ResultStream& operator=(const ResultStream&) = delete;

  void set_resume(std::function<void()> resume) override;
  Chunk read(std::span<char> buffer) override;
  http2::HeaderList trailers() override;

 private:
  struct RowEnd {
    std::size_t end;  // offset in the block's bytes where the row ends
    std::uint64_t records;
  };
  // Formatted rows, handed from the worker to the event loop as a unit.
  struct Block {
    std::string bytes;
    std::vector<RowEnd> row_ends;  // ascending
  };
  // Blocks grow up to limit / 8, capped: large enough that the hand-over
  // (lock, wake-up) costs per 64 KiB, small enough that the worker never runs
  // far ahead of a tight limit. The first blocks of a stream are smaller
  // (kFirstBlockBytes, doubling) so a sparse result's first rows are not held back.
  static constexpr std::size_t kMaxBlockBytes = 64 * 1024;
  static constexpr std::size_t kFirstBlockBytes = 4 * 1024;
  static constexpr std::size_t kMinBufferLimit = 64 * 1024;

  void start_worker_locked();
  void run();  // worker thread body
  // Worker: queues `block` once it fits, hashing delivered blocks meanwhile.
  // False when the stream was abandoned.
  bool push(Block& block);
  // Worker: hashes the blocks the loop has handed over; keeps their memory for reuse.
  void hash_delivered(std::vector<Block>& blocks);
  // Ending side, after the worker stopped: hashes what it left unhashed.
  void hash_remaining_locked();
  void finish(bool finished, std::string error);

  Produce produce_;
  std::size_t buffer_limit_;
  std::size_t block_limit_;
  OnDone on_done_;

  std::mutex mu_;
  std::condition_variable space_;  // worker waits here while the queue is full
  std::deque<Block> queue_;        // formatted, not yet wholly handed over
  std::size_t queued_bytes_ = 0;   // bytes in queue_ not yet handed over
  std::size_t front_off_ = 0;      // handed-over prefix of queue_.front()
  std::size_t front_rows_ = 0;     // row_ends of queue_.front() already counted
  std::vector<Block> delivered_;   // wholly handed over, not yet hashed (in order)
  std::function<void()> resume_;
  bool want_resume_ = false;
  bool started_ = false;
  bool producer_done_ = false;
  bool abandoned_ = false;         // the consumer is gone or finished: stop producing
  bool producer_waiting_ = false;  // the worker sleeps on space_
  std::optional<Result<QueryCompleteness>> outcome_;

  // Worker side only: emptied blocks kept for reuse.
  std::vector<Block> spare_;

  // See the invariants: the worker's until it stops, then the loop's.
  storage::Sha256 hash_;
  // Consumer (event-loop) side only.
  std::uint64_t delivered_bytes_ = 0;
  std::uint64_t records_ = 0;
  bool done_called_ = false;
  DeliverySummary summary_;

  std::thread worker_;
};

bool ResultStream::RowSink::end_row(std::uint64_t records) {
  block_->row_ends.push_back({block_->bytes.size(), records});
  if (block_->bytes.size() < target_) return true;
  target_ = std::min(target_ * 2, stream_->block_limit_);
  return stream_->push(*block_);
}

}  // namespace conntrail::agent
