// agent/runtime/module_options.h — the agent's configuration, translated for each module.
//
// capture/, storage/ and agent/api/ each take their own options struct and know
// nothing of the INI file. These pure functions are the one place that maps
// AgentConfig keys onto them, so the daemon and the operator tool (`conntrail
// ingest`) build exactly the same pipeline from the same configuration.
#pragma once

#include <vector>

#include "agent/api/lawful_api.h"
#include "agent/config/agent_config.h"
#include "capture/pipeline/attribution_stage.h"
#include "capture/pipeline/flow_meter.h"
#include "capture/source/live_capture.h"
#include "storage/store/store_options.h"

namespace conntrail::agent {

capture::MeterOptions meter_options(const CaptureOptions& capture);
// Attribution (RADIUS accounting / DHCP → sessions, flows' subscriber) from
// [attribution]; closed sessions are kept as long as a flow can take to be
// exported under the configured [capture] timeouts.
capture::AttributionOptions attribution_options(const AgentConfig& config);
// UDP ports the live control handles capture: RADIUS accounting and DHCP.
std::vector<std::uint16_t> control_ports(const capture::AttributionOptions& attribution);
// One entry per configured interface, each with its own meter options.
std::vector<capture::InterfaceOptions> interface_options(const CaptureOptions& capture);
storage::StoreOptions store_options(const AgentConfig& config);
// How late after its first packet capture can hand storage a record
// (StoreOptions::active_timeout): capture::max_export_delay, in whole seconds.
std::chrono::seconds store_lateness(const capture::FlowTimeouts& timeouts);
LawfulApiOptions lawful_api_options(const AgentConfig& config);

}  // namespace conntrail::agent
