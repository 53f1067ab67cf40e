// capture/pipeline/attribution_service.h — one attribution owner for every live interface.
//
// Job: live capture runs one thread per interface, but RADIUS accounting may
// arrive on another interface than the subscriber traffic it describes (the
// NAS talks to the RADIUS server on the core side, subscribers use the access
// side). So the SessionTracker cannot live in one interface's thread, and
// sharing it under a lock would put a mutex on every capture thread. Instead
// it has one owner: this service's thread, fed by one bounded queue that
// carries both kinds of input, in arrival order:
//   - control datagrams (RADIUS accounting / DHCP UDP payload, copied, at most
//     kMaxControlPayload bytes; parsed on the service thread and dropped),
//   - finished flow records, whose subscriber is filled here before they go
//     on to the flow sink.
// A flow is held flow_hold (wall time) before it is attributed, so a session
// Start captured on another interface in the same ring block (up to one pcap
// timeout later) is seen first.
//
// Threads:
//  | thread          | calls                                    |
//  |-----------------|------------------------------------------|
//  | capture threads | submit_control(), submit_flow(): never wait; false = queue full, counted |
//  | service thread  | AttributionStage, on_flow, on_session    |
//  | owner           | start(), stop(), stats()                 |
// stop() drains the queue, attributes every held flow, emits the sessions
// still open (end 0) and joins; submit_* fail afterwards.
//
// Bounds: queue_capacity events (a control event holds at most
// kMaxControlPayload bytes), and at most queue_capacity flows held for
// flow_hold (beyond it the oldest are attributed at once), so memory is
// about 2 × capacity × (record or payload).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "capture/pipeline/attribution_stage.h"
#include "core/flow_record.h"
#include "core/result.h"

namespace conntrail::capture {

inline constexpr std::size_t kMaxControlPayload = 8192;  // RADIUS ≤ 4096; DHCP relayed ≤ a few KB

struct AttributionServiceOptions {
  AttributionOptions attribution;
  std::size_t queue_capacity = 65536;
  TimestampNs flow_hold = 500'000'000;  // 0.5 s of wall time
  std::function<TimestampNs()> clock;   // wall clock (advances lease expiry); injectable
  // How often sessions that opened are handed on while still open (end 0), so a
  // store answers for a long session before it ends.
  TimestampNs checkpoint_interval = 10 * kNsPerSecond;
};

struct AttributionServiceStats {
  std::uint64_t control_datagrams = 0;  // accepted into the queue
  std::uint64_t control_dropped = 0;    // queue full
  std::uint64_t control_oversized = 0;  // payload beyond kMaxControlPayload: counted, not parsed
  std::uint64_t flows = 0;              // attributed and handed on
  std::uint64_t flows_dropped = 0;      // queue full at submit
  std::uint64_t flows_refused = 0;      // the flow sink refused them
  AttributionReport report;
};

class AttributionService {
 public:
  using FlowSink = std::function<bool(FlowRecord&&)>;
  using SessionSink = std::function<void(const SessionRecord&)>;

  static Result<std::unique_ptr<AttributionService>> start(AttributionServiceOptions options,
                                                           FlowSink on_flow,
                                                           SessionSink on_session);
  ~AttributionService();
  AttributionService(const AttributionService&) = delete;
  AttributionService& operator=(const AttributionService&) = delete;

  // From any capture thread; never blocks on the service.
  bool submit_control(const PacketInfo& packet);
  bool submit_flow(FlowRecord&& flow);

  void stop();
  AttributionServiceStats stats() const;

 private:
  struct Control {
    TimestampNs ts;
    IpAddress src, dst;
    std::uint16_t src_port, dst_port;
    std::vector<std::uint8_t> payload;
    bool truncated;
  };
  struct HeldFlow {
    FlowRecord flow;
    TimestampNs release_at;
  };
  using Event = std::variant<Control, FlowRecord>;

  AttributionService(AttributionServiceOptions options, FlowSink on_flow, SessionSink on_session);
  bool enqueue(Event&& event);
  void run();
  void release(TimestampNs now, bool all);

  AttributionServiceOptions options_;
  FlowSink on_flow_;
  AttributionStage stage_;  // service thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Event> queue_;    // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::deque<HeldFlow> held_;  // service thread only

  std::atomic<std::uint64_t> control_{0}, control_dropped_{0}, control_oversized_{0}, flows_{0},
      flows_dropped_{0}, flows_refused_{0};
  mutable std::mutex report_mu_;
  AttributionReport report_;  // guarded by report_mu_, refreshed by the service thread
  std::once_flag stop_once_;
  std::thread thread_;
};

}  // namespace conntrail::capture
