#include "agent/cli/capture_cli_options.h"

#include <cmath>

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

// Seconds (fraction allowed) to ns; rejects negative, non-finite and absurd values.
bool seconds_to_ns(double seconds, TimestampNs* out) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 365.0 * 86400) return false;
  *out = static_cast<TimestampNs>(std::llround(seconds * 1e9));
  return true;
}

}  // namespace

void CaptureCliOptions::add_to(po::options_description& desc) {
  desc.add_options()("idle-timeout", po::value(&idle_), "idle timeout of every protocol, seconds")(
      "active-timeout", po::value(&active_),
      "active timeout of every protocol, seconds (default 300)")(
      "tcp-idle-timeout", po::value(&tcp_idle_), "TCP idle timeout, seconds (default 300)")(
      "udp-idle-timeout", po::value(&udp_idle_), "UDP idle timeout, seconds (default 60)")(
      "icmp-idle-timeout", po::value(&icmp_idle_),
      "ICMP/ICMPv6 idle timeout, seconds (default 60)")(
      "other-idle-timeout", po::value(&other_idle_),
      "other protocols' idle timeout, seconds (default 60)")(
      "tcp-close-linger", po::value(&linger_),
      "how long a closed TCP flow takes late packets, seconds (default 5)")(
      "tunnel-layer", po::value(&tunnel_text_),
      "inner (default): flows of the tunnelled conversation; outer: of the tunnel")(
      "flow-key-vlan", po::bool_switch(&key_vlan_), "VLAN ids are part of the flow key")(
      "subscriber-prefix", po::value(&prefixes_),
      "subscriber prefix (repeatable), e.g. 100.64.0.0/10")(
      "max-flows", po::value(&max_flows_),
      "flow table cap (flows); at the cap the oldest are evicted")(
      "no-attribution", po::bool_switch(&no_attribution_),
      "do not read RADIUS/DHCP: the subscriber column stays empty, no sessions")(
      "subscriber-id", po::value(&subscriber_id_order_),
      "which field names the subscriber, first present wins (default "
      "user-name,circuit-id,remote-id,subscriber-id,mac,duid)")(
      "open-bound", po::value(&open_bound_s_),
      "seconds after its last refresh that a session without a lease is assumed ended "
      "(default 86400)")("radius-port", po::value(&radius_ports_)->multitoken(),
                         "RADIUS accounting UDP port (repeatable; default 1813 1646)")(
      "max-bindings", po::value(&max_bindings_),
      "bound on tracked attribution bindings (default 1000000)");
}

Result<capture::CaptureOptions> CaptureCliOptions::build() const {
  capture::CaptureOptions options;
  auto& t = options.meter.flows.timeouts;
  struct Setting {
    const char* name;
    double value;
    std::vector<TimestampNs*> targets;
  };
  const Setting settings[] = {
      {"--idle-timeout", idle_, {&t.tcp.idle, &t.udp.idle, &t.icmp.idle, &t.other.idle}},
      {"--active-timeout",
       active_,
       {&t.tcp.active, &t.udp.active, &t.icmp.active, &t.other.active}},
      {"--tcp-idle-timeout", tcp_idle_, {&t.tcp.idle}},
      {"--udp-idle-timeout", udp_idle_, {&t.udp.idle}},
      {"--icmp-idle-timeout", icmp_idle_, {&t.icmp.idle}},
      {"--other-idle-timeout", other_idle_, {&t.other.idle}},
      {"--tcp-close-linger", linger_, {&t.tcp_close_linger}},
  };
  for (const Setting& s : settings) {
    if (s.value == -1) continue;
    TimestampNs ns = 0;
    if (!seconds_to_ns(s.value, &ns)) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(s.name) + " must be between 0 and 31536000 seconds");
    }
    for (TimestampNs* target : s.targets) *target = ns;
  }
  if (tunnel_text_ == "outer") {
    options.meter.decode.tunnel_layer = capture::TunnelLayer::kOuter;
  } else if (tunnel_text_ != "inner") {
    return fail(ErrorCode::kInvalidArgument, "--tunnel-layer must be inner or outer");
  }
  options.meter.flows.key_vlan = key_vlan_;
  if (max_flows_ != 0) options.meter.flows.max_flows = max_flows_;
  for (const std::string& text : prefixes_) {
    auto prefix = IpPrefix::parse(text);
    if (!prefix) {
      return fail(ErrorCode::kInvalidArgument,
                  "--subscriber-prefix " + text + ": " + prefix.error().message);
    }
    options.meter.flows.subscriber_prefixes.push_back(*prefix);
  }

  auto& a = options.attribution;
  a.enabled = !no_attribution_;
  if (!subscriber_id_order_.empty()) {
    auto order = capture::parse_subscriber_id_order(subscriber_id_order_);
    if (!order) {
      return fail(ErrorCode::kInvalidArgument, "--subscriber-id: " + order.error().message);
    }
    a.tracker.subscriber_id_order = *order;
  }
  if (!(open_bound_s_ > 0) || open_bound_s_ > 366.0 * 24 * 3600) {
    return fail(ErrorCode::kInvalidArgument, "--open-bound must be in (0, 31622400] seconds");
  }
  a.tracker.open_bound = static_cast<TimestampNs>(open_bound_s_ * 1e9);
  if (max_bindings_ == 0) return fail(ErrorCode::kInvalidArgument, "--max-bindings must be > 0");
  a.tracker.max_bindings = max_bindings_;
  if (!radius_ports_.empty()) a.dispatch.radius_accounting_ports = radius_ports_;
  return options;
}

}  // namespace conntrail::cli
