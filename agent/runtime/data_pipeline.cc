#include "agent/runtime/data_pipeline.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/log/log.h"
#include "agent/runtime/module_options.h"
#include "capture/pipeline/capture_file.h"
#include "storage/retention/calendar.h"

namespace conntrail::agent {
namespace {

constexpr auto kTick = std::chrono::milliseconds(250);
// The `interface` label of counters from an offline capture file.
constexpr const char* kFileInterface = "file";
constexpr int kTicksPerPublish = 20;  // capture counters and status every 5 s

CaptureCounters minus(const CaptureCounters& a, const CaptureCounters& b) {
  CaptureCounters d;
  d.packets = a.packets - b.packets;
  d.bytes = a.bytes - b.bytes;
  d.decode_errors = a.decode_errors - b.decode_errors;
  d.kernel_drops = a.kernel_drops - b.kernel_drops;
  d.interface_drops = a.interface_drops - b.interface_drops;
  d.queue_drops = a.queue_drops - b.queue_drops;
  d.flows_exported = a.flows_exported - b.flows_exported;
  d.flows_evicted = a.flows_evicted - b.flows_evicted;
  return d;
}

TimestampNs wall_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DataPipeline::DataPipeline(const AgentConfig& config, metrics::Registry& metrics)
    : config_(config) {
  register_metrics(metrics);
}

DataPipeline::~DataPipeline() {
  if (live_) live_->stop();
  if (attribution_) attribution_->stop();
  if (writer_) writer_->stop();
}

bool DataPipeline::push_flow(FlowRecord&& flow) {
  if (writer_->try_push(std::move(flow))) {
    flows_pushed_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  queue_drops_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void DataPipeline::push_session(const SessionRecord& session) {
  if (writer_->try_push(SessionRecord(session))) {
    sessions_pushed_.fetch_add(1, std::memory_order_relaxed);
  } else {
    session_drops_.fetch_add(1, std::memory_order_relaxed);
  }
}

void DataPipeline::publish_counters(TimestampNs now) {
  CaptureCounters delta;
  {
    std::lock_guard lock(mu_);
    std::uint64_t capture_side_drops = 0;  // live: the attribution queue was full
    if (live_) {
      interfaces_ = live_->counters();
      CaptureCounters sum;
      for (const auto& i : interfaces_) sum += i.counters;
      capture_side_drops = sum.queue_drops;
      capture_totals_ = sum;
    }
    capture_totals_.queue_drops = capture_side_drops + queue_drops_.load(std::memory_order_relaxed);
    delta = minus(capture_totals_, published_);
    published_ = capture_totals_;
  }
  if (delta != CaptureCounters{}) writer_->add_counters(now, delta);
}

void DataPipeline::refresh_status() {
  auto s = storage::status(config_.storage.data_dir);
  if (!s) {
    log::write(LogLevel::kWarning, "storage: status: " + s.error().message);
    return;
  }
  // Write rate since the last refresh, and free space, for the STATUS= line.
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t written = writer_ ? writer_->stats().rows_written : 0;
  std::error_code ec;
  const auto space = std::filesystem::space(config_.storage.data_dir, ec);
  std::lock_guard lock(mu_);
  store_status_ = *s;
  const double seconds = std::chrono::duration<double>(now - rate_since_).count();
  if (seconds > 0 && written >= rate_rows_) {
    flows_per_second_ = static_cast<double>(written - rate_rows_) / seconds;
  }
  rate_rows_ = written;
  rate_since_ = now;
  disk_free_percent_ = ec || space.capacity == 0
                           ? -1.0
                           : 100.0 * static_cast<double>(space.available) /
                                 static_cast<double>(space.capacity);
}

void DataPipeline::set_retention_months(int months) {
  retention_months_.store(months);
  if (writer_) writer_->set_retention_months(months);
}

StatusFigures DataPipeline::status() const {
  StatusFigures f;
  std::lock_guard lock(mu_);
  f.flows_stored = store_status_.flows_stored;
  f.shards = store_status_.shards_open + store_status_.shards_sealed;
  const auto w = writer_ ? writer_->stats() : storage::WriterStats{};
  // The agent's STATUS= line already says flows stored and shards.
  f.summary = fmt::format(
      "{:.0f} flows/s, {} packets, {} drops (kernel {}, queue {}), {:.0f}% disk free{}",
      flows_per_second_, capture_totals_.packets,
      capture_totals_.kernel_drops + capture_totals_.interface_drops + capture_totals_.queue_drops,
      capture_totals_.kernel_drops, capture_totals_.queue_drops, disk_free_percent_,
      w.disk_alarm ? ", DISK ALARM: " + w.last_error : "");
  return f;
}

WorkerSpec DataPipeline::storage_worker() {
  WorkerSpec w;
  w.name = "storage";
  w.prepare = [this]() -> Result<void> {
    auto writer = storage::FlowWriter::start(store_options(config_));
    if (!writer) return std::unexpected(writer.error());
    writer_ = std::move(*writer);
    refresh_status();
    return {};
  };
  w.run = [this](Heartbeat& hb) -> Result<void> {
    bool alarmed = false;
    for (int tick = 0; !storage_stop_.load(); ++tick) {
      hb.beat();
      std::this_thread::sleep_for(kTick);
      if (tick % kTicksPerPublish != 0) continue;
      publish_counters(wall_now());
      refresh_status();
      const auto stats = writer_->stats();
      if (stats.disk_alarm != alarmed) {
        alarmed = stats.disk_alarm;
        // Logged once per transition, not per failed batch.
        if (alarmed) {
          log::write(LogLevel::kError,
                     "storage: writes failing, records held in memory: " + stats.last_error);
        } else {
          log::write(LogLevel::kNotice, "storage: writes succeed again");
        }
      }
    }
    publish_counters(wall_now());
    writer_->stop();
    refresh_status();
    return {};
  };
  w.stop = [this] { storage_stop_.store(true); };
  return w;
}

WorkerSpec DataPipeline::capture_worker() {
  WorkerSpec w;
  w.name = "capture";
  if (!config_.capture.interfaces.empty()) {
    w.prepare = [this]() -> Result<void> {
      capture::AttributionServiceOptions attribution;
      attribution.attribution = attribution_options(config_);
      auto service = capture::AttributionService::start(
          attribution, [this](FlowRecord&& f) { return push_flow(std::move(f)); },
          [this](const SessionRecord& s) { push_session(s); });
      if (!service) return std::unexpected(service.error());
      capture::AttributionService* tracker_owner = service->get();
      capture::LiveCaptureOptions options;
      options.interfaces = interface_options(config_.capture);
      if (attribution.attribution.enabled) {
        options.control.ports = control_ports(attribution.attribution);
        options.control.snaplen = static_cast<int>(config_.attribution.control_snaplen);
        options.control.sink = [tracker_owner](const capture::PacketInfo& p) {
          return tracker_owner->submit_control(p);
        };
      }
      auto live = capture::LiveCapture::start(std::move(options), [tracker_owner](FlowRecord&& f) {
        return tracker_owner->submit_flow(std::move(f));
      });
      if (!live) {
        (*service)->stop();
        return std::unexpected(live.error());
      }
      std::lock_guard lock(mu_);
      attribution_ = std::move(*service);
      live_ = std::move(*live);
      return {};
    };
    w.run = [this](Heartbeat& hb) -> Result<void> {
      while (!capture_stop_.load()) {
        hb.beat();
        std::this_thread::sleep_for(kTick);
      }
      live_->stop();         // exports every open flow before returning
      attribution_->stop();  // attributes them, hands them on, emits the open sessions
      return {};
    };
  } else if (!config_.capture.pcap_file.empty()) {
    w.run = [this](Heartbeat& hb) -> Result<void> {
      capture::CaptureOptions options;
      options.meter = meter_options(config_.capture);
      options.attribution = attribution_options(config_);
      TimestampNs last_seen = 0;
      capture::CaptureFileReport report;
      auto counters = capture::read_capture_file(
          config_.capture.pcap_file, options,
          [&](FlowRecord&& flow) {
            hb.beat();
            last_seen = std::max(last_seen, flow.last_ts);
            // A file has no kernel ring to overflow: wait for room in the
            // writer's queue instead of shedding (live capture sheds). Only a
            // stop gives up, and what it gives up is counted as a queue drop.
            while (!writer_->try_push(FlowRecord(flow))) {
              if (capture_stop_.load()) {
                queue_drops_.fetch_add(1, std::memory_order_relaxed);
                return;
              }
              hb.beat();
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            flows_pushed_.fetch_add(1, std::memory_order_relaxed);
          },
          [&](const SessionRecord& session) { push_session(session); }, &report);
      if (!counters) {
        return fail(counters.error().code,
                    "capture file " + config_.capture.pcap_file + ": " + counters.error().message);
      }
      {
        std::lock_guard lock(mu_);
        capture_totals_ = *counters;
        capture::InterfaceCounters file;
        file.interface = kFileInterface;
        file.counters = *counters;
        file.decode_errors = report.decode_errors;
        interfaces_.assign(1, std::move(file));
      }
      // The file's counters belong to the time it covers, not to now.
      publish_counters(last_seen);
      log::write(LogLevel::kInfo, fmt::format("capture: {} consumed: {} packets, {} flows",
                                              config_.capture.pcap_file, counters->packets,
                                              counters->flows_exported));
      capture_done_.store(true);
      return {};
    };
  } else {
    // No input configured (the packaged default): serve stored data only.
    w.run = [](Heartbeat&) -> Result<void> { return {}; };
  }
  w.stop = [this] { capture_stop_.store(true); };
  return w;
}

void DataPipeline::register_metrics(metrics::Registry& m) {
  // Per interface (live) or `file` (offline input), from the snapshot the
  // storage worker refreshes every 5 s.
  std::vector<std::string> names = config_.capture.interfaces;
  if (names.empty() && !config_.capture.pcap_file.empty()) names.push_back(kFileInterface);
  for (const std::string& name : names) {
    const metrics::Labels labels{{"interface", name}};
    // One value of this interface's latest counters snapshot (0 before the first).
    auto read = [this, name](auto value_of) {
      return [this, name, value_of]() {
        std::lock_guard lock(mu_);
        for (const auto& i : interfaces_) {
          if (i.interface == name) return static_cast<double>(value_of(i));
        }
        return 0.0;
      };
    };
    auto field = [&read](auto member) {
      return read([member](const capture::InterfaceCounters& i) { return i.counters.*member; });
    };
    m.counter_callback("conntrail_capture_packets_total", "Packets handed to the decoder", labels,
                       field(&CaptureCounters::packets));
    m.counter_callback("conntrail_capture_bytes_total", "Wire bytes of captured packets", labels,
                       field(&CaptureCounters::bytes));
    m.counter_callback("conntrail_capture_kernel_drops_total", "pcap_stats ps_drop", labels,
                       field(&CaptureCounters::kernel_drops));
    m.counter_callback("conntrail_capture_interface_drops_total", "pcap_stats ps_ifdrop", labels,
                       field(&CaptureCounters::interface_drops));
    m.counter_callback("conntrail_flows_exported_total", "Flow records exported by capture",
                       labels, field(&CaptureCounters::flows_exported));
    m.counter_callback("conntrail_flows_evicted_total",
                       "Flow records exported early at the flow table cap", labels,
                       field(&CaptureCounters::flows_evicted));
    m.gauge_callback("conntrail_flows_active", "Flows in the flow table", labels,
                     read([](const capture::InterfaceCounters& i) { return i.flows_active; }));
    for (std::size_t k = 1; k < capture::kDecodeErrorKinds; ++k) {
      const auto kind = static_cast<capture::DecodeError>(k);
      m.counter_callback(
          "conntrail_capture_decode_errors_total",
          "Malformed or unusable packets by kind (dropped kinds belong to no flow)",
          {{"interface", name}, {"kind", std::string(capture::to_string(kind))}},
          read([kind](const capture::InterfaceCounters& i) { return i.decode_errors[kind]; }));
    }
  }
  m.counter_callback("conntrail_storage_queue_drops_total",
                     "Flow records shed because the storage queue was full", {},
                     [this] { return static_cast<double>(queue_drops_.load()); });
  auto writer = [this](auto field) {
    return [this, field]() { return writer_ ? static_cast<double>(writer_->stats().*field) : 0.0; };
  };
  m.counter_callback("conntrail_storage_rows_written_total", "Flow records committed to shards", {},
                     writer(&storage::WriterStats::rows_written));
  m.counter_callback("conntrail_storage_rows_failed_total",
                     "Records that could not be written (counted, never silent)", {},
                     writer(&storage::WriterStats::rows_failed));
  m.counter_callback("conntrail_storage_shards_sealed_total", "Shards sealed", {},
                     writer(&storage::WriterStats::shards_sealed));
  m.counter_callback("conntrail_storage_days_merged_total",
                     "Finished days whose sealed shards were merged into one day shard", {},
                     writer(&storage::WriterStats::days_merged));
  m.counter_callback("conntrail_storage_merge_failures_total",
                     "Day merges refused or failed (the day keeps its shards)", {},
                     writer(&storage::WriterStats::merge_failures));
  m.gauge_callback("conntrail_storage_queue_depth", "Records waiting for the writer", {},
                   writer(&storage::WriterStats::queue_depth));
  m.gauge_callback("conntrail_storage_disk_alarm", "1 while shard writes fail", {},
                   [this] { return writer_ && writer_->stats().disk_alarm ? 1.0 : 0.0; });
  auto store = [this](auto field) {
    return [this, field]() {
      std::lock_guard lock(mu_);
      return static_cast<double>(store_status_.*field);
    };
  };
  m.gauge_callback("conntrail_storage_shards", "Shards by state", {{"state", "open"}},
                   store(&storage::StoreStatus::shards_open));
  m.gauge_callback("conntrail_storage_shards", "Shards by state", {{"state", "sealed"}},
                   store(&storage::StoreStatus::shards_sealed));
  m.gauge_callback("conntrail_storage_bytes", "Bytes of shards and manifest on disk", {},
                   store(&storage::StoreStatus::bytes_on_disk));
  m.gauge_callback("conntrail_storage_disk_free_bytes",
                   "Bytes available to the agent on the data directory's file system", {}, [this] {
                     std::error_code ec;
                     const auto space = std::filesystem::space(config_.storage.data_dir, ec);
                     return ec ? 0.0 : static_cast<double>(space.available);
                   });
  m.gauge_callback("conntrail_storage_oldest_data_age_seconds",
                   "Age of the start of the oldest stored period", {}, [this] {
                     std::lock_guard lock(mu_);
                     if (!store_status_.oldest_period_start) return 0.0;
                     return static_cast<double>(wall_now() - *store_status_.oldest_period_start) / 1e9;
                   });
  m.gauge_callback("conntrail_storage_retention_seconds",
                   "Data older than this is deleted (the retention, in seconds, as of now)", {},
                   [this] {
                     const auto now = wall_now();
                     return static_cast<double>(
                                now - storage::retention_cutoff(now, retention_months_.load())) /
                            1e9;
                   });
  m.gauge_callback("conntrail_storage_flows", "Flow records stored", {},
                   store(&storage::StoreStatus::flows_stored));
}

}  // namespace conntrail::agent
