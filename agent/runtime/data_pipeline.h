// agent/runtime/data_pipeline.h — capture → storage inside the daemon.
//
// The pipeline owns the storage writer and the capture source and exposes
// them to the Agent as two workers, registered storage first so that on
// shutdown capture stops first (exporting every open flow with end reason
// `shutdown`) and the writer then commits everything it was handed.
//
// Threads:
//  | thread          | does                                                     |
//  |-----------------|----------------------------------------------------------|
//  | storage worker  | heartbeat; every few seconds: capture counters → writer, |
//  |                 | status snapshot (the writer has its own writer/sealer    |
//  |                 | threads)                                                 |
//  | capture worker  | offline: reads the configured pcap file once, then       |
//  |                 | finishes (the agent keeps serving); live: LiveCapture's  |
//  |                 | own per-interface threads, this one only beats           |
//  | attribution     | live only: capture::AttributionService's thread, the one |
//  |                 | owner of the session tracker (RADIUS/DHCP from every     |
//  |                 | interface's control handle); fills each flow's           |
//  |                 | subscriber and emits sessions                            |
// Records cross from capture to storage only through FlowWriter::try_push,
// which never blocks: a full queue is a counted queue drop (flows and
// sessions counted apart). Offline, read_capture_file attributes in-line.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "agent/config/agent_config.h"
#include "agent/metrics/registry.h"
#include "agent/runtime/agent.h"
#include "capture/pipeline/attribution_service.h"
#include "capture/source/live_capture.h"
#include "core/capture_counters.h"
#include "storage/store/flow_writer.h"
#include "storage/store/store_status.h"

namespace conntrail::agent {

class DataPipeline {
 public:
  explicit DataPipeline(const AgentConfig& config, metrics::Registry& metrics);
  ~DataPipeline();
  DataPipeline(const DataPipeline&) = delete;
  DataPipeline& operator=(const DataPipeline&) = delete;

  WorkerSpec storage_worker();
  WorkerSpec capture_worker();
  // SIGHUP: the retention storage applies from now on.
  void set_retention_months(int months);
  // Thread-safe snapshot for GET /v1/status and STATUS=.
  StatusFigures status() const;

 private:
  void register_metrics(metrics::Registry& metrics);
  bool push_flow(FlowRecord&& flow);
  void push_session(const SessionRecord& session);
  void publish_counters(TimestampNs now);
  void refresh_status();

  const AgentConfig config_;
  std::unique_ptr<storage::FlowWriter> writer_;
  std::unique_ptr<capture::AttributionService> attribution_;  // live only
  std::unique_ptr<capture::LiveCapture> live_;
  std::atomic<bool> storage_stop_{false};
  std::atomic<bool> capture_stop_{false};

  // Capture totals: offline counters are set once at end of file; live ones
  // are the sum of LiveCapture's per-interface snapshots.
  mutable std::mutex mu_;
  CaptureCounters capture_totals_;     // guarded by mu_
  std::vector<capture::InterfaceCounters> interfaces_;  // per interface; guarded by mu_
  // For the STATUS= line; guarded by mu_.
  double flows_per_second_ = 0;
  double disk_free_percent_ = -1;
  std::uint64_t rate_rows_ = 0;
  std::chrono::steady_clock::time_point rate_since_ = std::chrono::steady_clock::now();
  std::atomic<int> retention_months_{static_cast<int>(config_.storage.retention_months)};
  CaptureCounters published_;          // what was handed to the writer so far; guarded by mu_
  storage::StoreStatus store_status_;  // guarded by mu_
  std::atomic<std::uint64_t> queue_drops_{0};
  std::atomic<std::uint64_t> flows_pushed_{0};
  std::atomic<std::uint64_t> sessions_pushed_{0};
  std::atomic<std::uint64_t> session_drops_{0};
  std::atomic<bool> capture_done_{false};
};

}  // namespace conntrail::agent
