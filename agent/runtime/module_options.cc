#include "agent/runtime/module_options.h"

#include "storage/journal/journal.h"

namespace conntrail::agent {
namespace {

capture::ProtocolTimeouts timeouts(const FlowTimeouts& t) {
  return {t.idle.count() * kNsPerSecond, t.active.count() * kNsPerSecond};
}


}  // namespace

capture::MeterOptions meter_options(const CaptureOptions& c) {
  capture::MeterOptions m;
  m.decode.tunnel_layer = c.tunnel_mode == TunnelMode::kOuter ? capture::TunnelLayer::kOuter
                                                              : capture::TunnelLayer::kInner;
  m.flows.timeouts.tcp = timeouts(c.tcp);
  m.flows.timeouts.udp = timeouts(c.udp);
  m.flows.timeouts.icmp = timeouts(c.icmp);
  m.flows.timeouts.other = timeouts(c.other);
  m.flows.max_flows = static_cast<std::size_t>(c.flow_table_max_flows);
  m.fragments.max_bytes = static_cast<std::size_t>(c.fragment_table_max_bytes);
  m.flows.key_vlan = c.flow_key_vlan;
  m.flows.subscriber_prefixes = c.subscriber_prefixes;
  return m;
}

capture::AttributionOptions attribution_options(const AgentConfig& config) {
  const AttributionConfig& c = config.attribution;
  capture::AttributionOptions a;
  a.enabled = c.enabled;
  if (!c.radius_ports.empty()) a.dispatch.radius_accounting_ports = c.radius_ports;
  if (!c.subscriber_id.empty()) {
    // Validated when the configuration was parsed.
    if (auto order = capture::parse_subscriber_id_order(c.subscriber_id)) {
      a.tracker.subscriber_id_order = *order;
    }
  }
  a.tracker.open_bound = c.open_bound.count() * kNsPerSecond;
  a.tracker.max_bindings = static_cast<std::size_t>(c.max_bindings);
  a.tracker.closed_retention =
      std::max(a.tracker.closed_retention,
               capture::closed_retention_for(meter_options(config.capture).flows.timeouts));
  return a;
}

std::vector<std::uint16_t> control_ports(const capture::AttributionOptions& a) {
  std::vector<std::uint16_t> ports = a.dispatch.radius_accounting_ports;
  for (std::uint16_t p : {capture::kDhcpv4ServerPort, capture::kDhcpv4ClientPort,
                          capture::kDhcpv6ServerPort, capture::kDhcpv6ClientPort}) {
    ports.push_back(p);
  }
  return ports;
}

std::vector<capture::InterfaceOptions> interface_options(const CaptureOptions& c) {
  std::vector<capture::InterfaceOptions> out;
  std::uint16_t index = 0;
  for (const auto& name : c.interfaces) {
    capture::InterfaceOptions i;
    i.pcap.interface = name;
    i.pcap.snaplen = static_cast<int>(c.snaplen);
    i.pcap.promiscuous = c.promiscuous;
    i.pcap.buffer_bytes = static_cast<int>(std::min<std::uint64_t>(c.buffer_size, 1u << 30));
    i.pcap.bpf_filter = c.bpf_filter;
    i.meter = meter_options(c);
    i.meter.flows.interface_id = index++;
    out.push_back(std::move(i));
  }
  return out;
}

std::chrono::seconds store_lateness(const capture::FlowTimeouts& timeouts) {
  return std::chrono::seconds((capture::max_export_delay(timeouts) + kNsPerSecond - 1) / kNsPerSecond);
}

storage::StoreOptions store_options(const AgentConfig& config) {
  storage::StoreOptions s;
  s.data_dir = config.storage.data_dir;
  s.shard_period = config.storage.shard_period == ShardPeriod::kDay ? std::chrono::seconds(86400)
                                                                    : std::chrono::seconds(3600);
  s.merge_sealed_days = config.storage.merge_sealed_days;
  s.active_timeout = store_lateness(meter_options(config.capture).flows.timeouts);
  s.queue_capacity = config.storage.queue_capacity;
  s.batch_max_records = config.storage.batch_max_rows;
  s.batch_max_delay = config.storage.batch_max_ms;
  s.retention_months = static_cast<int>(config.storage.retention_months);
  s.seal_in_background = true;
  return s;
}

LawfulApiOptions lawful_api_options(const AgentConfig& config) {
  LawfulApiOptions o;
  o.journal_path = storage::journal_path_for_data_dir(config.storage.data_dir);
  o.officers_path = config.api.officers_file;
  o.approvals_required = config.api.approvals_required;
  o.request_ttl = static_cast<TimestampNs>(config.api.request_expiry_days) * kNsPerDay;
  o.limits.max_selectors = config.api.max_selectors;
  o.limits.max_attribution_window =
      static_cast<TimestampNs>(config.api.max_attribution_window.count()) * kNsPerSecond;
  o.limits.min_prefix_v4 = static_cast<int>(config.api.min_prefix_v4);
  o.limits.min_prefix_v6 = static_cast<int>(config.api.min_prefix_v6);
  o.limits.max_window = static_cast<TimestampNs>(config.api.max_query_window_days) * kNsPerDay;
  // Retention is in calendar months; the request check takes a duration. 31 days a
  // month never refuses a window that is inside retention; the part of a window
  // that storage already deleted comes back as a "before retention" gap.
  o.limits.retention = static_cast<TimestampNs>(config.storage.retention_months) * 31 * kNsPerDay;
  o.limits.max_body_bytes = static_cast<std::size_t>(config.api.max_request_body);
  o.attribution_lookaround =
      std::chrono::duration_cast<std::chrono::nanoseconds>(store_options(config).session_lookaround)
          .count();
  return o;
}

}  // namespace conntrail::agent
