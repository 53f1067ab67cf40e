// read_capture_file and the file helpers: formats, precision, and every
// failure a caller can see (missing file, unsupported link type, garbage).
#include "capture/pipeline/capture_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "capture/source/file_precision.h"
#include "tests/capture/packet_builder.h"

namespace conntrail::capture {
namespace {

using namespace conntrail::testing;

std::string pcaps() { return std::string(CONNTRAIL_TEST_DATA) + "/pcaps/"; }

// A scratch file removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::vector<std::uint8_t>& bytes) {
    char name[] = "/tmp/conntrail-capture-test-XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      if (!bytes.empty()) {
        EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
      }
      close(fd);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void le32(Frame& f, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A little-endian µs pcap header with the given link type.
Frame pcap_header(std::uint32_t link_type) {
  Frame f;
  le32(f, 0xa1b2c3d4);
  f.push_back(2);
  f.push_back(0);
  f.push_back(4);
  f.push_back(0);
  le32(f, 0);
  le32(f, 0);
  le32(f, 65535);
  le32(f, link_type);
  return f;
}

Frame record(std::uint32_t sec, std::uint32_t usec, const Frame& data) {
  Frame f;
  le32(f, sec);
  le32(f, usec);
  le32(f, static_cast<std::uint32_t>(data.size()));
  le32(f, static_cast<std::uint32_t>(data.size()));
  return f + data;
}

TEST(CaptureFileTest, MissingFileIsNotFound) {
  const auto r = read_capture_file("/nonexistent/x.pcap", {}, [](FlowRecord&&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST(CaptureFileTest, GarbageIsAnIoError) {
  TempFile f(std::vector<std::uint8_t>(64, 0x42));
  const auto r = read_capture_file(f.path(), {}, [](FlowRecord&&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
}

TEST(CaptureFileTest, UnsupportedLinkTypeIsRefusedAtStart) {
  TempFile f(pcap_header(105));  // 802.11
  const auto r = read_capture_file(f.path(), {}, [](FlowRecord&&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message.find("unsupported link type 105"), std::string::npos);
}

TEST(CaptureFileTest, RawIpFileAndTruncatedLastRecord) {
  Frame file = pcap_header(101) +  // LINKTYPE_RAW
               record(1700000000, 5, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 4))) +
               record(1700000001, 6, ipv4("10.0.0.2", "10.0.0.1", 17, udp(2, 1, 4)));
  file.resize(file.size() - 5);  // cut the last record short
  TempFile f(file);
  std::vector<FlowRecord> flows;
  CaptureFileReport report;
  const auto r = read_capture_file(
      f.path(), {}, [&](FlowRecord&& x) { flows.push_back(x); }, &report);
  // libpcap reports the cut as an error; the flows read so far were delivered.
  EXPECT_FALSE(r.has_value());
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].packets_fwd, 1u);
  EXPECT_EQ(flows[0].first_ts, 1700000000 * kNsPerSecond + 5000);
  EXPECT_EQ(report.precision, TimePrecision::kMicro);
}

void be32(Frame& f, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) f.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

TEST(CaptureFileTest, BigEndianNanosecondPcap) {
  Frame file;
  be32(file, 0xa1b23c4d);  // ns magic, written big-endian
  file.push_back(0);
  file.push_back(2);
  file.push_back(0);
  file.push_back(4);
  be32(file, 0);
  be32(file, 0);
  be32(file, 65535);
  be32(file, 101);  // LINKTYPE_RAW
  const Frame packet = ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, 4));
  be32(file, 1700000000);
  be32(file, 123456789);
  be32(file, static_cast<std::uint32_t>(packet.size()));
  be32(file, static_cast<std::uint32_t>(packet.size()));
  file = file + packet;
  TempFile f(file);
  std::vector<FlowRecord> flows;
  CaptureFileReport report;
  const auto r = read_capture_file(
      f.path(), {}, [&](FlowRecord&& x) { flows.push_back(x); }, &report);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(report.precision, TimePrecision::kNano);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].first_ts, 1700000000 * kNsPerSecond + 123456789);
  EXPECT_EQ(flows[0].bytes_fwd, 32u);
}

// A little-endian pcapng section with one Ethernet interface whose options
// are `options` (already padded), and no packets.
Frame pcapng_with_interface_options(const Frame& options) {
  Frame f;
  le32(f, 0x0a0d0d0a);
  le32(f, 28);
  le32(f, 0x1a2b3c4d);
  f.push_back(1);
  f.push_back(0);
  f.push_back(0);
  f.push_back(0);
  for (int i = 0; i < 8; ++i) f.push_back(0xff);  // section length: unknown
  le32(f, 28);
  const std::uint32_t idb_length = static_cast<std::uint32_t>(20 + options.size());
  le32(f, 1);
  le32(f, idb_length);
  f.push_back(1);  // LINKTYPE_ETHERNET
  f.push_back(0);
  f.push_back(0);
  f.push_back(0);
  le32(f, 0);  // snaplen
  f = f + options;
  le32(f, idb_length);
  return f;
}

TEST(CaptureFileTest, PcapngTsresolDecidesTheDigits) {
  const auto precision = [](std::uint8_t tsresol) {
    const Frame options{9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0};  // if_tsresol, opt_endofopt
    const Frame f = pcapng_with_interface_options(options);
    return detect_precision(Bytes(f.data(), f.size()));
  };
  EXPECT_EQ(precision(6), TimePrecision::kMicro);
  EXPECT_EQ(precision(3), TimePrecision::kMicro);  // milliseconds still print 6 decimals
  EXPECT_EQ(precision(9), TimePrecision::kNano);
  EXPECT_EQ(precision(0x80 | 30), TimePrecision::kNano);   // 2^-30 s
  EXPECT_EQ(precision(0x80 | 10), TimePrecision::kMicro);  // 2^-10 s
  const Frame no_options = pcapng_with_interface_options(Frame{});
  EXPECT_EQ(detect_precision(Bytes(no_options.data(), no_options.size())), TimePrecision::kMicro);
  // A malformed block length never reads past the data.
  Frame broken = pcapng_with_interface_options(Frame{9, 0, 1, 0, 9, 0, 0, 0});
  broken[32] = 0xff;
  EXPECT_EQ(detect_precision(Bytes(broken.data(), broken.size())), TimePrecision::kMicro);
}

TEST(CaptureFileTest, NanosecondFilesKeepTheirNanoseconds) {
  std::vector<FlowRecord> flows;
  CaptureFileReport report;
  const auto r = read_capture_file(
      pcaps() + "tcpdump/tcp-handshake-nano.pcap", {}, [&](FlowRecord&& x) { flows.push_back(x); },
      &report);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(report.precision, TimePrecision::kNano);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].precision, TimePrecision::kNano);
  EXPECT_NE(flows[0].first_ts % 1000, 0);
}

TEST(CaptureFileTest, PrecisionOfEveryFormat) {
  EXPECT_EQ(detect_file_precision(pcaps() + "zeek/http/get.pcap"), TimePrecision::kMicro);
  EXPECT_EQ(detect_file_precision(pcaps() + "zeek/http/get-to-ssh-server.pcap"),
            TimePrecision::kNano);
  EXPECT_EQ(detect_file_precision(pcaps() + "ndpi/nano.pcapng"), TimePrecision::kNano);
  // Interface 0 has if_tsresol 9, interface 1 has 6: the file prints 9 decimals.
  EXPECT_EQ(detect_file_precision(pcaps() + "zeek/pcapng-multi-interface.pcapng"),
            TimePrecision::kNano);
  EXPECT_EQ(detect_file_precision(pcaps() + "zeek/tls/irc-starttls.pcap"), TimePrecision::kMicro);
  EXPECT_EQ(detect_file_precision("/nonexistent"), TimePrecision::kMicro);
  const Frame tiny{0x0a, 0x0d};
  EXPECT_EQ(detect_precision(Bytes(tiny.data(), tiny.size())), TimePrecision::kMicro);
  // Big-endian ns magic.
  const Frame be_ns{0xa1, 0xb2, 0x3c, 0x4d};
  EXPECT_EQ(detect_precision(Bytes(be_ns.data(), be_ns.size())), TimePrecision::kNano);
}

TEST(CaptureFileTest, CountersAddUp) {
  CaptureFileReport report;
  std::size_t flows = 0;
  const auto r = read_capture_file(
      pcaps() + "tcpdump/various_gre.pcap", {}, [&](FlowRecord&&) { ++flows; }, &report);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->packets, 100u);
  EXPECT_EQ(r->decode_errors, 70u);  // STP, CDP, loopback frames
  EXPECT_EQ(report.decode_errors[DecodeError::kNotIp], 70u);
  EXPECT_EQ(r->flows_exported, flows);
  EXPECT_EQ(flows, 4u);
}

TEST(CaptureFileTest, FlowKeyVlanSeparatesCollidingTuples) {
  // Zeek's vlan_fivetuple-2 baseline: 3 flows of 7/7 packets with a VLAN-aware key.
  CaptureOptions options;
  options.meter.flows.key_vlan = true;
  std::vector<FlowRecord> flows;
  ASSERT_TRUE(read_capture_file(pcaps() + "zeek/vlan-collisions.pcap", options,
                                [&](FlowRecord&& x) { flows.push_back(x); }));
  ASSERT_EQ(flows.size(), 3u);
  for (const auto& f : flows) {
    EXPECT_EQ(f.packets_fwd, 7u);
    EXPECT_EQ(f.packets_rev, 7u);
  }
}

TEST(CaptureFileTest, FlowMemoryCapInBytes) {
  CaptureOptions options;
  options.flow_memory_bytes = 1;  // one flow at a time
  std::vector<FlowRecord> flows;
  const auto r = read_capture_file(pcaps() + "zeek/ftp/ipv6.pcap", options,
                                   [&](FlowRecord&& x) { flows.push_back(x); });
  ASSERT_TRUE(r.has_value());
  EXPECT_GT(r->flows_evicted, 0u);
  std::uint64_t packets = 0;
  for (const auto& f : flows) packets += f.packets_fwd + f.packets_rev;
  EXPECT_EQ(packets, r->packets - r->decode_errors);
}

}  // namespace
}  // namespace conntrail::capture
