#include "capture/attribution/session_import.h"

#include <gtest/gtest.h>

#include <sstream>

#include "capture/attribution/pcap_sessions.h"
#include "capture/attribution/session_format.h"

namespace conntrail::capture {
namespace {

Result<SessionImport> import(const std::string& text, SessionImportLimits limits = {}) {
  std::istringstream in(text);
  return import_sessions_csv(in, limits);
}

TEST(SessionImportTest, RoundTripsTheSessionsCommandOutput) {
  for (const char* name : {"radius-lifecycle.pcap", "dhcpv6-pd.pcap", "radius-overlap.pcap"}) {
    auto decoded = sessions_from_pcap(std::string(CONNTRAIL_TEST_DATA) + "/attribution/" + name, {}, {});
    ASSERT_TRUE(decoded.has_value());
    const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kEpoch);
    std::string csv = f.header();
    for (const auto& s : decoded->sessions) csv += f.row(s);
    auto imported = import(csv);
    ASSERT_TRUE(imported.has_value()) << imported.error().message;
    EXPECT_TRUE(imported->errors.empty());
    ASSERT_EQ(imported->sessions.size(), decoded->sessions.size()) << name;
    for (std::size_t i = 0; i < decoded->sessions.size(); ++i) {
      auto expected = decoded->sessions[i];
      expected.source = SessionSource::kImport;
      EXPECT_EQ(imported->sessions[i], expected) << name << " row " << i;
    }
  }
}

TEST(SessionImportTest, ColumnsInAnyOrderQuotedFieldsAndRfc3339) {
  const auto r = import(
      "start_ts,subscriber,address,end_ts,extra\r\n"
      "2023-11-14T22:13:20Z,\"line \"\"7\"\", port 3\",100.64.1.7,2023-11-14T22:28:20.000000001Z,x\r\n"
      "\n"
      "1700000000,\"multi\nline\",2001:db8::/56,,\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->errors.empty()) << r->errors.front();
  ASSERT_EQ(r->sessions.size(), 2u);
  EXPECT_EQ(r->sessions[0].subscriber, "line \"7\", port 3");
  EXPECT_EQ(r->sessions[0].end_ts, 1'700'000'900'000'000'001);
  EXPECT_EQ(r->sessions[0].precision, TimePrecision::kNano);
  EXPECT_EQ(r->sessions[0].source, SessionSource::kImport);
  EXPECT_EQ(r->sessions[1].subscriber, "multi\nline");
  EXPECT_TRUE(r->sessions[1].is_open());
}

TEST(SessionImportTest, BadRowsAreSkippedWithTheirLineNumbers) {
  const auto r = import(
      "address,subscriber,start_ts,end_ts,mac,nas,end_assumed\n"
      "100.64.1.7,alice,1700000000,1700000100,00:11:22:33:44:55,192.0.2.1,false\n"
      "100.64.1.300,bob,1700000000,,,,\n"
      "100.64.1.8,,1700000000,,,,\n"
      "100.64.1.9,carol,yesterday,,,,\n"
      "100.64.1.9,carol,1700000100,1700000000,,,\n"
      "100.64.1.9,carol,1700000000,,00-11,,\n"
      "100.64.1.9,carol,1700000000,,,nas-1,\n"
      "100.64.1.9,carol,1700000000,,,,maybe\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rows, 8u);
  EXPECT_EQ(r->sessions.size(), 1u);
  ASSERT_EQ(r->errors.size(), 7u);
  EXPECT_EQ(r->errors[0].rfind("line 3: address", 0), 0u) << r->errors[0];
  EXPECT_EQ(r->errors[1].rfind("line 4: subscriber", 0), 0u) << r->errors[1];
  EXPECT_EQ(r->errors[2].rfind("line 5: start_ts", 0), 0u) << r->errors[2];
  EXPECT_EQ(r->errors[3], "line 6: end_ts before start_ts");
}

TEST(SessionImportTest, YearBeyondTheInt64NanosecondRangeIsARowErrorNotOverflow) {
  // Found by the attribution fuzzer: parse_time's RFC 3339 branch multiplied without a range check.
  const auto r = import("start_ts,address,subscriber\n4046-11-14T22:13:20Z,100.64.1.7,alice\n"
                        "1969-12-31T23:59:59Z,100.64.1.7,alice\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->sessions.empty());
  EXPECT_EQ(r->errors.size(), 2u);
}

TEST(SessionImportTest, FileLevelErrors) {
  EXPECT_FALSE(import("").has_value());
  const auto missing = import("address,subscriber\n1.2.3.4,a\n");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("start_ts"), std::string::npos);
  EXPECT_FALSE(import("address,subscriber,start_ts\n1.2.3.4,\"open,0\n").has_value());
  const auto long_field = import("address,subscriber,start_ts\n1.2.3.4," + std::string(5000, 'a') + ",0\n");
  ASSERT_FALSE(long_field.has_value());
  EXPECT_EQ(long_field.error().code, ErrorCode::kLimit);
  std::string wide = "address,subscriber,start_ts";
  for (int i = 0; i < 70; ++i) wide += ",c";
  EXPECT_EQ(import(wide + "\n").error().code, ErrorCode::kLimit);
  const std::string two_rows = "address,subscriber,start_ts\n1.2.3.4,a,0\n1.2.3.5,b,0\n";
  EXPECT_EQ(import(two_rows, {.max_rows = 1, .max_errors = 10}).error().code, ErrorCode::kLimit);
  const std::string bad_rows = "address,subscriber,start_ts\nx,a,0\ny,b,0\n";
  EXPECT_EQ(import(bad_rows, {.max_rows = 10, .max_errors = 1}).error().code, ErrorCode::kLimit);
}

}  // namespace
}  // namespace conntrail::capture
