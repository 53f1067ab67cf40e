// storage/codec/flow_block.cc — see flow_block.h.
#include "storage/codec/flow_block.h"

#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/codec/byte_io.h"

namespace conntrail::storage::codec {
namespace {

// Upper bound of a raw block: generous per-record worst case (two IPv6
// addresses, ten-byte varints, a subscriber string) times the row limit.
constexpr std::size_t kMaxRawBlockBytes = 64u << 20;

void put_address(ByteWriter& w, const IpAddress& a) {
  if (a.is_v4()) {
    w.bytes(std::span(a.bytes()).subspan(12, 4));
  } else {
    w.bytes(a.bytes());
  }
}

IpAddress get_address(ByteReader& r, bool v4) {
  if (v4) {
    auto b = r.bytes(4);
    if (b.size() != 4) return {};
    return IpAddress::v4_from_bytes(std::span<const std::uint8_t, 4>(b.data(), 4));
  }
  auto b = r.bytes(16);
  if (b.size() != 16) return {};
  return IpAddress::v6_from_bytes(std::span<const std::uint8_t, 16>(b.data(), 16));
}

}  // namespace

void encode_flow_columns(std::span<const FlowRecord> recs, std::vector<std::uint8_t>& out) {
  ByteWriter w(out);
  w.u8(kFlowBlockVersion);
  w.varint(recs.size());
  // Microsecond captures give times that are whole microseconds: store them in
  // microseconds (one byte shorter per delta) when every time in the block allows.
  bool micro = true;
  for (const auto& f : recs) {
    if (f.first_ts % 1000 != 0 || f.last_ts % 1000 != 0) {
      micro = false;
      break;
    }
  }
  const std::int64_t unit = micro ? 1000 : 1;
  w.u8(micro ? 1 : 0);
  for (const auto& f : recs) w.u8(static_cast<std::uint8_t>(f.precision));
  std::int64_t prev = 0;
  for (const auto& f : recs) {
    const std::int64_t t = f.first_ts / unit;
    w.svarint(t - prev);
    prev = t;
  }
  for (const auto& f : recs) w.svarint((f.last_ts - f.first_ts) / unit);
  for (const auto& f : recs) {
    w.u8(static_cast<std::uint8_t>((f.src_ip.is_v4() ? 1 : 0) | (f.dst_ip.is_v4() ? 2 : 0)));
  }
  for (const auto& f : recs) put_address(w, f.src_ip);
  for (const auto& f : recs) put_address(w, f.dst_ip);
  for (const auto& f : recs) w.u16(f.src_port);
  for (const auto& f : recs) w.u16(f.dst_port);
  for (const auto& f : recs) w.u8(f.proto);
  for (const auto& f : recs) w.u8(f.tcp_flags_fwd);
  for (const auto& f : recs) w.u8(f.tcp_flags_rev);
  for (const auto& f : recs) w.u8(static_cast<std::uint8_t>(f.end_reason));
  for (const auto& f : recs) w.varint(f.packets_fwd);
  for (const auto& f : recs) w.varint(f.packets_rev);
  for (const auto& f : recs) w.varint(f.bytes_fwd);
  for (const auto& f : recs) w.varint(f.bytes_rev);
  for (const auto& f : recs) w.u16(f.vlan_outer);
  for (const auto& f : recs) w.u16(f.vlan_inner);
  for (const auto& f : recs) w.u16(f.pppoe_session);
  for (const auto& f : recs) w.varint(f.interface_id);
  for (const auto& f : recs) w.u8(static_cast<std::uint8_t>(f.subscriber_side));
  for (const auto& f : recs) w.bytes(f.subscriber_mac);
  // Subscriber ids repeat within a block: a block-local dictionary.
  std::unordered_map<std::string_view, std::uint64_t> dict;
  std::vector<std::string_view> order;
  std::vector<std::uint64_t> index;
  index.reserve(recs.size());
  for (const auto& f : recs) {
    auto [it, inserted] = dict.emplace(f.subscriber, order.size());
    if (inserted) order.push_back(f.subscriber);
    index.push_back(it->second);
  }
  w.varint(order.size());
  for (auto s : order) w.text(s);
  for (auto i : index) w.varint(i);
}

Result<void> decode_flow_columns(std::span<const std::uint8_t> raw, std::vector<FlowRecord>& out) {
  ByteReader r(raw);
  if (r.u8() != kFlowBlockVersion) return fail(ErrorCode::kCorrupt, "flow block: unknown version");
  const std::uint64_t n = r.varint();
  if (!r.ok() || n > kMaxBlockRows) return fail(ErrorCode::kCorrupt, "flow block: bad row count");
  const std::int64_t unit = r.u8() == 1 ? 1000 : 1;
  const std::size_t base = out.size();
  out.resize(base + n);
  auto recs = std::span(out).subspan(base);
  for (auto& f : recs) {
    const auto p = r.u8();
    f.precision = p == 9 ? TimePrecision::kNano : TimePrecision::kMicro;
  }
  std::int64_t prev = 0;
  for (auto& f : recs) {
    prev += r.svarint();
    f.first_ts = prev * unit;
  }
  for (auto& f : recs) f.last_ts = f.first_ts + r.svarint() * unit;
  std::vector<std::uint8_t> fam(n);
  for (auto& b : fam) b = r.u8();
  for (std::size_t i = 0; i < n; ++i) recs[i].src_ip = get_address(r, (fam[i] & 1) != 0);
  for (std::size_t i = 0; i < n; ++i) recs[i].dst_ip = get_address(r, (fam[i] & 2) != 0);
  for (auto& f : recs) f.src_port = r.u16();
  for (auto& f : recs) f.dst_port = r.u16();
  for (auto& f : recs) f.proto = r.u8();
  for (auto& f : recs) f.tcp_flags_fwd = r.u8();
  for (auto& f : recs) f.tcp_flags_rev = r.u8();
  for (auto& f : recs) f.end_reason = static_cast<EndReason>(r.u8() % 5);
  for (auto& f : recs) f.packets_fwd = r.varint();
  for (auto& f : recs) f.packets_rev = r.varint();
  for (auto& f : recs) f.bytes_fwd = r.varint();
  for (auto& f : recs) f.bytes_rev = r.varint();
  for (auto& f : recs) f.vlan_outer = r.u16();
  for (auto& f : recs) f.vlan_inner = r.u16();
  for (auto& f : recs) f.pppoe_session = r.u16();
  for (auto& f : recs) f.interface_id = static_cast<std::uint16_t>(r.varint());
  for (auto& f : recs) f.subscriber_side = static_cast<SubscriberSide>(r.u8() % 3);
  for (auto& f : recs) {
    auto m = r.bytes(6);
    if (m.size() == 6) std::copy(m.begin(), m.end(), f.subscriber_mac.begin());
  }
  const std::uint64_t dict_size = r.varint();
  if (!r.ok() || dict_size > n) {
    out.resize(base);
    return fail(ErrorCode::kCorrupt, "flow block: bad dictionary");
  }
  std::vector<std::string_view> dict(dict_size);
  for (auto& s : dict) s = r.text();
  for (auto& f : recs) {
    const auto i = r.varint();
    if (i >= dict_size) {
      out.resize(base);
      return fail(ErrorCode::kCorrupt, "flow block: bad dictionary index");
    }
    f.subscriber.assign(dict[i]);
  }
  if (!r.ok() || !r.at_end()) {
    out.resize(base);
    return fail(ErrorCode::kCorrupt, "flow block: truncated or trailing bytes");
  }
  return {};
}

Result<void> FlowBlockEncoder::encode(std::span<const FlowRecord> records,
                                      std::vector<std::uint8_t>& out) {
  raw_.clear();
  encode_flow_columns(records, raw_);
  return zstd_.compress(raw_, out);
}

Result<void> FlowBlockDecoder::decode(std::span<const std::uint8_t> block,
                                      std::vector<FlowRecord>& out) {
  if (auto r = zstd_.decompress(block, raw_, kMaxRawBlockBytes); !r) return r;
  out.clear();
  return decode_flow_columns(raw_, out);
}

}  // namespace conntrail::storage::codec
