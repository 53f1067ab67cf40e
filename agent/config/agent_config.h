// agent/config/agent_config.h — the agent's configuration as one immutable snapshot.
//
// The configuration file is INI (Boost.Program_options syntax): sections [capture],
// [storage], [api], [log], [metrics]; `key = value`; `#` starts a comment; repeatable
// keys (interface, subscriber_prefix, listen) may appear several times. Every key is
// documented in docs/CONFIG.md and configs/conntrail.conf with its default and range.
//
// Invariants of an AgentConfig returned by parse_config()/load_config():
//   * every value is inside its documented range and cross-key rules hold
//     (e.g. max_connections_per_address <= max_connections, not both pcap_file and
//     interface), so consumers never re-validate;
//   * it is a value: threads get a `std::shared_ptr<const AgentConfig>` and never see
//     it change; a reload builds a new snapshot (nghttpx's immutable-config habit).
//
// Parsing never throws across this module's edge: it returns every error found (not
// only the first), each naming the file, the line (when the key is in the file), the
// key and the reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.h"
#include "core/result.h"

namespace conntrail::agent {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

// A TCP listen address: "127.0.0.1:8443", "[::1]:8443", "[::]:8443". Port 0 = any free port.
struct ListenAddress {
  IpAddress address;
  std::uint16_t port = 0;

  static Result<ListenAddress> parse(std::string_view text);
  std::string to_string() const;
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

enum class TunnelMode : std::uint8_t { kInner, kOuter };
enum class ShardPeriod : std::uint8_t { kHour, kDay };
enum class TlsVersion : std::uint8_t { kTls12, kTls13 };
// syslog/sd-daemon priorities (<systemd/sd-daemon.h> SD_ERR = 3 ... SD_DEBUG = 7).
enum class LogLevel : std::uint8_t { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

const char* to_string(TunnelMode mode) noexcept;
const char* to_string(ShardPeriod period) noexcept;
const char* to_string(TlsVersion version) noexcept;
const char* to_string(LogLevel level) noexcept;

// Idle (no packet for this long) and active (flow older than this) timeouts of one protocol.
struct FlowTimeouts {
  Seconds idle{60};
  Seconds active{300};
  friend bool operator==(const FlowTimeouts&, const FlowTimeouts&) = default;
};

struct CaptureOptions {
  std::vector<std::string> interfaces;  // empty: no live capture (the packaged default)
  std::string pcap_file;                // offline/demo input; exclusive with interfaces
  std::string bpf_filter;
  std::uint32_t snaplen = 512;
  std::uint64_t buffer_size = 64ull << 20;  // kernel ring buffer, bytes
  bool promiscuous = false;
  FlowTimeouts tcp{Seconds{300}, Seconds{300}};
  FlowTimeouts udp{Seconds{60}, Seconds{300}};
  FlowTimeouts icmp{Seconds{60}, Seconds{300}};
  FlowTimeouts other{Seconds{60}, Seconds{300}};
  std::uint64_t flow_table_max_flows = 1'000'000;
  std::uint64_t fragment_table_max_bytes = 4ull << 20;  // hard cap of the IP fragment table
  std::vector<IpPrefix> subscriber_prefixes;  // the ISP's customer side; sets flow direction
  bool flow_key_vlan = false;                 // VLAN id part of the flow key
  TunnelMode tunnel_mode = TunnelMode::kInner;
  friend bool operator==(const CaptureOptions&, const CaptureOptions&) = default;
};

struct StorageOptions {
  std::string data_dir = "/var/lib/conntrail";
  ShardPeriod shard_period = ShardPeriod::kHour;
  bool merge_sealed_days = true;  // a finished day's shards → one sealed day shard
  std::uint32_t retention_months = 12;
  std::uint32_t batch_max_rows = 10'000;
  Millis batch_max_ms{1000};
  std::uint32_t queue_capacity = 262'144;
  friend bool operator==(const StorageOptions&, const StorageOptions&) = default;
};

// Everything the HTTP/2 server (agent/http2/server.h) and the query service need.
struct ApiOptions {
  std::vector<ListenAddress> listen;  // default: 127.0.0.1:8443 when none is given
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string crl;  // optional
  std::string officers_file;
  TlsVersion tls_min_version = TlsVersion::kTls13;
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t max_header_list_size = 16 * 1024;
  std::uint64_t max_request_body = 64 * 1024;
  std::uint32_t max_connections = 256;
  std::uint32_t max_connections_per_address = 16;
  Seconds idle_timeout{120};
  Seconds handshake_timeout{10};
  std::uint32_t requests_per_minute = 60;  // per officer; 429 beyond
  // Rapid-reset defence (CVE-2023-44487): at most this many RST_STREAM frames
  // received per connection per window, then GOAWAY(ENHANCE_YOUR_CALM).
  std::uint32_t max_resets_per_window = 200;
  Seconds reset_window{10};
  // Lawful request workflow bounds (issue 5), consumed by agent/api/.
  std::uint32_t approvals_required = 1;
  std::uint32_t max_query_window_days = 31;
  std::uint32_t request_expiry_days = 30;
  std::uint32_t max_selectors = 32;
  Seconds max_attribution_window{3600};  // half-width around an attribution request's instant
  std::uint32_t min_prefix_v4 = 24;
  std::uint32_t min_prefix_v6 = 48;
  friend bool operator==(const ApiOptions&, const ApiOptions&) = default;
};

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  friend bool operator==(const LogOptions&, const LogOptions&) = default;
};

struct MetricsOptions {
  bool listen_enabled = true;
  ListenAddress listen{IpAddress::v4(0x7f000001), 9469};  // loopback by default
  std::string textfile;  // node_exporter textfile collector path; empty = off
  Seconds textfile_interval{15};
  friend bool operator==(const MetricsOptions&, const MetricsOptions&) = default;
};

// [attribution]: subscriber attribution from RADIUS accounting and DHCP
// (docs/ATTRIBUTION.md); mapped onto capture::AttributionOptions by
// agent/runtime/module_options.
struct AttributionConfig {
  bool enabled = true;
  std::vector<std::uint16_t> radius_ports;  // RADIUS accounting ports; empty: 1813 and 1646
  std::string subscriber_id = "user-name,circuit-id,remote-id,subscriber-id,mac,duid";
  Seconds open_bound{86400};  // sessions without a lease, unrefreshed, end here
  std::uint64_t max_bindings = 1'000'000;
  std::uint32_t control_snaplen = 65535;  // live control handles (RADIUS/DHCP only)
  friend bool operator==(const AttributionConfig&, const AttributionConfig&) = default;
};

struct AgentConfig {
  std::string source;  // the file it came from ("<string>" in tests)
  CaptureOptions capture;
  AttributionConfig attribution;
  StorageOptions storage;
  ApiOptions api;
  LogOptions log;
  MetricsOptions metrics;
  friend bool operator==(const AgentConfig&, const AgentConfig&) = default;
};

struct ConfigError {
  std::string file;
  int line = 0;     // 1-based; 0 when the key is not in the file (missing required key)
  std::string key;  // "api.max_concurrent_streams"; empty for syntax errors
  std::string reason;
  // "FILE:LINE: KEY: REASON" (parts omitted when unknown).
  std::string to_string() const;
};

using ConfigErrors = std::vector<ConfigError>;

// Parses INI text; `file_name` is only used in error messages and AgentConfig::source.
std::expected<AgentConfig, ConfigErrors> parse_config(std::string_view text,
                                                      const std::string& file_name);
// Reads and parses a file; an unreadable file is one ConfigError with line 0.
std::expected<AgentConfig, ConfigErrors> load_config(const std::string& path);

// The effective configuration as INI text that parse_config() reads back to an equal value.
std::string format_config(const AgentConfig& config);

// Helpers shared with other modules' option parsing (and tested on their own).
// "90", "90s", "15m", "2h", "1d" -> seconds (plain numbers are seconds).
Result<Seconds> parse_duration(std::string_view text);
// "65536", "64KiB", "64k", "16MiB", "1GiB" -> bytes (binary multiples).
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace conntrail::agent
