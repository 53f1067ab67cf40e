// sessions_from_pcap over files the test writes itself: nanosecond pcap, unsupported
// link type, a damaged record, and the dispatcher's counting of what it cannot use.
#include "capture/attribution/pcap_sessions.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/attribution/builders.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::test;

void le32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void le16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}

// A classic pcap: `magic` a1b2c3d4 (µs) or a1b23c4d (ns), little-endian.
Bytes pcap_file(std::uint32_t magic, std::uint32_t link, const std::vector<std::pair<std::uint64_t, Bytes>>& frames) {
  Bytes f;
  le32(f, magic);
  le16(f, 2);
  le16(f, 4);
  le32(f, 0);
  le32(f, 0);
  le32(f, 65535);
  le32(f, link);
  for (const auto& [frac_ts, frame] : frames) {
    le32(f, 1'700'000'000);
    le32(f, static_cast<std::uint32_t>(frac_ts));
    le32(f, static_cast<std::uint32_t>(frame.size()));
    le32(f, static_cast<std::uint32_t>(frame.size()));
    put(f, frame);
  }
  return f;
}

// Raw IPv4/UDP around a payload (checksums zero: nothing here verifies them).
Bytes raw_udp(std::uint16_t dport, const Bytes& payload) {
  Bytes b{0x45, 0};
  put16(b, static_cast<std::uint32_t>(28 + payload.size()));
  put32(b, 0);
  b.push_back(64);
  b.push_back(17);
  put16(b, 0);
  put(b, v4(192, 0, 2, 1));
  put(b, v4(192, 0, 2, 10));
  put16(b, 40000);
  put16(b, dport);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  put(b, payload);
  return b;
}

class PcapSessionsTest : public ::testing::Test {
 protected:
  std::string write(const Bytes& bytes) {
    path_ = std::string(CONNTRAIL_BINARY_DIR) + "/pcap_sessions_test_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".pcap";
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                  static_cast<std::streamsize>(bytes.size()));
    return path_;
  }
  void TearDown() override {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  std::string path_;
};

Bytes start(const char* session, std::uint8_t last_octet) {
  return Radius(4, last_octet)
      .attr(1, text("alice"))
      .attr(4, v4(192, 0, 2, 1))
      .attr(8, v4(100, 64, 1, last_octet))
      .attr(44, text(session))
      .status(1)
      .bytes();
}

TEST_F(PcapSessionsTest, NanosecondCaptureKeepsItsNanoseconds) {
  const auto path = write(pcap_file(0xA1B23C4D, 101, {{123456789, raw_udp(1813, start("S1", 7))}}));
  const auto r = sessions_from_pcap(path, {}, {});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].start_ts, 1'700'000'000'123'456'789);
  EXPECT_EQ(r->sessions[0].precision, TimePrecision::kNano);
}

TEST_F(PcapSessionsTest, MicrosecondCaptureIsMicro) {
  const auto path = write(pcap_file(0xA1B2C3D4, 101, {{654321, raw_udp(1813, start("S1", 7))}}));
  const auto r = sessions_from_pcap(path, {}, {});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].start_ts, 1'700'000'000'654'321'000);
  EXPECT_EQ(r->sessions[0].precision, TimePrecision::kMicro);
}

TEST_F(PcapSessionsTest, UnsupportedLinkTypeIsAClearError) {
  const auto path = write(pcap_file(0xA1B2C3D4, 147, {{0, raw_udp(1813, start("S1", 7))}}));
  const auto r = sessions_from_pcap(path, {}, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("147"), std::string::npos);
}

TEST_F(PcapSessionsTest, DamagedRecordIsAnErrorNotACrash) {
  auto bytes = pcap_file(0xA1B2C3D4, 101, {{0, raw_udp(1813, start("S1", 7))}});
  // A second record header claiming 1 MB of captured bytes (beyond the snaplen).
  le32(bytes, 1'700'000'001);
  le32(bytes, 0);
  le32(bytes, 1 << 20);
  le32(bytes, 1 << 20);
  const auto r = sessions_from_pcap(write(bytes), {}, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);  // capture/source's reader: kIo
}

TEST_F(PcapSessionsTest, DispatcherCountsWhatItCannotUse) {
  auto cut = raw_udp(1813, start("S2", 8));
  cut.resize(cut.size() - 4);  // the snaplen cut the RADIUS payload
  Bytes malformed = start("S3", 9);
  malformed[3] = 0xFF;  // header Length beyond the packet
  const auto path = write(pcap_file(
      0xA1B2C3D4, 101,
      {{0, raw_udp(1813, start("S1", 7))},
       {1, cut},
       {2, raw_udp(1813, malformed)},
       {3, raw_udp(1813, Radius(1).attr(8, v4(100, 64, 1, 10)).status(1).bytes())},
       {4, raw_udp(67, Bytes(10, 0))},
       {5, raw_udp(547, Bytes{7, 0, 0})},
       {6, raw_udp(53, Bytes(20, 0))}}));
  const auto r = sessions_from_pcap(path, {}, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->frames, 7u);
  EXPECT_EQ(r->parsing.radius_accounting, 1u);
  EXPECT_EQ(r->parsing.truncated_payloads, 1u);
  EXPECT_EQ(r->parsing.radius_errors[static_cast<std::size_t>(RadiusParseError::kTruncated)], 1u);
  EXPECT_EQ(r->parsing.radius_other_codes, 1u);
  EXPECT_EQ(r->parsing.dhcpv4_errors[static_cast<std::size_t>(Dhcpv4ParseError::kTruncated)], 1u);
  EXPECT_EQ(r->parsing.dhcpv6_errors[static_cast<std::size_t>(Dhcpv6ParseError::kTruncated)], 1u);
}

TEST_F(PcapSessionsTest, OtherTrafficMovesTimeSoLeasesExpire) {
  Dhcp4 ack(2, 5);
  ack.yiaddr(v4(100, 64, 5, 5)).chaddr({0, 0x11, 0x22, 0, 0, 0x0a}).opt(51, u32(1));
  Bytes later_dns = raw_udp(53, Bytes(20, 0));
  auto bytes = pcap_file(0xA1B2C3D4, 101, {{0, raw_udp(67, ack.bytes())}});
  le32(bytes, 1'700'000'005);  // five seconds later, a DNS packet
  le32(bytes, 0);
  le32(bytes, static_cast<std::uint32_t>(later_dns.size()));
  le32(bytes, static_cast<std::uint32_t>(later_dns.size()));
  put(bytes, later_dns);
  const auto r = sessions_from_pcap(write(bytes), {}, {});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->sessions.size(), 1u);
  EXPECT_EQ(r->sessions[0].end_ts, 1'700'000'001'000'000'000);
  EXPECT_TRUE(r->sessions[0].end_assumed);
}

}  // namespace
}  // namespace conntrail::capture
