#include <gtest/gtest.h>

#include "storage/codec/block_filter.h"
#include "storage/codec/byte_io.h"
#include "storage/codec/flow_block.h"
#include "tests/storage/synthetic_flows.h"

namespace conntrail::storage::codec {
namespace {

TEST(ByteIoTest, VarintsRoundTripAndTruncationFails) {
  std::vector<std::uint8_t> buf;
  ByteWriter w(buf);
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) w.varint(v);
  w.svarint(-5);
  ByteReader r(buf);
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) EXPECT_EQ(r.varint(), v);
  EXPECT_EQ(r.svarint(), -5);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  ByteReader cut(std::span<const std::uint8_t>(buf).first(buf.size() - 3));
  for (int i = 0; i < 7; ++i) cut.varint();
  EXPECT_FALSE(cut.ok());
}

TEST(FlowBlockTest, RoundTripsEveryField) {
  testing::SyntheticFlows gen({.seed = 7});
  auto flows = gen.take(3000);
  flows[5].precision = TimePrecision::kNano;
  flows[5].first_ts += 17;  // forces nanosecond units for the block
  flows[5].last_ts = flows[5].first_ts + 5;
  flows[6].vlan_outer = 100;
  flows[6].vlan_inner = 200;
  flows[6].pppoe_session = 0x1234;
  flows[6].interface_id = 3;
  flows[6].subscriber_mac = {1, 2, 3, 4, 5, 6};
  flows[6].subscriber = "";
  flows[7].subscriber = "comma,\"quoted\"";
  FlowBlockEncoder enc(3);
  std::vector<std::uint8_t> block;
  ASSERT_TRUE(enc.encode(flows, block));
  FlowBlockDecoder dec;
  std::vector<FlowRecord> back;
  ASSERT_TRUE(dec.decode(block, back));
  ASSERT_EQ(back.size(), flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) ASSERT_EQ(back[i], flows[i]) << i;
}

TEST(FlowBlockTest, EmptyBlockRoundTrips) {
  FlowBlockEncoder enc(1);
  std::vector<std::uint8_t> block;
  ASSERT_TRUE(enc.encode({}, block));
  FlowBlockDecoder dec;
  std::vector<FlowRecord> back{FlowRecord{}};
  ASSERT_TRUE(dec.decode(block, back));
  EXPECT_TRUE(back.empty());
}

TEST(FlowBlockTest, CorruptBlocksAreRejectedNotCrashed) {
  testing::SyntheticFlows gen({.seed = 3});
  auto flows = gen.take(200);
  std::vector<std::uint8_t> raw;
  encode_flow_columns(flows, raw);
  std::vector<FlowRecord> out;
  // Every truncation of the raw columns must fail cleanly.
  for (std::size_t n = 0; n < raw.size(); n += 7) {
    out.clear();
    EXPECT_FALSE(decode_flow_columns(std::span(raw).first(n), out)) << n;
  }
  // A flipped bit in the zstd frame is refused by zstd or by the column decoder.
  FlowBlockEncoder enc(1);
  std::vector<std::uint8_t> block;
  ASSERT_TRUE(enc.encode(flows, block));
  FlowBlockDecoder dec;
  int failures = 0;
  for (std::size_t i = 0; i < block.size(); i += 13) {
    auto bad = block;
    bad[i] ^= 0x40;
    if (!dec.decode(bad, out)) ++failures;
  }
  EXPECT_GT(failures, 0);
  // A frame claiming a huge size is refused before allocation.
  std::vector<std::uint8_t> garbage(64, 0xff);
  EXPECT_FALSE(dec.decode(garbage, out));
}

TEST(BlockFilterTest, NoFalseNegativesAndFewFalsePositives) {
  testing::SyntheticFlows gen({.seed = 11});
  auto flows = gen.take(4096);
  std::vector<std::uint8_t> bytes;
  build_block_filter(flows, bytes);
  BlockFilterView view(bytes);
  for (const auto& f : flows) {
    ASSERT_TRUE(view.may_contain(f.src_ip));
    ASSERT_TRUE(view.may_contain(f.dst_ip));
    ASSERT_TRUE(view.may_contain_subscriber(f.subscriber));
  }
  int positives = 0;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    if (view.may_contain(IpAddress::v4(0xC6120000u + i)))
      ++positives;  // 198.18/15: never generated
  }
  EXPECT_LT(positives, 500);
  EXPECT_TRUE(BlockFilterView({}).may_contain(IpAddress::v4(1)));  // damaged filter: matches all
}

}  // namespace
}  // namespace conntrail::storage::codec
