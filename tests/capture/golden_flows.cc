#include "tests/capture/golden_flows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

namespace conntrail::testing {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

struct Row {
  std::string proto, src, sport, dst, dport;
  std::string pf, pr, bf, br, first, last, ff, fr;
};

CanonicalFlow canonical(const Row& r) {
  std::string a = r.src + "#" + r.sport;
  std::string b = r.dst + "#" + r.dport;
  // Sort endpoints by (ip text, numeric port) the way oracle.py sorts tuples.
  const bool swap =
      std::make_pair(r.src, std::stoi(r.sport)) > std::make_pair(r.dst, std::stoi(r.dport));
  CanonicalFlow c;
  if (!swap) {
    c.key = r.proto + "|" + a + "|" + b;
    c.values = "pk " + r.pf + "/" + r.pr + " by " + r.bf + "/" + r.br + " fl " + r.ff + "/" + r.fr;
  } else {
    c.key = r.proto + "|" + b + "|" + a;
    c.values = "pk " + r.pr + "/" + r.pf + " by " + r.br + "/" + r.bf + " fl " + r.fr + "/" + r.ff;
  }
  c.values += " ts " + r.first + ".." + r.last;
  return c;
}

}  // namespace

std::vector<CanonicalFlow> load_ground_truth(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return parse_flow_csv(in, path);
}

std::vector<CanonicalFlow> parse_flow_csv(std::istream& in, const std::string& what) {
  std::string line;
  std::getline(in, line);  // header
  std::vector<CanonicalFlow> out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split(line);
    if (f.size() < 13) {
      ADD_FAILURE() << what << ": short row: " << line;
      continue;
    }
    out.push_back(canonical(
        Row{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]}));
  }
  return out;
}

std::vector<CanonicalFlow> canonicalize(const std::vector<FlowRecord>& flows) {
  std::vector<CanonicalFlow> out;
  for (const FlowRecord& f : flows) {
    out.push_back(canonical(
        Row{std::to_string(f.proto), f.src_ip.to_string(), std::to_string(f.src_port),
            f.dst_ip.to_string(), std::to_string(f.dst_port), std::to_string(f.packets_fwd),
            std::to_string(f.packets_rev), std::to_string(f.bytes_fwd), std::to_string(f.bytes_rev),
            format_epoch(f.first_ts, f.precision), format_epoch(f.last_ts, f.precision),
            std::to_string(f.tcp_flags_fwd), std::to_string(f.tcp_flags_rev)}));
  }
  return out;
}

std::vector<CanonicalFlow> without_times(std::vector<CanonicalFlow> flows) {
  for (auto& f : flows) f.values = f.values.substr(0, f.values.find(" ts "));
  return flows;
}

std::string diff_flows(std::vector<CanonicalFlow> expected, std::vector<CanonicalFlow> actual) {
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  std::vector<CanonicalFlow> missing, extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::string out;
  for (const auto& m : missing) out += "  missing: " + m.key + " " + m.values + "\n";
  for (const auto& e : extra) out += "  extra:   " + e.key + " " + e.values + "\n";
  return out;
}

}  // namespace conntrail::testing
