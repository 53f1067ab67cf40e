// `conntrail flows`: the real binary, run as an operator would, against the
// ground truth, plus its output formats, options and usage errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/capture/golden_flows.h"

namespace conntrail::capture {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs `conntrail flows ARGS`; stderr is discarded.
CommandResult flows(const std::string& args) {
  const std::string command =
      std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail flows " + args + " 2>/dev/null";
  CommandResult r;
  std::FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string pcap(const std::string& name) {
  return std::string(CONNTRAIL_TEST_DATA) + "/pcaps/" + name;
}

void expect_matches_truth(const std::string& args, const std::string& truth) {
  const CommandResult r = flows(args);
  ASSERT_EQ(r.exit_code, 0) << args;
  std::istringstream in(r.out);
  const auto actual = testing::parse_flow_csv(in, "conntrail flows " + args);
  const std::string diff = testing::diff_flows(testing::load_ground_truth(truth), actual);
  EXPECT_TRUE(diff.empty()) << args << "\n" << diff;
}

TEST(FlowsCommandTest, CsvMatchesGroundTruth) {
  for (const char* f : {"zeek/tunnels/gre-sample.pcap", "zeek/ipv6-fragmented-dns.pcap",
                        "zeek/pppoe-over-qinq.pcap", "ndpi/nano.pcapng"}) {
    expect_matches_truth("--pcap " + pcap(f), pcap(f) + ".flows.csv");
  }
  expect_matches_truth("--tunnel-layer outer --pcap " + pcap("zeek/tunnels/gre-sample.pcap"),
                       pcap("zeek/tunnels/gre-sample.pcap") + ".outer.flows.csv");
}

TEST(FlowsCommandTest, CsvHeaderHasTheAgreedColumns) {
  const CommandResult r = flows("--pcap " + pcap("zeek/http/get.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  const std::string header = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(header.rfind("proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,"
                         "bytes_rev,first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,end_reason,"
                         "community_id,vlan_outer,vlan_inner",
                         0),
            0u)
      << header;
  EXPECT_NE(r.out.find(",1362692526.869344,1362692527.080972,27,27,tcp-close,1:"),
            std::string::npos)
      << r.out;
}

TEST(FlowsCommandTest, NdjsonAndRfc3339) {
  const CommandResult r =
      flows("--format ndjson --time-format rfc3339 --pcap " + pcap("zeek/pppoe-over-qinq.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream in(r.out);
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["proto"], 6);
    EXPECT_EQ(j["vlan_outer"], 3704);
    EXPECT_EQ(j["vlan_inner"], 2474);
    EXPECT_TRUE(j["pppoe_session"].is_number());
    const std::string first = j["first_ts"];
    EXPECT_EQ(first.size(), std::string("2009-11-18T16:59:31.123456Z").size()) << first;
    EXPECT_EQ(first.back(), 'Z');
    ++rows;
  }
  EXPECT_EQ(rows, 1);
}

TEST(FlowsCommandTest, NanosecondCapturesPrintNineDecimals) {
  const CommandResult r = flows("--pcap " + pcap("zeek/http/get-to-ssh-server.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  const std::string row = r.out.substr(r.out.find('\n') + 1);
  std::vector<std::string> f;
  std::stringstream ss(row);
  std::string x;
  while (std::getline(ss, x, ',')) f.push_back(x);
  ASSERT_GT(f.size(), 10u);
  EXPECT_EQ(f[9].size() - f[9].find('.') - 1, 9u) << f[9];
}

TEST(FlowsCommandTest, IdleTimeoutSplitsEveryProtocol) {
  // 5 pings one second apart: with a 0.5 s idle timeout each exchange is its own flow.
  CommandResult r = flows("--idle-timeout 0.5 --pcap " + pcap("zeek/icmp/5-pings.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 5);
  EXPECT_NE(r.out.find(",idle,"), std::string::npos);
  r = flows("--active-timeout 2 --pcap " + pcap("zeek/icmp/5-pings.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 3);  // 0-1 s, 2-3 s, 4 s
  EXPECT_NE(r.out.find(",active,"), std::string::npos);
}

TEST(FlowsCommandTest, SubscriberPrefixAndVlanKey) {
  CommandResult r = flows("--subscriber-prefix 10.0.0.0/8 --pcap " + pcap("arkime/radius.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find(",src,"), std::string::npos) << r.out;
  r = flows("--flow-key-vlan --pcap " + pcap("zeek/vlan-collisions.pcap"));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 3);
}

TEST(FlowsCommandTest, UsageErrorsExitTwoAndRuntimeErrorsOne) {
  EXPECT_EQ(flows("").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --format xml").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --time-format julian").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --idle-timeout -3").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --tunnel-layer middle").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --subscriber-prefix 10.0.0.0/99").exit_code, 2);
  EXPECT_EQ(flows("--pcap x --no-such-option").exit_code, 2);
  EXPECT_EQ(flows("--pcap /nonexistent/file.pcap").exit_code, 1);
  EXPECT_EQ(flows("--help").exit_code, 0);
}

}  // namespace
}  // namespace conntrail::capture
