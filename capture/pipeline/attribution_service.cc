#include "capture/pipeline/attribution_service.h"

#include <chrono>

namespace conntrail::capture {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

TimestampNs system_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

IpAddress address_of(const Address16& a, bool is_v6) {
  if (is_v6) return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(a.data(), 16));
  return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(a.data() + 12, 4));
}

}  // namespace

AttributionService::AttributionService(AttributionServiceOptions options, FlowSink on_flow,
                                       SessionSink on_session)
    : options_(std::move(options)),
      on_flow_(std::move(on_flow)),
      // Live handles deliver nanosecond timestamps.
      stage_(options_.attribution, TimePrecision::kNano, std::move(on_session)) {}

Result<std::unique_ptr<AttributionService>> AttributionService::start(
    AttributionServiceOptions options, FlowSink on_flow, SessionSink on_session) {
  if (options.queue_capacity == 0) {
    return fail(ErrorCode::kInvalidArgument, "attribution queue capacity must be > 0");
  }
  if (!on_flow) return fail(ErrorCode::kInvalidArgument, "attribution service needs a flow sink");
  if (!options.clock) options.clock = &system_clock_ns;
  std::unique_ptr<AttributionService> s(
      new AttributionService(std::move(options), std::move(on_flow), std::move(on_session)));
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  return s;
}

AttributionService::~AttributionService() { stop(); }

bool AttributionService::enqueue(Event&& event) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
    queue_.push_back(std::move(event));
  }
  wake_.notify_one();
  return true;
}

bool AttributionService::submit_control(const PacketInfo& p) {
  Control c{p.ts, address_of(p.src, p.is_v6), address_of(p.dst, p.is_v6), p.src_port, p.dst_port,
            {},   p.udp_payload_truncated};
  if (p.udp_payload.size() > kMaxControlPayload) {
    // Parsed from a cut copy it could bind wrongly; counted like a snaplen cut.
    control_oversized_.fetch_add(1, std::memory_order_relaxed);
    c.truncated = true;
  } else {
    c.payload.assign(p.udp_payload.begin(), p.udp_payload.end());
  }
  if (!enqueue(std::move(c))) {
    control_dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  control_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool AttributionService::submit_flow(FlowRecord&& flow) {
  if (!enqueue(std::move(flow))) {
    flows_dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void AttributionService::release(TimestampNs now, bool all) {
  // Held flows are bounded like the queue: beyond queue_capacity the oldest go at once.
  while (!held_.empty() &&
         (all || held_.front().release_at <= now || held_.size() > options_.queue_capacity)) {
    FlowRecord f = std::move(held_.front().flow);
    held_.pop_front();
    stage_.fill(f);
    if (on_flow_(std::move(f))) {
      flows_.fetch_add(1, std::memory_order_relaxed);
    } else {
      flows_refused_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void AttributionService::run() {
  std::deque<Event> batch;
  bool stopping = false;
  TimestampNs next_checkpoint = 0;
  while (!stopping) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kTick, [&] { return stopping_ || !queue_.empty(); });
      batch.swap(queue_);
      stopping = stopping_;
    }
    const TimestampNs now = options_.clock();
    for (Event& e : batch) {
      if (auto* c = std::get_if<Control>(&e)) {
        stage_.on_datagram(c->ts, c->src, c->dst, c->src_port, c->dst_port, c->payload,
                           c->truncated);
      } else {
        held_.push_back({std::move(std::get<FlowRecord>(e)), now + options_.flow_hold});
      }
    }
    batch.clear();
    // Leases expire on time even when no control packet arrives.
    stage_.on_time(now);
    release(now, stopping);
    if (now >= next_checkpoint && !stopping) {
      stage_.checkpoint_open();
      next_checkpoint = now + options_.checkpoint_interval;
    }
    std::lock_guard lock(report_mu_);
    report_ = stage_.report();
  }
  stage_.finish();
  std::lock_guard lock(report_mu_);
  report_ = stage_.report();
}

void AttributionService::stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  });
}

AttributionServiceStats AttributionService::stats() const {
  AttributionServiceStats s;
  s.control_datagrams = control_.load();
  s.control_dropped = control_dropped_.load();
  s.control_oversized = control_oversized_.load();
  s.flows = flows_.load();
  s.flows_dropped = flows_dropped_.load();
  s.flows_refused = flows_refused_.load();
  std::lock_guard lock(report_mu_);
  s.report = report_;
  return s;
}

}  // namespace conntrail::capture
