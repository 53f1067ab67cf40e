// tests/storage/synthetic_flows.h — deterministic synthetic flow records for tests and bench.
//
// Models an access network: `subscribers` addresses in 100.64.0.0/10 (and a
// /64 each for the IPv6 share) talking to a Zipf-like population of servers,
// mostly TCP 443/80, some UDP 53/443, a little ICMP; times increase at
// `flows_per_second` with jitter (records arrive roughly in first_ts order,
// as a flow table exports them). Same seed, same records.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/flow_record.h"

namespace conntrail::testing {

class SyntheticFlows {
 public:
  struct Params {
    std::uint64_t seed = 1;
    std::uint32_t subscribers = 50000;
    std::uint32_t servers = 200000;
    double flows_per_second = 1000.0;
    double ipv6_share = 0.2;
    TimestampNs start = 1'790'000'000LL * kNsPerSecond;  // 2026-09-21
  };

  explicit SyntheticFlows(Params p)
      : p_(p), t_(p.start), state_(p.seed * 0x9e3779b97f4a7c15ULL + 1) {}

  FlowRecord next() {
    FlowRecord f;
    const double gap_ns = 1e9 / p_.flows_per_second;
    t_ += static_cast<TimestampNs>(gap_ns * (0.5 + unit())) / 1000 * 1000;
    const std::uint32_t sub = static_cast<std::uint32_t>(zipf(p_.subscribers, 0.6));
    const std::uint32_t srv = static_cast<std::uint32_t>(zipf(p_.servers, 1.1));
    const bool v6 = unit() < p_.ipv6_share;
    if (v6) {
      std::array<std::uint8_t, 16> a{0x20,
                                     0x01,
                                     0x0d,
                                     0xb8,
                                     0,
                                     0,
                                     static_cast<std::uint8_t>(sub >> 8),
                                     static_cast<std::uint8_t>(sub)};
      a[15] = static_cast<std::uint8_t>(1 + (sub % 7));
      f.src_ip = IpAddress::v6_from_bytes(a);
      std::array<std::uint8_t, 16> b{0x2a,
                                     0x00,
                                     0x14,
                                     0x50,
                                     static_cast<std::uint8_t>(srv >> 16),
                                     static_cast<std::uint8_t>(srv >> 8),
                                     static_cast<std::uint8_t>(srv)};
      b[15] = 0x0e;
      f.dst_ip = IpAddress::v6_from_bytes(b);
    } else {
      f.src_ip = IpAddress::v4((100u << 24) | (64u << 16) | (sub & 0xffff) | ((sub >> 16) << 16));
      f.dst_ip = IpAddress::v4(0x0A000000u + srv * 7919u % 0x3fffffffu + 0x20000000u);
    }
    const double r = unit();
    if (r < 0.80) {
      f.proto = 6;
      f.dst_port = unit() < 0.85 ? 443 : 80;
      f.tcp_flags_fwd = 0x1b;
      f.tcp_flags_rev = 0x1b;
      f.end_reason = unit() < 0.9 ? EndReason::kTcpClose : EndReason::kIdle;
    } else if (r < 0.98) {
      f.proto = 17;
      f.dst_port = unit() < 0.7 ? 53 : 443;
      f.end_reason = EndReason::kIdle;
    } else {
      f.proto = 1;
      f.src_port = 8;
      f.dst_port = 0;
      f.end_reason = EndReason::kIdle;
    }
    if (f.proto != 1) f.src_port = static_cast<std::uint16_t>(32768 + next_u64() % 28232);
    f.packets_fwd = 1 + static_cast<std::uint64_t>(std::exp(unit() * 6));
    f.packets_rev = static_cast<std::uint64_t>(static_cast<double>(f.packets_fwd) * (0.5 + unit()));
    f.bytes_fwd = f.packets_fwd * (60 + next_u64() % 400);
    f.bytes_rev = f.packets_rev * (60 + next_u64() % 1400);
    f.first_ts = t_;
    // Durations up to e^19 us (~178 s): inside the 300 s active timeout, as capture guarantees.
    f.last_ts = t_ + static_cast<TimestampNs>(std::exp(unit() * 19)) * 1000;
    f.precision = TimePrecision::kMicro;
    f.subscriber_side = SubscriberSide::kSrc;
    f.subscriber = "sub" + std::to_string(sub) + "@isp";
    return f;
  }

  std::vector<FlowRecord> take(std::size_t n) {
    std::vector<FlowRecord> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(next());
    return v;
  }

  TimestampNs now() const noexcept { return t_; }

 private:
  std::uint64_t next_u64() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Approximate Zipf(s) over [0, n): inverse-CDF of a continuous power law.
  std::uint64_t zipf(std::uint32_t n, double s) noexcept {
    const double u = unit();
    double x;
    if (std::abs(s - 1.0) < 1e-9) {
      x = std::exp(u * std::log(static_cast<double>(n) + 1.0)) - 1.0;
    } else {
      const double a = 1.0 - s;
      x = std::pow(u * (std::pow(static_cast<double>(n) + 1.0, a) - 1.0) + 1.0, 1.0 / a) - 1.0;
    }
    auto k = static_cast<std::uint64_t>(x);
    return k >= n ? n - 1 : k;
  }

  Params p_;
  TimestampNs t_;
  std::uint64_t state_;
};

}  // namespace conntrail::testing
