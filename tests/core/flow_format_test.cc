#include "core/flow_format.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
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
  EXPECT_EQ(csv.row(http_get_flow())
                .rfind("6,128.232.110.120,34855,66.35.250.204,80,7,7,512,5379,1362692526.869344,"
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
  EXPECT_NE(FlowFormatter(OutputFormat::kNdjson, TimeFormat::kEpoch)
                .row(f)
                .find(R"("vlan_outer":100,"vlan_inner":null,"pppoe_session":7)"),
            std::string::npos);
}

// ---- byte-identity with the reference formatter ---------------------------------------
//
// core/flow_format.cc writes rows by hand for speed (issue 5). Its output is a
// contract, so the straightforward fmt/inet_ntop/nlohmann formatter it replaced
// is kept here as the reference, and both must agree byte for byte on
// many generated rows and on the edge cases.
namespace reference {

// Rows are formatted by appending to one buffer (no per-field temporaries):
// result streams format millions of rows, and this is their inner loop.

void append_address(std::string& out, const IpAddress& a) {
  char buf[INET6_ADDRSTRLEN];
  const char* text = a.is_v4() ? inet_ntop(AF_INET, a.bytes().data() + 12, buf, sizeof buf)
                               : inet_ntop(AF_INET6, a.bytes().data(), buf, sizeof buf);
  out += text != nullptr ? text : "";
}

template <class... Args>
void append(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
  fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
}

// RFC 4180: quote a field that holds a comma, quote or line break.
void append_csv_field(std::string& out, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// A JSON string. Text from the wire (a RADIUS User-Name) may not be UTF-8:
// invalid bytes become U+FFFD instead of an exception.
void append_json_string(std::string& out, const std::string& s) {
  out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void reference_csv(std::string& out, const FlowRecord& f, TimeFormat tf) {
  append(out, "{},", f.proto);
  append_address(out, f.src_ip);
  append(out, ",{},", f.src_port);
  append_address(out, f.dst_ip);
  append(out, ",{},{},{},{},{},", f.dst_port, f.packets_fwd, f.packets_rev, f.bytes_fwd,
         f.bytes_rev);
  append_time(out, f.first_ts, f.precision, tf);
  out += ',';
  append_time(out, f.last_ts, f.precision, tf);
  append(out, ",{},{},{},{},", f.tcp_flags_fwd, f.tcp_flags_rev, to_string(f.end_reason),
         community_id(f));
  if (f.vlan_outer != kNoVlan) append(out, "{}", f.vlan_outer);
  out += ',';
  if (f.vlan_inner != kNoVlan) append(out, "{}", f.vlan_inner);
  out += ',';
  if (f.pppoe_session != 0) append(out, "{}", f.pppoe_session);
  out += ',';
  if (f.subscriber_mac != MacAddress{}) out += format_mac(f.subscriber_mac);
  append(out, ",{},", to_string(f.subscriber_side));
  append_csv_field(out, f.subscriber);
  out += '\n';
}

void reference_ndjson(std::string& out, const FlowRecord& f, TimeFormat tf) {
  append(out, R"({{"proto":{},"src_ip":")", f.proto);
  append_address(out, f.src_ip);
  append(out, R"(","src_port":{},"dst_ip":")", f.src_port);
  append_address(out, f.dst_ip);
  append(out,
         R"(","dst_port":{},"packets_fwd":{},"packets_rev":{},"bytes_fwd":{},"bytes_rev":{},)"
         R"("first_ts":")",
         f.dst_port, f.packets_fwd, f.packets_rev, f.bytes_fwd, f.bytes_rev);
  // Epoch times stay JSON strings so no client's double rounds away the nanoseconds.
  append_time(out, f.first_ts, f.precision, tf);
  out += R"(","last_ts":")";
  append_time(out, f.last_ts, f.precision, tf);
  append(out, R"(","tcp_flags_fwd":{},"tcp_flags_rev":{},"end_reason":"{}","community_id":"{}",)",
         f.tcp_flags_fwd, f.tcp_flags_rev, to_string(f.end_reason), community_id(f));
  auto optional_number = [&out](const char* key, bool present, unsigned value) {
    out += key;
    present ? append(out, "{}", value) : void(out += "null");
  };
  optional_number(R"("vlan_outer":)", f.vlan_outer != kNoVlan, f.vlan_outer);
  optional_number(R"(,"vlan_inner":)", f.vlan_inner != kNoVlan, f.vlan_inner);
  optional_number(R"(,"pppoe_session":)", f.pppoe_session != 0, f.pppoe_session);
  out += R"(,"subscriber_mac":)";
  if (f.subscriber_mac == MacAddress{}) {
    out += "null";
  } else {
    append(out, "\"{}\"", format_mac(f.subscriber_mac));
  }
  append(out, R"(,"subscriber_side":"{}","subscriber":)", to_string(f.subscriber_side));
  append_json_string(out, f.subscriber);
  out += "}\n";
}

std::string row(const FlowRecord& f, OutputFormat format, TimeFormat tf) {
  std::string out;
  format == OutputFormat::kCsv ? reference_csv(out, f, tf) : reference_ndjson(out, f, tf);
  return out;
}

}  // namespace reference

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

// Addresses that exercise every branch of RFC 5952 shortening: zero runs at
// the start, middle and end, ties, single zero groups, v4-mapped and
// v4-compatible forms, and plain random ones.
IpAddress random_address(Rng& r) {
  if (r.below(3) == 0) return IpAddress::v4(static_cast<std::uint32_t>(r.next()));
  std::array<std::uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(r.next());
  for (int g = 0; g < 8; ++g) {
    const auto k = r.below(4);
    if (k == 0) b[2 * g] = b[2 * g + 1] = 0;                            // zero group
    if (k == 1) b[2 * g] = 0;                                           // short group
    if (k == 2 && r.below(2) == 0) b[2 * g + 1] &= 0x0F, b[2 * g] = 0;  // 1 digit
  }
  switch (r.below(6)) {
    case 0:  // ::ffff:a.b.c.d
      std::fill(b.begin(), b.begin() + 10, 0);
      b[10] = b[11] = 0xff;
      break;
    case 1:  // ::a.b.c.d (and ::1 style when the tail is small)
      std::fill(b.begin(), b.begin() + 12, 0);
      if (r.below(2) == 0) std::fill(b.begin() + 12, b.begin() + 15, 0);
      break;
    case 2:  // all zero, or one group set
      b.fill(0);
      if (r.below(2) == 0) b[r.below(16)] = 1;
      break;
    default:
      break;
  }
  return IpAddress::v6_from_bytes(b);
}

std::string random_subscriber(Rng& r) {
  switch (r.below(6)) {
    case 0:
      return "";
    case 1:
      return "sub" + std::to_string(r.below(100000)) + "@isp";
    case 2:
      return std::string(300, 'a');  // too long for the inline path
    default: {
      std::string s;
      const auto n = r.below(12);
      for (std::uint64_t i = 0; i < n; ++i) {
        static constexpr char kSpecial[] = {',',    '"',    '\\',   '\n',   '\r',
                                            '\t',   '\x7f', '\x01', '\xc3', '\xa9',
                                            '\xff', 'a',    'Z',    ' ',    '/'};
        s += r.below(2) == 0 ? kSpecial[r.below(sizeof kSpecial)]
                             : static_cast<char>(0x20 + r.below(0x5f));
      }
      return s;
    }
  }
}

FlowRecord random_flow(Rng& r) {
  FlowRecord f;
  f.src_ip = random_address(r);
  f.dst_ip = r.below(2) == 0 ? random_address(r) : f.src_ip;
  const std::uint8_t protos[] = {6, 17, 1, 58, 132, 47, 0, 255};
  f.proto = protos[r.below(sizeof protos)];
  f.src_port = static_cast<std::uint16_t>(r.below(4) == 0 ? r.below(20) : r.next());
  f.dst_port = static_cast<std::uint16_t>(r.below(4) == 0 ? r.below(20) : r.next());
  auto number = [&r]() -> std::uint64_t {
    switch (r.below(4)) {
      case 0:
        return r.below(10);
      case 1:
        return r.next();
      case 2:
        return ~std::uint64_t{0} - r.below(3);
      default:
        return r.below(1000000);
    }
  };
  f.packets_fwd = number();
  f.packets_rev = number();
  f.bytes_fwd = number();
  f.bytes_rev = number();
  f.tcp_flags_fwd = static_cast<std::uint8_t>(r.next());
  f.tcp_flags_rev = static_cast<std::uint8_t>(r.next());
  f.end_reason = static_cast<EndReason>(r.below(5));
  auto time = [&r]() -> TimestampNs {
    switch (r.below(4)) {
      case 0:
        return -static_cast<TimestampNs>(r.below(4'000'000'000'000'000'000ULL));
      case 1:
        return static_cast<TimestampNs>(r.below(100));
      default:
        return static_cast<TimestampNs>(r.below(9'000'000'000'000'000'000ULL));
    }
  };
  f.first_ts = time();
  f.last_ts = time();
  f.precision = r.below(2) == 0 ? TimePrecision::kMicro : TimePrecision::kNano;
  f.vlan_outer = r.below(2) == 0 ? kNoVlan : static_cast<std::uint16_t>(r.below(4096));
  f.vlan_inner = r.below(2) == 0 ? kNoVlan : static_cast<std::uint16_t>(r.next());
  f.pppoe_session = r.below(2) == 0 ? 0 : static_cast<std::uint16_t>(r.next());
  if (r.below(2) == 0) {
    for (auto& x : f.subscriber_mac) x = static_cast<std::uint8_t>(r.next());
  }
  f.subscriber_side = static_cast<SubscriberSide>(r.below(3));
  f.subscriber = random_subscriber(r);
  return f;
}

TEST(FlowFormatterTest, RowsAreByteIdenticalToTheReference) {
  Rng r{42};
  std::string batch;
  for (int i = 0; i < 100000; ++i) {
    const FlowRecord f = random_flow(r);
    for (auto format : {OutputFormat::kCsv, OutputFormat::kNdjson}) {
      // RFC 3339 goes through gmtime; a tenth of the rows is plenty for it.
      const TimeFormat tf = i % 10 == 0 ? TimeFormat::kRfc3339 : TimeFormat::kEpoch;
      const FlowFormatter formatter(format, tf);
      const std::string want = reference::row(f, format, tf);
      ASSERT_EQ(formatter.row(f), want) << "row " << i;
      batch.clear();
      batch = "prefix";
      formatter.append_row(f, batch);
      ASSERT_EQ(batch, "prefix" + want);
    }
  }
}

TEST(FlowFormatterTest, AddressesMatchInetNtop) {
  Rng r{7};
  FlowFormatter csv(OutputFormat::kCsv, TimeFormat::kEpoch);
  for (int i = 0; i < 200000; ++i) {
    FlowRecord f;
    f.src_ip = random_address(r);
    const std::string row = csv.row(f);
    const auto first = row.find(',');
    ASSERT_EQ(row.substr(first + 1, row.find(',', first + 1) - first - 1), f.src_ip.to_string());
  }
}

TEST(FlowFormatterTest, CommunityIdWriterMatchesString) {
  Rng r{9};
  for (int i = 0; i < 10000; ++i) {
    const FlowRecord f = random_flow(r);
    char text[kCommunityIdSize];
    const auto n = write_community_id(f, text, static_cast<std::uint16_t>(i));
    ASSERT_EQ(n, kCommunityIdSize);
    ASSERT_EQ(std::string(text, n), community_id(f, static_cast<std::uint16_t>(i)));
  }
}

}  // namespace
}  // namespace conntrail
