#include "capture/attribution/session_format.h"

#include <gtest/gtest.h>

namespace conntrail::capture {
namespace {

SessionRecord sample() {
  SessionRecord r;
  r.address = *IpPrefix::parse("2001:db8:100::/56");
  r.subscriber = "alice";
  r.mac = MacAddress{0, 0x11, 0x22, 0x33, 0x44, 0x55};
  r.duid = "00030001001122334455";
  r.source = SessionSource::kDhcp;
  r.start_ts = 1'700'000'000'123'456'000;
  r.end_ts = 1'700'000'900'000'000'000;
  r.end_assumed = true;
  r.server = *IpAddress::parse("192.0.2.1");
  r.session_id = "iaid:00000002";
  return r;
}

TEST(SessionFormatTest, CsvHeaderAndRow) {
  const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kEpoch);
  EXPECT_EQ(f.header(),
            "address,subscriber,mac,source,start_ts,end_ts,session_id,nas,end_assumed,duid\n");
  EXPECT_EQ(f.row(sample()),
            "2001:db8:100::/56,alice,00:11:22:33:44:55,dhcp,1700000000.123456,1700000900.000000,"
            "iaid:00000002,192.0.2.1,true,00030001001122334455\n");
}

TEST(SessionFormatTest, FullLengthPrefixPrintsAsAnAddressAndOpenEndIsEmpty) {
  auto r = sample();
  r.address = *IpPrefix::parse("100.64.1.7/32");
  r.end_ts = 0;
  r.end_assumed = false;
  r.mac = {};
  r.duid.clear();
  const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kRfc3339);
  EXPECT_EQ(f.row(r),
            "100.64.1.7,alice,,dhcp,2023-11-14T22:13:20.123456Z,,iaid:00000002,192.0.2.1,false,\n");
}

TEST(SessionFormatTest, WireTextIsQuotedAndEscaped) {
  auto r = sample();
  r.subscriber = std::string("a,\"b\"\n\x01\xff\\", 9);
  const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kEpoch);
  const auto row = f.row(r);
  EXPECT_NE(row.find("\"a,\"\"b\"\"\\x0a\\x01\\xff\\\\\""), std::string::npos) << row;
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 stays
  EXPECT_EQ(printable("\xc3"), "\\xc3");             // cut sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");    // overlong
}

TEST(SessionFormatTest, NdjsonUsesNullForAbsentValues) {
  auto r = sample();
  r.end_ts = 0;
  r.end_assumed = false;
  r.mac = {};
  r.duid.clear();
  const SessionFormatter f(OutputFormat::kNdjson, TimeFormat::kEpoch);
  EXPECT_EQ(f.header(), "");
  EXPECT_EQ(f.row(r),
            "{\"address\":\"2001:db8:100::/56\",\"subscriber\":\"alice\",\"mac\":null,"
            "\"source\":\"dhcp\",\"start_ts\":\"1700000000.123456\",\"end_ts\":null,"
            "\"session_id\":\"iaid:00000002\",\"nas\":\"192.0.2.1\",\"end_assumed\":false,"
            "\"duid\":null}\n");
}

}  // namespace
}  // namespace conntrail::capture
