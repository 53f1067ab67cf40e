#include "capture/source/live_capture.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "capture/decode/transport.h"
#include "capture/source/control_filter.h"

namespace conntrail::capture {
namespace {

// Batches up to this many packets per pcap_dispatch (one ring block is
// usually fewer); bounds the time between counter snapshots.
constexpr int kBatch = 8192;
// pcap_stats is a syscall: refreshed at most this often (packet path unaffected).
constexpr auto kStatsInterval = std::chrono::milliseconds(500);

TimestampNs system_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct LiveCapture::Worker {
  Worker(PcapHandle h, LinkType link, InterfaceOptions opts, FlowSink sink,
         std::function<TimestampNs()> clk, std::uint16_t interface_id)
      : handle(std::move(h)),
        name(opts.pcap.interface),
        wait_ms(std::max(1, opts.pcap.timeout_ms)),
        clock(std::move(clk)),
        on_flow(std::move(sink)),
        meter(link, prepare(std::move(opts), interface_id), [this](FlowRecord&& r) {
          if (!on_flow(std::move(r))) ++queue_drops;
        }) {}

  static MeterOptions prepare(InterfaceOptions opts, std::uint16_t interface_id) {
    MeterOptions m = std::move(opts.meter);
    m.flows.precision = TimePrecision::kNano;  // handles are opened with ns timestamps
    m.flows.interface_id = interface_id;
    if (opts.flow_memory_bytes != 0) {
      m.flows.max_flows = FlowTable::flows_for_memory(opts.flow_memory_bytes);
    }
    return m;
  }

  static void on_packet(void* context, const RawPacket& p) {
    auto* w = static_cast<Worker*>(context);
    w->last_packet_ts = p.ts;
    w->meter.on_frame(p.ts, Bytes(p.data, p.captured_length), p.wire_length);
  }

  void run() {
    auto next_stats = std::chrono::steady_clock::now();
    if (auto nb = handle.set_nonblocking(); !nb) {
      error_message = nb.error().message;
      stopping.store(true);
    }
    while (!stopping.load(std::memory_order_relaxed)) {
      const auto n = handle.dispatch(kBatch, &on_packet, this);
      if (!n) {
        error_message = n.error().message;
        break;
      }
      if (*n == 0) {
        // Nothing ready: wait for the next ring block, at most one timeout.
        const auto readable = handle.wait_readable(wait_ms);
        if (!readable) {
          error_message = readable.error().message;
          break;
        }
        // Let time pass for the flows even when no packet comes.
        if (!*readable) meter.advance(std::max(clock(), last_packet_ts));
      }
      const auto now = std::chrono::steady_clock::now();
      const bool refresh_stats = now >= next_stats;
      if (refresh_stats) next_stats = now + kStatsInterval;
      publish(refresh_stats);
    }
    meter.finish(EndReason::kShutdown);
    publish(true);
  }

  void publish(bool refresh_stats) {
    meter.sync();
    InterfaceCounters c;
    c.interface = name;
    c.counters = meter.counters();
    c.counters.queue_drops = queue_drops;
    c.decode_errors = meter.decode_errors();
    c.flows_active = meter.active_flows();
    c.error = error_message;
    if (refresh_stats) {
      if (auto s = handle.stats()) kernel = *s;
    }
    c.counters.kernel_drops = kernel.dropped;
    c.counters.interface_drops = kernel.interface_dropped;
    std::lock_guard lock(mutex);
    snapshot = std::move(c);
  }

  PcapHandle handle;
  std::string name;
  int wait_ms;
  std::function<TimestampNs()> clock;
  FlowSink on_flow;
  std::uint64_t queue_drops = 0;
  KernelStats kernel;
  TimestampNs last_packet_ts = 0;
  FlowMeter meter;
  std::atomic<bool> stopping{false};
  std::string error_message;  // written by the capture thread only
  mutable std::mutex mutex;
  InterfaceCounters snapshot;
  std::thread thread;
};

// Reads interface i's control handle: UDP on the control ports only, whole
// datagrams, decoded and handed to the sink; nothing else is kept.
struct LiveCapture::ControlWorker {
  ControlWorker(std::vector<PcapHandle> h, LinkType l, DecodeOptions d, ControlCaptureOptions opts,
                int wait)
      : handles(std::move(h)), link(l), decode(d), wait_ms(wait), sink(std::move(opts.sink)) {
    for (auto p : opts.ports) ports[p] = true;
  }

  static void on_packet(void* context, const RawPacket& p) {
    auto* w = static_cast<ControlWorker*>(context);
    PacketInfo packet;
    packet.ts = p.ts;
    const DecodeError error =
        decode_frame(w->link, Bytes(p.data, p.captured_length), w->decode, packet);
    if (is_dropped(error) || packet.proto != kProtoUdp || packet.fragment != FragmentKind::kNone) {
      return;
    }
    if (!w->ports[packet.src_port] && !w->ports[packet.dst_port]) return;
    w->packets.fetch_add(1, std::memory_order_relaxed);
    if (!w->sink(packet)) w->drops.fetch_add(1, std::memory_order_relaxed);
  }

  // One thread serves the interface's few control handles (one per
  // encapsulation, control_filter.h): non-blocking reads of each, then a
  // short wait on each in turn, so a datagram waits at most one pcap timeout.
  void run() {
    for (auto& h : handles) {
      if (auto nb = h.set_nonblocking(); !nb) return;
    }
    const int slice = std::max(1, wait_ms / static_cast<int>(handles.size()));
    auto next_stats = std::chrono::steady_clock::now();
    while (!stopping.load(std::memory_order_relaxed)) {
      int total = 0;
      for (auto& h : handles) {
        const auto n = h.dispatch(kBatch, &on_packet, this);
        if (!n) return;
        total += *n;
      }
      if (total == 0) {
        for (auto& h : handles) {
          const auto readable = h.wait_readable(slice);
          if (!readable) return;
          if (*readable) break;
        }
      }
      if (std::chrono::steady_clock::now() >= next_stats) {
        next_stats = std::chrono::steady_clock::now() + kStatsInterval;
        std::uint64_t dropped = 0;
        for (auto& h : handles) {
          if (auto s = h.stats()) dropped += s->dropped + s->interface_dropped;
        }
        kernel_drops.store(dropped);
      }
    }
  }

  std::vector<PcapHandle> handles;
  LinkType link;
  DecodeOptions decode;
  int wait_ms;
  std::function<bool(const PacketInfo&)> sink;
  std::vector<bool> ports = std::vector<bool>(65536, false);
  std::atomic<std::uint64_t> packets{0}, drops{0}, kernel_drops{0};
  std::atomic<bool> stopping{false};
  std::thread thread;
};

Result<std::unique_ptr<LiveCapture>> LiveCapture::start(LiveCaptureOptions options,
                                                        FlowSink on_flow) {
  if (options.interfaces.empty())
    return fail(ErrorCode::kInvalidArgument, "no capture interface configured");
  if (!options.clock) options.clock = &system_clock_ns;
  std::unique_ptr<LiveCapture> capture(new LiveCapture());
  // The flow workers take their options by move; the control handles need them too.
  const std::vector<InterfaceOptions> control_interfaces =
      options.control.sink ? options.interfaces : std::vector<InterfaceOptions>{};
  for (std::size_t i = 0; i < options.interfaces.size(); ++i) {
    InterfaceOptions& iface = options.interfaces[i];
    auto handle = PcapHandle::open_live(iface.pcap);
    if (!handle) return std::unexpected(handle.error());
    auto link = handle->link_type();
    if (!link)
      return fail(link.error().code,
                  "interface " + iface.pcap.interface + ": " + link.error().message);
    capture->workers_.push_back(std::make_unique<Worker>(std::move(*handle), *link,
                                                         std::move(iface), on_flow, options.clock,
                                                         static_cast<std::uint16_t>(i)));
  }
  if (options.control.sink) {
    for (const InterfaceOptions& iface : control_interfaces) {
      std::vector<PcapHandle> handles;
      std::optional<LinkType> link;
      for (const std::string& filter : control_bpf_filters(options.control.ports)) {
        LiveSettings settings = iface.pcap;
        settings.snaplen = options.control.snaplen;
        settings.bpf_filter = filter;
        settings.buffer_bytes = std::min(settings.buffer_bytes, 2 << 20);  // sparse traffic
        auto handle = PcapHandle::open_live(settings);
        if (!handle) {
          return fail(handle.error().code,
                      "interface " + settings.interface + " (control): " + handle.error().message);
        }
        auto l = handle->link_type();
        if (!l) return std::unexpected(l.error());
        link = *l;
        handles.push_back(std::move(*handle));
      }
      if (handles.empty()) continue;
      capture->control_workers_.push_back(
          std::make_unique<ControlWorker>(std::move(handles), *link, iface.meter.decode,
                                          options.control, std::max(1, iface.pcap.timeout_ms)));
    }
  }
  for (auto& c : capture->control_workers_) {
    c->thread = std::thread([worker = c.get()] { worker->run(); });
  }
  for (auto& w : capture->workers_) {
    w->snapshot.interface = w->name;
    w->thread = std::thread([worker = w.get()] { worker->run(); });
  }
  return capture;
}

LiveCapture::~LiveCapture() { stop(); }

void LiveCapture::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& c : control_workers_) {
    c->stopping.store(true, std::memory_order_relaxed);
    for (auto& h : c->handles) h.break_loop();
  }
  for (auto& c : control_workers_) {
    if (c->thread.joinable()) c->thread.join();
  }
  for (auto& w : workers_) {
    w->stopping.store(true, std::memory_order_relaxed);
    w->handle.break_loop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

std::vector<InterfaceCounters> LiveCapture::counters() const {
  std::vector<InterfaceCounters> out;
  out.reserve(workers_.size());
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    {
      std::lock_guard lock(workers_[i]->mutex);
      out.push_back(workers_[i]->snapshot);
    }
    if (i < control_workers_.size()) {
      const auto& c = *control_workers_[i];
      out.back().control_packets = c.packets.load();
      out.back().control_drops = c.drops.load();
      out.back().control_kernel_drops = c.kernel_drops.load();
    }
  }
  return out;
}

}  // namespace conntrail::capture
