#include "core/flow_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace conntrail {
namespace {

FlowRecord http_get_flow() {
  FlowRecord f;
  f.proto = 6;
  f.src_ip = *IpAddress::parse("128.232.110.120");
  f.src_port = 34855;
  f.dst_ip = *IpAddress::parse("66.35.250.204");
  f.dst_port = 80;
  f.packets_fwd = 7;
  f.packets_rev = 7;
  f.bytes_fwd = 512;
  f.bytes_rev = 5379;
  f.first_ts = 1362692526'869344000;
  f.last_ts = 1362692527'080972000;
  f.tcp_flags_fwd = 27;
  f.tcp_flags_rev = 27;
  f.end_reason = EndReason::kTcpClose;
  return f;
}

// Vectors from the Community ID specification's README and its test suite.
TEST(CommunityIdTest, MatchesSpecificationVectors) {
  EXPECT_EQ(community_id(http_get_flow()), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  FlowRecord reversed = http_get_flow();
  std::swap(reversed.src_ip, reversed.dst_ip);
  std::swap(reversed.src_port, reversed.dst_port);
  EXPECT_EQ(community_id(reversed), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
}

TEST(FlowFormatterTest, CsvHeaderStartsWithTheAgreedColumns) {
  FlowFormatter csv(OutputFormat::kCsv, TimeFormat::kEpoch);
  EXPECT_EQ(csv.header().rfind(
                "proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,"
                "bytes_rev,first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,end_reason,community_id,"
                "vlan_outer,vlan_inner",
                0),
            0u);
}

TEST(FlowFormatterTest, CsvRowMatchesGroundTruthColumns) {
  FlowFormatter csv(OutputFormat::kCsv, TimeFormat::kEpoch);
  EXPECT_EQ(csv.row(http_get_flow()).rfind(
                "6,128.232.110.120,34855,66.35.250.204,80,7,7,512,5379,1362692526.869344,"
                "1362692527.080972,27,27,tcp-close,1:LQU9qZlK+B5F3KDmev6m5PMibrg=,,,,,,\n",
                0),
            0u);
}

TEST(FlowFormatterTest, CsvQuotesSubscriberWithComma) {
  FlowRecord f = http_get_flow();
  f.subscriber = "smith, \"j\"";
  FlowFormatter csv(OutputFormat::kCsv, TimeFormat::kEpoch);
  const auto row = csv.row(f);
  EXPECT_NE(row.find(",\"smith, \"\"j\"\"\"\n"), std::string::npos) << row;
}

TEST(FlowFormatterTest, NdjsonUsesCsvFieldNames) {
  FlowFormatter nd(OutputFormat::kNdjson, TimeFormat::kRfc3339);
  EXPECT_EQ(nd.header(), "");
  const auto j = nlohmann::json::parse(nd.row(http_get_flow()));
  EXPECT_EQ(j["src_ip"], "128.232.110.120");
  EXPECT_EQ(j["bytes_rev"], 5379);
  EXPECT_EQ(j["first_ts"], "2013-03-07T21:42:06.869344Z");
  EXPECT_EQ(j["end_reason"], "tcp-close");
  EXPECT_TRUE(j["vlan_outer"].is_null());
}

TEST(FlowFormatterTest, RejectsUnknownFormats) {
  EXPECT_FALSE(parse_output_format("xml"));
  EXPECT_FALSE(parse_time_format("local"));
}

}  // namespace
}  // namespace conntrail

namespace conntrail {
namespace {

// A RADIUS User-Name is bytes from the wire, not necessarily UTF-8: the row
// must still be one valid JSON object (invalid bytes become U+FFFD), never an exception.
TEST(FlowFormatterTest, NdjsonSurvivesInvalidUtf8Subscriber) {
  FlowRecord f;
  f.subscriber = std::string("bob\xff\xfe\"x\n", 8);
  FlowFormatter nd(OutputFormat::kNdjson, TimeFormat::kEpoch);
  const auto j = nlohmann::json::parse(nd.row(f));
  EXPECT_EQ(j["subscriber"], "bob\xEF\xBF\xBD\xEF\xBF\xBD\"x\n");
}

TEST(FlowFormatterTest, AppendRowEqualsRow) {
  FlowRecord f;
  f.vlan_outer = 100;
  f.pppoe_session = 7;
  for (auto format : {OutputFormat::kCsv, OutputFormat::kNdjson}) {
    FlowFormatter formatter(format, TimeFormat::kEpoch);
    std::string out = "x";
    formatter.append_row(f, out);
    EXPECT_EQ(out, "x" + formatter.row(f));
  }
  EXPECT_NE(FlowFormatter(OutputFormat::kNdjson, TimeFormat::kEpoch).row(f).find(
                R"("vlan_outer":100,"vlan_inner":null,"pppoe_session":7)"),
            std::string::npos);
}

}  // namespace
}  // namespace conntrail
