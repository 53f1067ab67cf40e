// agent/config/agent_config.cc — table-driven parsing and validation of the INI file.
//
// How it works, and why:
//   1. A line scan of our own records where every `section.key` sits (Boost does not
//      report line numbers) and rejects lines that are neither a section, a key nor a
//      comment, naming the line. It mirrors Boost's config-file grammar: text after '#'
//      is a comment, surrounding blanks are trimmed, `[name]` opens a section.
//   2. Boost.Program_options parses the text with every key declared as a string (or a
//      list of strings for repeatable keys) and allow_unregistered, so unknown keys come
//      back marked instead of aborting the parse at the first one.
//   3. The table kOptions converts and range-checks each value into AgentConfig, so every
//      error in the file is reported in one run, each with file, line, key and reason.
#include "agent/config/agent_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "capture/attribution/session_tracker.h"

namespace conntrail::agent {
namespace po = boost::program_options;

namespace {

std::string_view trim(std::string_view s) {
  const auto* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

Result<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || p != end) {
    return fail(ErrorCode::kInvalidArgument, "not a non-negative integer");
  }
  return v;
}

// An option: where it lives, how to read a value into the config and how to print it back.
// apply() returns an empty string on success, otherwise the reason.
struct Option {
  Option(std::string s, std::string k, bool repeat = false)
      : section(std::move(s)), key(std::move(k)), repeatable(repeat) {}
  std::string section;
  std::string key;
  bool repeatable = false;
  bool required = false;
  std::function<std::string(AgentConfig&, const std::string&)> apply;
  std::function<std::vector<std::string>(const AgentConfig&)> print;
  std::string name() const { return section + "." + key; }
};

template <class Get>
Option uint_option(const char* section, const char* key, Get get, std::uint64_t lo,
                   std::uint64_t hi) {
  Option o{section, key};
  o.apply = [get, lo, hi](AgentConfig& c, const std::string& v) -> std::string {
    auto n = parse_uint(trim(v));
    if (!n || *n < lo || *n > hi) {
      return fmt::format("must be an integer from {} to {}, got \"{}\"", lo, hi, v);
    }
    using T = std::remove_reference_t<decltype(get(c))>;
    get(c) = static_cast<T>(*n);
    return {};
  };
  o.print = [get](const AgentConfig& c) {
    return std::vector<std::string>{std::to_string(get(c))};
  };
  return o;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return fmt::format("{}GiB", bytes >> 30);
  if (bytes != 0 && bytes % (1ull << 20) == 0) return fmt::format("{}MiB", bytes >> 20);
  if (bytes != 0 && bytes % (1ull << 10) == 0) return fmt::format("{}KiB", bytes >> 10);
  return std::to_string(bytes);
}

template <class Get>
Option size_option(const char* section, const char* key, Get get, std::uint64_t lo,
                   std::uint64_t hi) {
  Option o{section, key};
  o.apply = [get, lo, hi](AgentConfig& c, const std::string& v) -> std::string {
    auto n = parse_size(trim(v));
    if (!n || *n < lo || *n > hi) {
      return fmt::format("must be a size from {} to {} (bytes, or with KiB/MiB/GiB), got \"{}\"",
                         format_size(lo), format_size(hi), v);
    }
    using T = std::remove_reference_t<decltype(get(c))>;
    get(c) = static_cast<T>(*n);
    return {};
  };
  o.print = [get](const AgentConfig& c) { return std::vector<std::string>{format_size(get(c))}; };
  return o;
}

std::string format_duration(Seconds s) {
  const auto n = s.count();
  if (n != 0 && n % 86400 == 0) return fmt::format("{}d", n / 86400);
  if (n != 0 && n % 3600 == 0) return fmt::format("{}h", n / 3600);
  if (n != 0 && n % 60 == 0) return fmt::format("{}m", n / 60);
  return fmt::format("{}s", n);
}

template <class Get>
Option duration_option(const char* section, const char* key, Get get, Seconds lo, Seconds hi) {
  Option o{section, key};
  o.apply = [get, lo, hi](AgentConfig& c, const std::string& v) -> std::string {
    auto d = parse_duration(trim(v));
    if (!d || *d < lo || *d > hi) {
      return fmt::format("must be a duration from {} to {} (s, m, h, d), got \"{}\"",
                         format_duration(lo), format_duration(hi), v);
    }
    get(c) = *d;
    return {};
  };
  o.print = [get](const AgentConfig& c) {
    return std::vector<std::string>{format_duration(get(c))};
  };
  return o;
}

template <class Get>
Option millis_option(const char* section, const char* key, Get get, std::uint64_t lo,
                     std::uint64_t hi) {
  Option o{section, key};
  o.apply = [get, lo, hi](AgentConfig& c, const std::string& v) -> std::string {
    auto n = parse_uint(trim(v));
    if (!n || *n < lo || *n > hi) {
      return fmt::format("must be a number of milliseconds from {} to {}, got \"{}\"", lo, hi, v);
    }
    get(c) = Millis{static_cast<Millis::rep>(*n)};
    return {};
  };
  o.print = [get](const AgentConfig& c) {
    return std::vector<std::string>{std::to_string(get(c).count())};
  };
  return o;
}

template <class Get>
Option bool_option(const char* section, const char* key, Get get) {
  Option o{section, key};
  o.apply = [get](AgentConfig& c, const std::string& v) -> std::string {
    const auto t = trim(v);
    if (t == "true" || t == "yes" || t == "on" || t == "1") {
      get(c) = true;
    } else if (t == "false" || t == "no" || t == "off" || t == "0") {
      get(c) = false;
    } else {
      return fmt::format("must be true or false, got \"{}\"", v);
    }
    return {};
  };
  o.print = [get](const AgentConfig& c) {
    return std::vector<std::string>{get(c) ? "true" : "false"};
  };
  return o;
}

// A free-form text value (a path, a BPF expression); `max` bounds its length.
template <class Get>
Option string_option(const char* section, const char* key, Get get, bool required = false,
                     std::size_t max = 4096) {
  Option o{section, key};
  o.required = required;
  o.apply = [get, max, required](AgentConfig& c, const std::string& v) -> std::string {
    const auto t = trim(v);
    if (t.size() > max) return fmt::format("longer than {} characters", max);
    if (required && t.empty()) return "must not be empty";
    get(c) = std::string(t);
    return {};
  };
  o.print = [get](const AgentConfig& c) { return std::vector<std::string>{get(c)}; };
  return o;
}

template <class E, class Get>
Option enum_option(const char* section, const char* key, Get get,
                   std::vector<std::pair<std::string, E>> names) {
  Option o{section, key};
  o.apply = [get, names](AgentConfig& c, const std::string& v) -> std::string {
    const auto t = trim(v);
    std::string all;
    for (const auto& [n, e] : names) {
      if (n == t) {
        get(c) = e;
        return {};
      }
      all += (all.empty() ? "" : ", ") + n;
    }
    return fmt::format("must be one of {}, got \"{}\"", all, v);
  };
  o.print = [get, names](const AgentConfig& c) {
    for (const auto& [n, e] : names) {
      if (get(c) == e) return std::vector<std::string>{n};
    }
    return std::vector<std::string>{"?"};
  };
  return o;
}

const std::vector<Option>& options() {
  static const std::vector<Option> kOptions = [] {
    std::vector<Option> v;
    // [capture]
    {
      Option o{"capture", "interface", true};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        const auto t = trim(s);
        // IFNAMSIZ is 16 including the terminator.
        if (t.empty() || t.size() > 15 || t.find_first_of(" /\t") != std::string_view::npos) {
          return fmt::format("must be a network interface name (1-15 characters), got \"{}\"", s);
        }
        if (std::find(c.capture.interfaces.begin(), c.capture.interfaces.end(), t) !=
            c.capture.interfaces.end()) {
          return "interface listed twice";
        }
        c.capture.interfaces.emplace_back(t);
        return {};
      };
      o.print = [](const AgentConfig& c) { return c.capture.interfaces; };
      v.push_back(o);
    }
    v.push_back(string_option(
        "capture", "pcap_file", [](auto& c) -> auto& { return c.capture.pcap_file; }));
    v.push_back(string_option(
        "capture", "bpf_filter", [](auto& c) -> auto& { return c.capture.bpf_filter; }));
    v.push_back(uint_option(
        "capture", "snaplen", [](auto& c) -> auto& { return c.capture.snaplen; }, 64, 262144));
    v.push_back(size_option(
        "capture", "buffer_size", [](auto& c) -> auto& { return c.capture.buffer_size; },
        1ull << 20, 2ull << 30));
    v.push_back(bool_option(
        "capture", "promiscuous", [](auto& c) -> auto& { return c.capture.promiscuous; }));
    const Seconds one{1};
    const Seconds day{86400};
    v.push_back(duration_option(
        "capture", "tcp_idle_timeout", [](auto& c) -> auto& { return c.capture.tcp.idle; }, one,
        day));
    v.push_back(duration_option(
        "capture", "tcp_active_timeout", [](auto& c) -> auto& { return c.capture.tcp.active; }, one,
        day));
    v.push_back(duration_option(
        "capture", "udp_idle_timeout", [](auto& c) -> auto& { return c.capture.udp.idle; }, one,
        day));
    v.push_back(duration_option(
        "capture", "udp_active_timeout", [](auto& c) -> auto& { return c.capture.udp.active; }, one,
        day));
    v.push_back(duration_option(
        "capture", "icmp_idle_timeout", [](auto& c) -> auto& { return c.capture.icmp.idle; }, one,
        day));
    v.push_back(duration_option(
        "capture", "icmp_active_timeout", [](auto& c) -> auto& { return c.capture.icmp.active; },
        one, day));
    v.push_back(duration_option(
        "capture", "other_idle_timeout", [](auto& c) -> auto& { return c.capture.other.idle; }, one,
        day));
    v.push_back(duration_option(
        "capture", "other_active_timeout", [](auto& c) -> auto& { return c.capture.other.active; },
        one, day));
    v.push_back(uint_option(
        "capture", "flow_table_max_flows",
        [](auto& c) -> auto& { return c.capture.flow_table_max_flows; }, 1000, 100'000'000));
    v.push_back(size_option(
        "capture", "fragment_table_max_bytes",
        [](auto& c) -> auto& { return c.capture.fragment_table_max_bytes; }, 64ull << 10,
        1ull << 30));
    {
      Option o{"capture", "subscriber_prefix", true};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        auto p = IpPrefix::parse(trim(s));
        if (!p) return fmt::format("must be a CIDR prefix like 100.64.0.0/10, got \"{}\"", s);
        c.capture.subscriber_prefixes.push_back(*p);
        return {};
      };
      o.print = [](const AgentConfig& c) {
        std::vector<std::string> out;
        for (const auto& p : c.capture.subscriber_prefixes) out.push_back(p.to_string());
        return out;
      };
      v.push_back(o);
    }
    v.push_back(bool_option(
        "capture", "flow_key_vlan", [](auto& c) -> auto& { return c.capture.flow_key_vlan; }));
    v.push_back(enum_option<TunnelMode>(
        "capture", "tunnel_mode", [](auto& c) -> auto& { return c.capture.tunnel_mode; },
        {{"inner", TunnelMode::kInner}, {"outer", TunnelMode::kOuter}}));
    // [attribution]
    v.push_back(bool_option(
        "attribution", "enabled", [](auto& c) -> auto& { return c.attribution.enabled; }));
    {
      Option o{"attribution", "radius_port", true};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        auto n = parse_uint(trim(s));
        if (!n || *n < 1 || *n > 65535) {
          return fmt::format("must be a UDP port from 1 to 65535, got \"{}\"", s);
        }
        auto& ports = c.attribution.radius_ports;
        if (std::find(ports.begin(), ports.end(), *n) != ports.end()) return "port listed twice";
        ports.push_back(static_cast<std::uint16_t>(*n));
        return {};
      };
      o.print = [](const AgentConfig& c) {
        std::vector<std::string> out;
        for (auto p : c.attribution.radius_ports) out.push_back(std::to_string(p));
        return out;
      };
      v.push_back(o);
    }
    {
      Option o{"attribution", "subscriber_id"};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        const auto t = trim(s);
        if (auto order = capture::parse_subscriber_id_order(t); !order) {
          return order.error().message;
        }
        c.attribution.subscriber_id = std::string(t);
        return {};
      };
      o.print = [](const AgentConfig& c) {
        return std::vector<std::string>{c.attribution.subscriber_id};
      };
      v.push_back(o);
    }
    v.push_back(duration_option(
        "attribution", "open_bound", [](auto& c) -> auto& { return c.attribution.open_bound; },
        Seconds{60}, Seconds{366 * 86400}));
    v.push_back(uint_option(
        "attribution", "max_bindings", [](auto& c) -> auto& { return c.attribution.max_bindings; },
        1000, 100'000'000));
    v.push_back(uint_option(
        "attribution", "control_snaplen",
        [](auto& c) -> auto& { return c.attribution.control_snaplen; }, 1500, 262144));
    // [storage]
    v.push_back(string_option(
        "storage", "data_dir", [](auto& c) -> auto& { return c.storage.data_dir; }, false));
    v.push_back(enum_option<ShardPeriod>(
        "storage", "shard_period", [](auto& c) -> auto& { return c.storage.shard_period; },
        {{"hour", ShardPeriod::kHour}, {"day", ShardPeriod::kDay}}));
    v.push_back(bool_option(
        "storage", "merge_sealed_days",
        [](auto& c) -> auto& { return c.storage.merge_sealed_days; }));
    v.push_back(uint_option(
        "storage", "retention_months", [](auto& c) -> auto& { return c.storage.retention_months; },
        1, 120));
    v.push_back(uint_option(
        "storage", "batch_max_rows", [](auto& c) -> auto& { return c.storage.batch_max_rows; }, 1,
        1'000'000));
    v.push_back(millis_option(
        "storage", "batch_max_ms", [](auto& c) -> auto& { return c.storage.batch_max_ms; }, 1,
        60'000));
    v.push_back(uint_option(
        "storage", "queue_capacity", [](auto& c) -> auto& { return c.storage.queue_capacity; },
        1024, 16'777'216));
    // [api]
    {
      Option o{"api", "listen", true};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        auto a = ListenAddress::parse(trim(s));
        if (!a) return a.error().message;
        if (std::find(c.api.listen.begin(), c.api.listen.end(), *a) != c.api.listen.end()) {
          return "address listed twice";
        }
        c.api.listen.push_back(*a);
        return {};
      };
      o.print = [](const AgentConfig& c) {
        std::vector<std::string> out;
        for (const auto& a : c.api.listen) out.push_back(a.to_string());
        return out;
      };
      v.push_back(o);
    }
    v.push_back(string_option(
        "api", "tls_cert", [](auto& c) -> auto& { return c.api.tls_cert; }, true));
    v.push_back(string_option(
        "api", "tls_key", [](auto& c) -> auto& { return c.api.tls_key; }, true));
    v.push_back(string_option(
        "api", "client_ca", [](auto& c) -> auto& { return c.api.client_ca; }, true));
    v.push_back(string_option(
        "api", "crl", [](auto& c) -> auto& { return c.api.crl; }));
    v.push_back(string_option(
        "api", "officers_file", [](auto& c) -> auto& { return c.api.officers_file; }, true));
    v.push_back(enum_option<TlsVersion>(
        "api", "tls_min_version", [](auto& c) -> auto& { return c.api.tls_min_version; },
        {{"1.3", TlsVersion::kTls13}, {"1.2", TlsVersion::kTls12}}));
    v.push_back(uint_option(
        "api", "max_concurrent_streams",
        [](auto& c) -> auto& { return c.api.max_concurrent_streams; }, 1, 1000));
    v.push_back(size_option(
        "api", "max_header_list_size", [](auto& c) -> auto& { return c.api.max_header_list_size; },
        1024, 1 << 20));
    v.push_back(size_option(
        "api", "max_request_body", [](auto& c) -> auto& { return c.api.max_request_body; }, 1024,
        16 << 20));
    v.push_back(uint_option(
        "api", "max_connections", [](auto& c) -> auto& { return c.api.max_connections; }, 1,
        100'000));
    v.push_back(uint_option(
        "api", "max_connections_per_address",
        [](auto& c) -> auto& { return c.api.max_connections_per_address; }, 1, 100'000));
    v.push_back(duration_option(
        "api", "idle_timeout", [](auto& c) -> auto& { return c.api.idle_timeout; }, one,
        Seconds{3600}));
    v.push_back(duration_option(
        "api", "handshake_timeout", [](auto& c) -> auto& { return c.api.handshake_timeout; }, one,
        Seconds{300}));
    v.push_back(uint_option(
        "api", "requests_per_minute", [](auto& c) -> auto& { return c.api.requests_per_minute; }, 1,
        100'000));
    v.push_back(uint_option(
        "api", "max_resets_per_window",
        [](auto& c) -> auto& { return c.api.max_resets_per_window; }, 1, 100'000));
    v.push_back(duration_option(
        "api", "reset_window", [](auto& c) -> auto& { return c.api.reset_window; }, one,
        Seconds{3600}));
    v.push_back(uint_option(
        "api", "approvals_required", [](auto& c) -> auto& { return c.api.approvals_required; }, 1,
        10));
    v.push_back(uint_option(
        "api", "max_query_window_days",
        [](auto& c) -> auto& { return c.api.max_query_window_days; }, 1, 3660));
    v.push_back(uint_option(
        "api", "request_expiry_days", [](auto& c) -> auto& { return c.api.request_expiry_days; }, 1,
        3660));
    v.push_back(uint_option(
        "api", "max_selectors", [](auto& c) -> auto& { return c.api.max_selectors; }, 1, 1000));
    v.push_back(duration_option(
        "api", "max_attribution_window",
        [](auto& c) -> auto& { return c.api.max_attribution_window; }, Seconds{0}, Seconds{86400}));
    v.push_back(uint_option(
        "api", "min_prefix_v4", [](auto& c) -> auto& { return c.api.min_prefix_v4; }, 8, 32));
    v.push_back(uint_option(
        "api", "min_prefix_v6", [](auto& c) -> auto& { return c.api.min_prefix_v6; }, 16, 128));
    // [log]
    v.push_back(enum_option<LogLevel>("log", "level", [](auto& c) -> auto& { return c.log.level; },
                                      {{"error", LogLevel::kError},
                                       {"warning", LogLevel::kWarning},
                                       {"notice", LogLevel::kNotice},
                                       {"info", LogLevel::kInfo},
                                       {"debug", LogLevel::kDebug}}));
    // [metrics]
    {
      Option o{"metrics", "listen"};
      o.apply = [](AgentConfig& c, const std::string& s) -> std::string {
        const auto t = trim(s);
        if (t == "off") {
          c.metrics.listen_enabled = false;
          return {};
        }
        auto a = ListenAddress::parse(t);
        if (!a) return a.error().message + " (or \"off\")";
        c.metrics.listen_enabled = true;
        c.metrics.listen = *a;
        return {};
      };
      o.print = [](const AgentConfig& c) {
        return std::vector<std::string>{c.metrics.listen_enabled ? c.metrics.listen.to_string()
                                                                 : "off"};
      };
      v.push_back(o);
    }
    v.push_back(string_option(
        "metrics", "textfile", [](auto& c) -> auto& { return c.metrics.textfile; }));
    v.push_back(duration_option(
        "metrics", "textfile_interval",
        [](auto& c) -> auto& { return c.metrics.textfile_interval; }, one, Seconds{3600}));
    return v;
  }();
  return kOptions;
}

// Where each key occurrence sits in the file: name -> line numbers in order.
struct LineIndex {
  std::map<std::string, std::vector<int>> lines;
  int line_of(const std::string& name, std::size_t occurrence) const {
    auto it = lines.find(name);
    if (it == lines.end() || occurrence >= it->second.size()) return 0;
    return it->second[occurrence];
  }
};

LineIndex scan_lines(std::string_view text, const std::string& file, ConfigErrors& errors) {
  LineIndex index;
  std::string section;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        errors.push_back({file, line_no, {}, "malformed section header"});
      } else {
        section = std::string(line.substr(1, line.size() - 2));
      }
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || trim(line.substr(0, eq)).empty()) {
      errors.push_back({file, line_no, {}, "expected \"key = value\", a [section] or a # comment"});
      continue;
    }
    std::string key(trim(line.substr(0, eq)));
    index.lines[section.empty() ? key : section + "." + key].push_back(line_no);
  }
  return index;
}

}  // namespace

Result<Seconds> parse_duration(std::string_view text) {
  text = trim(text);
  std::int64_t mult = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        mult = 1;
        text.remove_suffix(1);
        break;
      case 'm':
        mult = 60;
        text.remove_suffix(1);
        break;
      case 'h':
        mult = 3600;
        text.remove_suffix(1);
        break;
      case 'd':
        mult = 86400;
        text.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  auto n = parse_uint(text);
  if (!n || *n > 100ull * 365 * 86400) {
    return fail(ErrorCode::kInvalidArgument, "not a duration");
  }
  return Seconds{static_cast<std::int64_t>(*n) * mult};
}

Result<std::uint64_t> parse_size(std::string_view text) {
  text = trim(text);
  std::uint64_t shift = 0;
  static constexpr std::pair<std::string_view, std::uint64_t> kSuffixes[] = {
      {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"k", 10}, {"K", 10}, {"M", 20}, {"G", 30}};
  for (const auto& [suffix, s] : kSuffixes) {
    if (text.ends_with(suffix)) {
      shift = s;
      text.remove_suffix(suffix.size());
      break;
    }
  }
  auto n = parse_uint(trim(text));
  if (!n || *n > (std::uint64_t{1} << (62 - shift))) {
    return fail(ErrorCode::kInvalidArgument, "not a size");
  }
  return *n << shift;
}

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  const auto bad = [&] {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("must be ADDRESS:PORT (IPv4) or [ADDRESS]:PORT (IPv6), got \"{}\"", text));
  };
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad();
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs brackets
  }
  auto addr = IpAddress::parse(host);
  if (!addr) return bad();
  if (text.starts_with('[') != !addr->is_v4()) return bad();
  auto p = parse_uint(port);
  if (!p || *p > 65535) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("port must be 0 to 65535, got \"{}\"", port));
  }
  return ListenAddress{*addr, static_cast<std::uint16_t>(*p)};
}

std::string ListenAddress::to_string() const {
  if (address.is_v4()) return fmt::format("{}:{}", address.to_string(), port);
  return fmt::format("[{}]:{}", address.to_string(), port);
}

const char* to_string(TunnelMode mode) noexcept {
  return mode == TunnelMode::kInner ? "inner" : "outer";
}
const char* to_string(ShardPeriod period) noexcept {
  return period == ShardPeriod::kHour ? "hour" : "day";
}
const char* to_string(TlsVersion version) noexcept {
  return version == TlsVersion::kTls13 ? "1.3" : "1.2";
}
const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}", line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += reason;
  return out;
}

std::expected<AgentConfig, ConfigErrors> parse_config(std::string_view text,
                                                      const std::string& file_name) {
  ConfigErrors errors;
  const LineIndex index = scan_lines(text, file_name, errors);
  if (!errors.empty()) return std::unexpected(errors);

  po::options_description desc;
  std::map<std::string, const Option*> by_name;
  for (const auto& o : options()) {
    by_name[o.name()] = &o;
    if (o.repeatable) {
      desc.add_options()(o.name().c_str(), po::value<std::vector<std::string>>()->composing());
    } else {
      desc.add_options()(o.name().c_str(), po::value<std::string>());
    }
  }

  po::parsed_options parsed(&desc);
  try {
    std::istringstream in{std::string(text)};
    parsed = po::parse_config_file(in, desc, /*allow_unregistered=*/true);
  } catch (const std::exception& e) {
    // The line scan above accepts the same grammar, so this is not expected; still an error.
    errors.push_back({file_name, 0, {}, e.what()});
    return std::unexpected(errors);
  }

  AgentConfig config;
  config.source = file_name;
  std::map<std::string, std::size_t> seen;  // occurrences so far, to find each one's line
  for (const auto& opt : parsed.options) {
    const std::string& name = opt.string_key;
    const std::size_t occurrence = seen[name]++;
    const int line = index.line_of(name, occurrence);
    if (opt.unregistered) {
      errors.push_back(
          {file_name, line, name,
           name.find('.') == std::string::npos ? "key outside any [section]" : "unknown key"});
      continue;
    }
    const Option* o = by_name.at(name);
    if (!o->repeatable && occurrence > 0) {
      errors.push_back(
          {file_name, line, name,
           fmt::format("given more than once (first on line {})", index.line_of(name, 0))});
      continue;
    }
    const std::string value = opt.value.empty() ? std::string() : opt.value.front();
    if (auto reason = o->apply(config, value); !reason.empty()) {
      errors.push_back({file_name, line, name, reason});
    }
  }

  for (const auto& o : options()) {
    if (o.required && !seen.contains(o.name())) {
      errors.push_back({file_name, 0, o.name(), "required key missing"});
    }
  }
  const auto line_of = [&](const char* name) { return index.line_of(name, 0); };
  if (!config.capture.pcap_file.empty() && !config.capture.interfaces.empty()) {
    errors.push_back({file_name, line_of("capture.pcap_file"), "capture.pcap_file",
                      "cannot be combined with capture.interface (offline or live, not both)"});
  }
  if (config.api.max_connections_per_address > config.api.max_connections) {
    errors.push_back(
        {file_name, line_of("api.max_connections_per_address"), "api.max_connections_per_address",
         fmt::format("must not exceed api.max_connections ({})", config.api.max_connections)});
  }
  if (config.storage.data_dir.empty()) {
    errors.push_back(
        {file_name, line_of("storage.data_dir"), "storage.data_dir", "must not be empty"});
  }
  for (const auto& [name, kind] :
       std::initializer_list<std::pair<const char*, FlowTimeouts CaptureOptions::*>>{
           {"tcp", &CaptureOptions::tcp},
           {"udp", &CaptureOptions::udp},
           {"icmp", &CaptureOptions::icmp},
           {"other", &CaptureOptions::other}}) {
    const FlowTimeouts& t = config.capture.*kind;
    if (t.active < t.idle) {
      const auto key = fmt::format("capture.{}_active_timeout", name);
      errors.push_back({file_name, line_of(key.c_str()), key,
                        fmt::format("must not be shorter than capture.{}_idle_timeout", name)});
    }
  }
  if (config.api.listen.empty()) {
    config.api.listen.push_back(ListenAddress{IpAddress::v4(0x7f000001), 8443});
  }
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    // Errors in file order; missing keys (line 0) last.
    const int la = a.line == 0 ? INT32_MAX : a.line;
    const int lb = b.line == 0 ? INT32_MAX : b.line;
    return la < lb;
  });
  if (!errors.empty()) return std::unexpected(errors);
  return config;
}

std::expected<AgentConfig, ConfigErrors> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::unexpected(ConfigErrors{{path, 0, {}, "cannot open the file for reading"}});
  }
  // A configuration file is small; refuse anything absurd rather than read it whole.
  constexpr std::size_t kMaxConfigBytes = 1 << 20;
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return std::unexpected(ConfigErrors{{path, 0, {}, "larger than 1 MiB"}});
  }
  return parse_config(text, path);
}

std::string format_config(const AgentConfig& config) {
  std::string out = fmt::format("# effective configuration of {}\n", config.source);
  std::string section;
  for (const auto& o : options()) {
    if (o.section != section) {
      section = o.section;
      out += fmt::format("\n[{}]\n", section);
    }
    for (const auto& v : o.print(config)) out += fmt::format("{} = {}\n", o.key, v);
  }
  return out;
}

}  // namespace conntrail::agent
