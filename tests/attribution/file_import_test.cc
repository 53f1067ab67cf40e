// Session import from operators' files: FreeRADIUS detail, ISC dhcpd leases (v4
// and -6), Kea memfile lease CSVs. Golden sessions of the hand-written samples in
// tests/data/import, the wire-equivalence of imported records (same subscriber id
// and session as the decoded message), and malformed input: every bad record is
// reported with its line and skipped, the rest imported, limits are errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "capture/attribution/dhcpd_leases.h"
#include "capture/attribution/freeradius_detail.h"
#include "capture/attribution/kea_leases.h"
#include "capture/attribution/session_format.h"
#include "capture/attribution/session_import.h"
#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sample(const std::string& name) {
  return std::string(CONNTRAIL_TEST_DATA) + "/import/" + name;
}

std::string csv(const std::vector<SessionRecord>& sessions) {
  const SessionFormatter f(OutputFormat::kCsv, TimeFormat::kEpoch);
  std::string out = f.header();
  for (const auto& s : sessions) out += f.row(s);
  return out;
}

Result<FileImport> import_text(const std::string& text, ImportFormat format,
                               ImportOptions options = {}) {
  std::istringstream in(text);
  return import_sessions(in, format, options);
}

constexpr TimestampNs kT0 = 1'795'946'400LL * kNsPerSecond;  // 2026-11-29 10:00:00 UTC

// ---- golden samples --------------------------------------------------------

struct Golden {
  const char* file;
  ImportFormat format;
};

class ImportGoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(ImportGoldenTest, SampleGivesItsGoldenSessions) {
  std::ifstream in(sample(GetParam().file), std::ios::binary);
  ASSERT_TRUE(in) << GetParam().file;
  auto r = import_sessions(in, GetParam().format);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->errors.empty()) << r->errors.front();
  EXPECT_EQ(csv(r->sessions), slurp(sample(std::string(GetParam().file) + ".expected.csv")));
  for (const auto& s : r->sessions) EXPECT_EQ(s.source, SessionSource::kImport);
}

TEST_P(ImportGoldenTest, FormatIsDetectedFromTheOpening) {
  const std::string head = slurp(sample(GetParam().file)).substr(0, 4096);
  EXPECT_EQ(detect_import_format(head), GetParam().format) << GetParam().file;
}

INSTANTIATE_TEST_SUITE_P(Samples, ImportGoldenTest,
                         ::testing::Values(Golden{"freeradius-detail",
                                                  ImportFormat::kFreeradiusDetail},
                                           Golden{"dhcpd.leases", ImportFormat::kIscDhcpdLeases},
                                           Golden{"dhcpd6.leases", ImportFormat::kIscDhcpdLeases},
                                           Golden{"kea-leases4.csv", ImportFormat::kKeaLease4},
                                           Golden{"kea-leases6.csv", ImportFormat::kKeaLease6}));

TEST(ImportFormatTest, NamesRoundTripAndUnknownIsAnError) {
  for (auto f :
       {ImportFormat::kConntrailCsv, ImportFormat::kFreeradiusDetail, ImportFormat::kIscDhcpdLeases,
        ImportFormat::kKeaLease4, ImportFormat::kKeaLease6}) {
    EXPECT_EQ(parse_import_format(to_string(f)), f);
  }
  EXPECT_FALSE(parse_import_format("radius"));
}

TEST(ImportFormatTest, DetectionRefusesWhatItCannotTell) {
  EXPECT_FALSE(detect_import_format(""));
  EXPECT_FALSE(detect_import_format("hello world\n"));
  EXPECT_FALSE(detect_import_format("address,mac\n1.2.3.4,\n"));
  EXPECT_EQ(detect_import_format("address,subscriber,start_ts\n1.2.3.4,a,1\n"),
            ImportFormat::kConntrailCsv);
}

TEST(ImportFormatTest, ConntrailCsvGoesThroughTheSameEntryPoint) {
  auto r = import_text("address,subscriber,start_ts,end_ts\n100.64.0.1,alice,100,200\nbad,x,1,\n",
                       ImportFormat::kConntrailCsv);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->records, 2u);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].rfind("line 3:", 0), 0u) << r->errors[0];
}

// ---- FreeRADIUS detail -------------------------------------------------------

// The same Start as a detail record and as a wire packet gives the same session.
TEST(FreeradiusDetailTest, RecordBehavesAsTheWirePacket) {
  const std::string detail =
      "Sun Nov 29 10:00:00 2026\n"
      "\tAcct-Session-Id = \"S-1\"\n"
      "\tAcct-Status-Type = Start\n"
      "\tUser-Name = \"alice\"\n"
      "\tNAS-IP-Address = 192.0.2.1\n"
      "\tNAS-Port-Id = \"eth0.100\"\n"
      "\tCalling-Station-Id = \"02-00-00-00-00-a1\"\n"
      "\tFramed-IP-Address = 100.64.1.7\n"
      "\tDelegated-IPv6-Prefix = 2001:db8:a100::/56\n"
      "\tAcct-Delay-Time = 3\n"
      "\tTimestamp = 1795946400\n\n";
  ImportOptions options;
  options.tracker.subscriber_id_order = {SubscriberIdKind::kCircuitId, SubscriberIdKind::kUserName};
  auto imported = import_text(detail, ImportFormat::kFreeradiusDetail, options);
  ASSERT_TRUE(imported.has_value());

  const Bytes packet = Radius(4, 1)
                           .attr(44, text("S-1"))
                           .status(1)
                           .attr(1, text("alice"))
                           .attr(4, v4(192, 0, 2, 1))
                           .attr(87, text("eth0.100"))
                           .attr(31, text("02-00-00-00-00-a1"))
                           .attr(8, v4(100, 64, 1, 7))
                           .attr(123, Bytes{0, 56, 0x20, 0x01, 0x0d, 0xb8, 0xa1, 0x00, 0, 0})
                           .attr(41, u32(3))
                           .bytes();
  const auto acct = parse_radius_accounting(packet);
  ASSERT_TRUE(acct.has_value());
  SessionTracker wire(options.tracker, [](const SessionRecord&) {});
  wire.on_radius(*acct, PacketContext{kT0, IpAddress(), IpAddress(), TimePrecision::kMicro});
  auto decoded = wire.open_sessions();
  ASSERT_EQ(decoded.size(), 2u);
  ASSERT_EQ(imported->sessions.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    SessionRecord expected = decoded[i];
    expected.source = SessionSource::kImport;
    EXPECT_EQ(imported->sessions[i], expected) << i;
  }
  EXPECT_EQ(imported->sessions[0].subscriber, "eth0.100");            // the configured order
  EXPECT_EQ(imported->sessions[0].start_ts, kT0 - 3 * kNsPerSecond);  // Acct-Delay-Time
}

TEST(FreeradiusDetailTest, AccountingOnClosesTheNasSessionsAsAssumed) {
  const std::string detail =
      "Sun Nov 29 10:00:00 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = \"a\"\n"
      "\tUser-Name = \"u1\"\n\tNAS-IP-Address = 192.0.2.1\n\tFramed-IP-Address = 10.0.0.1\n\n"
      "Sun Nov 29 10:00:00 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = \"b\"\n"
      "\tUser-Name = \"u2\"\n\tNAS-IP-Address = 192.0.2.2\n\tFramed-IP-Address = 10.0.0.2\n\n"
      "Sun Nov 29 10:20:00 2026\n\tAcct-Status-Type = Accounting-On\n"
      "\tNAS-IP-Address = 192.0.2.1\n";
  auto r = import_text(detail, ImportFormat::kFreeradiusDetail);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->sessions.size(), 2u);
  EXPECT_EQ(r->sessions[0].subscriber, "u1");
  EXPECT_EQ(r->sessions[0].end_ts, kT0 + 1200 * kNsPerSecond);  // header date: no Timestamp
  EXPECT_TRUE(r->sessions[0].end_assumed);
  EXPECT_TRUE(r->sessions[1].is_open());  // another NAS
  EXPECT_EQ(r->tracker.closed_reset, 1u);
}

TEST(FreeradiusDetailTest, BadRecordsAreReportedWithTheirLineAndSkipped) {
  const std::string detail =
      "Sun Nov 29 10:00:00 2026\n"           // 1
      "\tAcct-Status-Type = Start\n"         // 2
      "\tFramed-IP-Address = 10.0.0.300\n"   // 3  bad address: whole record
      "\tUser-Name = \"x\"\n"                // 4
      "\n"                                   // 5
      "\tUser-Name = \"orphan\"\n"           // 6  before any header
      "Sun Nov 29 10:00:00 2026\n"           // 7
      "\tUser-Name = \"no status\"\n"        // 8
      "\tFramed-IP-Address = 10.0.0.1\n"     // 9
      "\n"                                   // 10
      "Not a date at all\n"                  // 11 no Timestamp either
      "\tAcct-Status-Type = Start\n"         // 12
      "\tFramed-IP-Address = 10.0.0.2\n"     // 13
      "\n"                                   // 14
      "Sun Nov 29 10:00:00 2026\n"           // 15
      "\tAcct-Status-Type = Bogus-Type\n"    // 16
      "\n"                                   // 17
      "Sun Nov 29 10:00:00 2026\n"           // 18
      "\tAcct-Status-Type = Start\n"         // 19
      "\tUser-Name = \"good\"\n"             // 20
      "\tFramed-IPv6-Prefix = 10.0.0.0/8\n"  // 21 not IPv6
      "\n"                                   // 22
      "Sun Nov 29 10:00:00 2026\n"           // 23
      "\tAcct-Status-Type = Start\n"         // 24
      "\tUser-Name = \"good\"\n"             // 25
      "\tAcct-Session-Id = \"g\"\n"          // 26
      "\tFramed-IP-Address = 10.0.0.9\n";    // 27 (no blank line at the end)
  auto r = import_text(detail, ImportFormat::kFreeradiusDetail);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 6u);
  EXPECT_EQ(r->errors[0].rfind("line 3: Framed-IP-Address", 0), 0u) << r->errors[0];
  EXPECT_EQ(r->errors[1].rfind("line 6: attribute line before", 0), 0u) << r->errors[1];
  EXPECT_EQ(r->errors[2].rfind("line 8: no Acct-Status-Type", 0), 0u) << r->errors[2];
  EXPECT_EQ(r->errors[3].rfind("line 11: no Timestamp", 0), 0u) << r->errors[3];
  EXPECT_EQ(r->errors[4].rfind("line 16: Acct-Status-Type", 0), 0u) << r->errors[4];
  EXPECT_EQ(r->errors[5].rfind("line 21: Framed-IPv6-Prefix", 0), 0u) << r->errors[5];
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].address.to_string(), "10.0.0.9/32");
  EXPECT_EQ(r->records, 6u);
}

TEST(FreeradiusDetailTest, OversizedLinesAndRecordsAreBoundedErrors) {
  ImportOptions options;
  options.limits.max_line_bytes = 64;
  options.limits.max_record_lines = 4;
  std::string detail = "Sun Nov 29 10:00:00 2026\n\tAcct-Status-Type = Start\n\tUser-Name = \"" +
                       std::string(10'000, 'a') + "\"\n\tFramed-IP-Address = 10.0.0.1\n\n";
  detail += "Sun Nov 29 10:00:00 2026\n";
  for (int i = 0; i < 10; ++i) detail += "\tAcct-Status-Type = Start\n";
  detail += "\n";
  auto r = import_text(detail, ImportFormat::kFreeradiusDetail, options);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0], "line 3: line longer than 64 bytes");
  EXPECT_EQ(r->errors[1], "line 11: record longer than 4 lines");
  EXPECT_TRUE(r->sessions.empty());
}

TEST(FreeradiusDetailTest, TooManyBadRecordsOrRecordsIsAnError) {
  ImportOptions options;
  options.limits.max_errors = 2;
  std::string detail;
  for (int i = 0; i < 5; ++i) detail += "Sun Nov 29 10:00:00 2026\n\tUser-Name = \"x\"\n\n";
  auto r = import_text(detail, ImportFormat::kFreeradiusDetail, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);

  options.limits.max_errors = 100;
  options.limits.max_records = 3;
  r = import_text(detail, ImportFormat::kFreeradiusDetail, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kLimit);
}

TEST(FreeradiusDetailTest, DatesInEitherFormAndNamedEnumerations) {
  std::vector<std::pair<std::size_t, std::string>> lines = {
      {2, "\tAcct-Status-Type = Interim-Update"},
      {3, "\tEvent-Timestamp = \"Nov 29 2026 10:02:17 UTC\""},
      {4, "\tAcct-Terminate-Cause = Lost-Carrier"},
      {5, "\tNAS-IPv6-Address = 2001:db8::1"},
      {6, "\tCalling-Station-Id = \"a\\\"b\\\\c\\101\""}};
  TimestampNs ts = 0;
  IpAddress src;
  std::size_t bad = 0;
  auto a = detail_accounting(lines, ts, src, bad);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_TRUE(a->is(AcctStatus::kInterimUpdate));
  EXPECT_EQ(a->event_timestamp, 1'795'946'400u + 137u);
  EXPECT_EQ(a->acct_terminate_cause, 2u);
  EXPECT_EQ(a->nas_ip->to_string(), "2001:db8::1");
  EXPECT_EQ(a->calling_station_id, "a\"b\\cA");
  lines.push_back({7, "\tEvent-Timestamp = \"Nov 29 2026 10:02:17 CET\""});  // zone: ambiguous
  lines[1] = {3, "\tEvent-Timestamp = \"Nov 29 2026 10:02:17 CET\""};
  EXPECT_FALSE(detail_accounting(lines, ts, src, bad));
  EXPECT_EQ(bad, 3u);
}

// ---- ISC dhcpd leases --------------------------------------------------------

// The lease block and the wire ACK of the same lease give the same subscriber and session.
TEST(DhcpdLeasesTest, LeaseBehavesAsTheWireAck) {
  const std::string leases =
      "lease 10.0.0.5 {\n"
      "  starts 0 2026/11/29 10:00:00;\n"
      "  ends 0 2026/11/29 11:00:00;\n"
      "  binding state active;\n"
      "  hardware ethernet 02:00:00:00:00:c1;\n"
      "  uid \"\\001\\002\\000\\000\\000\\000\\301\";\n"
      "  option agent.circuit-id \"bng1 eth 0/1/1:100\";\n"
      "  option agent.remote-id 2:0:0:0:0:c1;\n"
      "}\n";
  for (const char* order : {"circuit-id", "remote-id", "mac", "duid"}) {
    ImportOptions options;
    options.tracker.subscriber_id_order = *parse_subscriber_id_order(order);
    auto imported = import_text(leases, ImportFormat::kIscDhcpdLeases, options);
    ASSERT_TRUE(imported.has_value());
    ASSERT_EQ(imported->sessions.size(), 1u);

    Bytes relay;
    const std::string circuit = "bng1 eth 0/1/1:100";
    relay.push_back(1), relay.push_back(static_cast<std::uint8_t>(circuit.size())),
        put(relay, circuit);
    relay.push_back(2), relay.push_back(6), put(relay, Bytes{2, 0, 0, 0, 0, 0xc1});
    const Bytes ack = Dhcp4(2, 5, 0)
                          .yiaddr(v4(10, 0, 0, 5))
                          .chaddr({2, 0, 0, 0, 0, 0xc1})
                          .opt(51, u32(3600))
                          .opt(61, Bytes{1, 2, 0, 0, 0, 0, 0xc1})
                          .opt(82, relay)
                          .bytes();
    const auto m = parse_dhcpv4(ack);
    ASSERT_TRUE(m.has_value());
    SessionTracker wire(options.tracker, [](const SessionRecord&) {});
    wire.on_dhcpv4(*m, PacketContext{kT0, IpAddress(), IpAddress(), TimePrecision::kMicro});
    const auto decoded = wire.open_sessions();
    ASSERT_EQ(decoded.size(), 1u);
    EXPECT_EQ(imported->sessions[0].subscriber, decoded[0].subscriber) << order;
    EXPECT_EQ(imported->sessions[0].mac, decoded[0].mac);
    EXPECT_EQ(imported->sessions[0].start_ts, decoded[0].start_ts);
    EXPECT_EQ(imported->sessions[0].end_ts, kT0 + 3600 * kNsPerSecond);  // closed at expiry
    EXPECT_TRUE(imported->sessions[0].end_assumed);
  }
}

TEST(DhcpdLeasesTest, BadBlocksAreReportedWithTheirLineAndReadingGoesOn) {
  const std::string leases =
      "lease 10.0.0.300 {\n"                      // 1 bad address
      "  starts 0 2026/11/29 10:00:00;\n"         // 2
      "}\n"                                       // 3
      "lease 10.0.0.2 {\n"                        // 4
      "  starts 0 2026/13/29 10:00:00;\n"         // 5 month 13
      "}\n"                                       // 6
      "lease 10.0.0.3 {\n"                        // 7
      "  starts 0 2026/11/29 10:00:00;\n"         // 8
      "  ends 0 2026/11/29 09:00:00;\n"           // 9
      "}\n"                                       // 10 ends before starts (block line 7)
      "lease 10.0.0.4 {\n"                        // 11
      "  hardware ethernet 02:00:zz:00:00:01;\n"  // 12 bad MAC
      "  starts 0 2026/11/29 10:00:00;\n"         // 13
      "}\n"                                       // 14
      "}\n"                                       // 15 unmatched
      "lease 10.0.0.6 { binding state weird; starts 0 2026/11/29 10:00:00; }\n"  // 16
      "lease 10.0.0.7 {\n"                                                       // 17
      "  starts 0 2026/11/29 10:00:00;\n"                                        // 18
      "  ends 0 2026/11/29 11:00:00;\n"                                          // 19
      "  hardware ethernet 02:00:00:00:00:07;\n"                                 // 20
      "}\n"                                                                      // 21 good
      "lease 10.0.0.8 {\n"                                                       // 22
      "  client-hostname \"never closed;\n";  // 23 unterminated string
  auto r = import_text(leases, ImportFormat::kIscDhcpdLeases);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 7u);
  EXPECT_EQ(r->errors[0].rfind("line 1: lease:", 0), 0u) << r->errors[0];
  EXPECT_EQ(r->errors[1].rfind("line 5: starts", 0), 0u) << r->errors[1];
  EXPECT_EQ(r->errors[2].rfind("line 7: ends before starts", 0), 0u) << r->errors[2];
  EXPECT_EQ(r->errors[3].rfind("line 12: hardware", 0), 0u) << r->errors[3];
  EXPECT_EQ(r->errors[4].rfind("line 15: '}' without a block", 0), 0u) << r->errors[4];
  EXPECT_EQ(r->errors[5].rfind("line 16: binding state 'weird'", 0), 0u) << r->errors[5];
  EXPECT_EQ(r->errors[6].rfind("line 23: unterminated string", 0), 0u) << r->errors[6];
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].address.to_string(), "10.0.0.7/32");
}

TEST(DhcpdLeasesTest, NestingTokensAndBlocksAreBounded) {
  ImportOptions options;
  options.limits.max_line_bytes = 32;
  options.limits.max_record_lines = 8;
  std::string leases = "lease 10.0.0.1 { a { b { c { d { e; } } } } }\n";                // too deep
  leases += "lease 10.0.0.2 { client-hostname \"" + std::string(1000, 'x') + "\"; }\n";  // token
  leases += "lease 10.0.0.3 {\n";
  for (int i = 0; i < 20; ++i) leases += "  set x = y;\n";
  leases += "}\n";
  leases +=
      "lease 10.0.0.4 { starts epoch 1795946400; ends epoch 1795950000; "
      "hardware ethernet 02:00:00:00:00:04; }\n";
  auto r = import_text(leases, ImportFormat::kIscDhcpdLeases, options);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 3u);
  EXPECT_NE(r->errors[0].find("nested too deep"), std::string::npos) << r->errors[0];
  EXPECT_NE(r->errors[1].find("token longer than 32"), std::string::npos) << r->errors[1];
  EXPECT_NE(r->errors[2].find("longer than 8 statements"), std::string::npos) << r->errors[2];
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].end_ts, kT0 + 3600 * kNsPerSecond);
}

TEST(DhcpdLeasesTest, BigEndianIaKeysAndUnorderedFiles) {
  // A file dhcpd rewrote (not in time order) and a big-endian IAID.
  const std::string leases =
      "authoring-byte-order big-endian;\n"
      "ia-na \"\\000\\000\\000\\007\\000\\003\\000\\001\\002\\000\\000\\000\\000\\011\" {\n"
      "  cltt 0 2026/11/29 10:30:00;\n"
      "  iaaddr 2001:db8::9 { binding state released; max-life 600; ends 0 2026/11/29 10:30:00; }\n"
      "}\n"
      "ia-na \"\\000\\000\\000\\007\\000\\003\\000\\001\\002\\000\\000\\000\\000\\011\" {\n"
      "  cltt 0 2026/11/29 10:00:00;\n"
      "  iaaddr 2001:db8::9 { binding state active; max-life 3600; }\n"
      "}\n";
  auto r = import_text(leases, ImportFormat::kIscDhcpdLeases);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->errors.empty()) << r->errors.front();
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].session_id, "iaid:00000007");
  EXPECT_EQ(r->sessions[0].start_ts, kT0);
  EXPECT_EQ(r->sessions[0].end_ts, kT0 + 1800 * kNsPerSecond);
  EXPECT_FALSE(r->sessions[0].end_assumed);  // released: an observed end
  EXPECT_EQ(r->sessions[0].subscriber, "02:00:00:00:00:09");
}

// ---- Kea memfile ---------------------------------------------------------------

TEST(KeaLeasesTest, MissingHeaderColumnIsFatal) {
  auto r = import_text("address,hwaddr\n10.0.0.1,aa:bb\n", ImportFormat::kKeaLease4);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("valid_lifetime"), std::string::npos);
  EXPECT_FALSE(import_text("", ImportFormat::kKeaLease6));
}

TEST(KeaLeasesTest, BadRowsAreReportedWithTheirLineAndSkipped) {
  const std::string header =
      "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,"
      "user_context,pool_id\n";
  const std::string rows =
      "10.0.0.1,02:00:00:00:00:01,,3600,1795950000,1,0,0,,0,,0\n"        // 2 good
      "10.0.0.2,02:00:00:00:00:02,,3600,1795950000,1,0,0,,0,,0,extra\n"  // 3 field count
      "10.0.0.x,02:00:00:00:00:03,,3600,1795950000,1,0,0,,0,,0\n"        // 4 address
      "10.0.0.4,02:00:00:00:00:04,,3600,100,1,0,0,,0,,0\n"               // 5 expire < valid
      "10.0.0.5,02:00:00:00:00:05,,-1,1795950000,1,0,0,,0,,0\n"          // 6 valid
      "10.0.0.6,02-00-00,,3600,1795950000,1,0,0,,0,,0\n"                 // 7 hwaddr
      "10.0.0.7,02:00:00:00:00:07,,3600,1795950000,1,0,0,,7,,0\n"        // 8 state
      "\n"
      "10.0.0.8,02:00:00:00:00:08,,3600,1795950000,1,0,0,,0,{ \"ISC\": not json },0\n";  // 10 ok
  auto r = import_text(header + rows, ImportFormat::kKeaLease4);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 6u);
  const char* expected[] = {"line 3: 13 fields",      "line 4: address", "line 5: expire before",
                            "line 6: valid_lifetime", "line 7: hwaddr",  "line 8: state"};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(r->errors[i].rfind(expected[i], 0), 0u) << r->errors[i];
  }
  ASSERT_EQ(r->sessions.size(), 2u);
  EXPECT_EQ(r->sessions[1].subscriber, "02:00:00:00:00:08");  // unusable user_context: no hints
}

TEST(KeaLeasesTest, OversizedLineIsABadRow) {
  ImportOptions options;
  options.limits.max_line_bytes = 200;
  std::string text =
      "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
      "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context\n";
  text += "2001:db8::1,00:03:00:01:02:00:00:00:00:01,3600,1795950000,1,1800,0,1,128,0,0," +
          std::string(5000, 'h') + ",,0,\n";
  text += "2001:db8::2,00:03:00:01:02:00:00:00:00:02,3600,1795950000,1,1800,0,1,128,0,0,,,0,\n";
  auto r = import_text(text, ImportFormat::kKeaLease6, options);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0], "line 2: line longer than 200 bytes");
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].subscriber, "02:00:00:00:00:02");
}

// Replayed in time order: a file compacted out of order gives the same sessions.
TEST(KeaLeasesTest, RowOrderDoesNotChangeTheSessions) {
  const std::string header =
      "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,"
      "user_context\n";
  const std::string a = "10.0.0.1,02:00:00:00:00:01,,3600,1795950000,1,0,0,,0,\n";
  const std::string b = "10.0.0.1,02:00:00:00:00:02,,3600,1795957200,1,0,0,,0,\n";
  auto forward = import_text(header + a + b, ImportFormat::kKeaLease4);
  auto backward = import_text(header + b + a, ImportFormat::kKeaLease4);
  ASSERT_TRUE(forward && backward);
  ASSERT_EQ(forward->sessions.size(), 2u);
  EXPECT_EQ(forward->sessions, backward->sessions);
  EXPECT_EQ(forward->sessions[0].end_ts, kT0 + 3600 * kNsPerSecond);
}

}  // namespace
}  // namespace conntrail::capture

namespace conntrail::capture {
namespace {

// Kea gives a declined IPv6 lease the empty DUID: the decline still ends the
// session of the client that held the address.
TEST(KeaLeasesTest, DeclinedIpv6LeaseEndsTheHoldersSession) {
  const std::string text =
      "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,"
      "fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context\n"
      "2001:db8::5,00:03:00:01:02:00:00:00:00:05,3600,1795950000,1,1800,0,9,128,0,0,,,0,\n"
      "2001:db8::5,00,86400,1796034600,1,0,0,0,128,0,0,,,1,\n";  // declined at 10:30
  auto r = import_text(text, ImportFormat::kKeaLease6);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->errors.empty()) << r->errors.front();
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].end_ts, kT0 + 1800 * kNsPerSecond);
  EXPECT_FALSE(r->sessions[0].end_assumed);
}

}  // namespace
}  // namespace conntrail::capture
