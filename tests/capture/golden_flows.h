// tests/capture/golden_flows.h — compares flow records with a ground-truth CSV.
//
// The ground truth (tests/data/pcaps/*.flows.csv, see its SOURCES.md) orients
// each flow by the sender of its first packet, as conntrail does, but the
// comparison follows `oracle.py compare`: flows are matched without regard to
// direction (key = proto + the two endpoints in sorted order), and packets,
// bytes, TCP flags and first/last times must all be equal. Timestamps are
// compared as the exact text the CSV holds (6 or 9 decimals).
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "core/flow_record.h"

namespace conntrail::testing {

struct CanonicalFlow {
  std::string key;     // "proto|ep1|ep2", endpoints "ip#port" in sorted order
  std::string values;  // packets, bytes, flags oriented to the key, then first/last
  friend auto operator<=>(const CanonicalFlow&, const CanonicalFlow&) = default;
};

// Reads a ground-truth CSV; an unreadable file or bad row fails the test (ADD_FAILURE).
std::vector<CanonicalFlow> load_ground_truth(const std::string& path);
// The same for CSV text with a header line (e.g. `conntrail flows` output).
std::vector<CanonicalFlow> parse_flow_csv(std::istream& in, const std::string& what);
std::vector<CanonicalFlow> canonicalize(const std::vector<FlowRecord>& flows);

// The same flows without first/last times (for live capture, whose times are
// the replay's, not the file's).
std::vector<CanonicalFlow> without_times(std::vector<CanonicalFlow> flows);

// Empty when equal as multisets; else a readable list of missing/extra flows.
std::string diff_flows(std::vector<CanonicalFlow> expected, std::vector<CanonicalFlow> actual);

}  // namespace conntrail::testing
