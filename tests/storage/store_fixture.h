// tests/storage/store_fixture.h — writes known synthetic flows into a store for query tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "storage/store/flow_writer.h"
#include "tests/storage/synthetic_flows.h"
#include "tests/storage/test_dir.h"

namespace conntrail::testing {

inline constexpr TimestampNs kHour = 3600 * kNsPerSecond;

struct StoreFixture {
  TestDir dir;
  std::atomic<TimestampNs> clock{0};
  std::vector<FlowRecord> flows;  // everything written, in push order

  storage::StoreOptions options() {
    storage::StoreOptions o;
    o.data_dir = dir.path();
    o.seal_in_background = false;
    o.batch_max_delay = std::chrono::milliseconds(20);
    o.batch_max_records = 5000;
    o.queue_capacity = 1u << 22;
    o.clock = [this] { return clock.load(); };
    return o;
  }

  // Writes `hours` hours of flows at `rate` per second starting at an hour boundary.
  void write(double hours, double rate, std::uint64_t seed = 5) {
    SyntheticFlows gen({.seed = seed,
                        .subscribers = 2000,
                        .servers = 5000,
                        .flows_per_second = rate,
                        .start = (1'790'000'000LL / 3600) * 3600 * kNsPerSecond});
    const TimestampNs end =
        gen.now() + static_cast<TimestampNs>(hours * static_cast<double>(kHour));
    clock = end;
    auto w = storage::FlowWriter::start(options());
    ASSERT_TRUE(w) << w.error().message;
    while (gen.now() < end) {
      auto f = gen.next();
      if (f.first_ts >= end) break;
      flows.push_back(f);
      ASSERT_TRUE((*w)->try_push(std::move(f)));
    }
    (*w)->stop();
    ASSERT_EQ((*w)->stats().rows_written, flows.size());
  }

  TimestampNs start() const { return flows.front().first_ts / kHour * kHour; }
};

// Order-independent comparison key for record lists.
inline std::vector<std::string> keys_of(const std::vector<FlowRecord>& v) {
  std::vector<std::string> k;
  for (const auto& f : v) {
    k.push_back(std::to_string(f.first_ts) + f.src_ip.to_string() + ":" +
                std::to_string(f.src_port) + ">" + f.dst_ip.to_string() + ":" +
                std::to_string(f.dst_port) + "/" + std::to_string(f.bytes_fwd));
  }
  std::sort(k.begin(), k.end());
  return k;
}

}  // namespace conntrail::testing
