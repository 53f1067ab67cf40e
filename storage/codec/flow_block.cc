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

namespace {

// Column buffers re-used by every decode on a thread: a decode allocates
// nothing once they have grown to a block's size.
struct Columns {
  std::vector<std::uint8_t> precision, fam, proto, flags_fwd, flags_rev, end_reason, side;
  std::vector<std::int64_t> first_ts, last_ts;
  std::vector<IpAddress> src, dst;
  std::vector<std::uint16_t> src_port, dst_port, vlan_outer, vlan_inner, pppoe, iface;
  std::vector<std::uint64_t> packets_fwd, packets_rev, bytes_fwd, bytes_rev, sub_index;
  std::vector<const std::uint8_t*> mac;
  std::vector<std::string_view> dict;

  void resize(std::size_t n) {
    for (auto* v : {&precision, &fam, &proto, &flags_fwd, &flags_rev, &end_reason, &side})
      v->resize(n);
    first_ts.resize(n);
    last_ts.resize(n);
    src.resize(n);
    dst.resize(n);
    for (auto* v : {&src_port, &dst_port, &vlan_outer, &vlan_inner, &pppoe, &iface}) v->resize(n);
    for (auto* v : {&packets_fwd, &packets_rev, &bytes_fwd, &bytes_rev, &sub_index}) v->resize(n);
    mac.resize(n);
  }
};

}  // namespace

Result<void> decode_flow_columns(std::span<const std::uint8_t> raw, std::vector<FlowRecord>& out,
                                 const RowFilter* keep) {
  thread_local Columns c;
  ByteReader r(raw);
  if (r.u8() != kFlowBlockVersion) return fail(ErrorCode::kCorrupt, "flow block: unknown version");
  const std::uint64_t n = r.varint();
  if (!r.ok() || n > kMaxBlockRows) return fail(ErrorCode::kCorrupt, "flow block: bad row count");
  const std::int64_t unit = r.u8() == 1 ? 1000 : 1;
  c.resize(n);
  for (auto& p : c.precision) p = r.u8();
  std::int64_t prev = 0;
  for (auto& t : c.first_ts) {
    prev += r.svarint();
    t = prev * unit;
  }
  for (std::size_t i = 0; i < n; ++i) c.last_ts[i] = c.first_ts[i] + r.svarint() * unit;
  for (auto& b : c.fam) b = r.u8();
  for (std::size_t i = 0; i < n; ++i) c.src[i] = get_address(r, (c.fam[i] & 1) != 0);
  for (std::size_t i = 0; i < n; ++i) c.dst[i] = get_address(r, (c.fam[i] & 2) != 0);
  for (auto& v : c.src_port) v = r.u16();
  for (auto& v : c.dst_port) v = r.u16();
  for (auto& v : c.proto) v = r.u8();
  for (auto& v : c.flags_fwd) v = r.u8();
  for (auto& v : c.flags_rev) v = r.u8();
  for (auto& v : c.end_reason) v = r.u8();
  for (auto& v : c.packets_fwd) v = r.varint();
  for (auto& v : c.packets_rev) v = r.varint();
  for (auto& v : c.bytes_fwd) v = r.varint();
  for (auto& v : c.bytes_rev) v = r.varint();
  for (auto& v : c.vlan_outer) v = r.u16();
  for (auto& v : c.vlan_inner) v = r.u16();
  for (auto& v : c.pppoe) v = r.u16();
  for (auto& v : c.iface) v = static_cast<std::uint16_t>(r.varint());
  for (auto& v : c.side) v = r.u8();
  for (auto& m : c.mac) {
    auto b = r.bytes(6);
    m = b.size() == 6 ? b.data() : nullptr;
  }
  const std::uint64_t dict_size = r.varint();
  if (!r.ok() || dict_size > n) return fail(ErrorCode::kCorrupt, "flow block: bad dictionary");
  c.dict.resize(dict_size);
  for (auto& s : c.dict) s = r.text();
  for (auto& i : c.sub_index) {
    i = r.varint();
    if (i >= dict_size) return fail(ErrorCode::kCorrupt, "flow block: bad dictionary index");
  }
  if (!r.ok() || !r.at_end())
    return fail(ErrorCode::kCorrupt, "flow block: truncated or trailing bytes");
  // Only now build records, and only those the caller keeps.
  for (std::size_t i = 0; i < n; ++i) {
    if (keep != nullptr && !(*keep)(c.src[i], c.dst[i])) continue;
    FlowRecord& f = out.emplace_back();
    f.precision = c.precision[i] == 9 ? TimePrecision::kNano : TimePrecision::kMicro;
    f.first_ts = c.first_ts[i];
    f.last_ts = c.last_ts[i];
    f.src_ip = c.src[i];
    f.dst_ip = c.dst[i];
    f.src_port = c.src_port[i];
    f.dst_port = c.dst_port[i];
    f.proto = c.proto[i];
    f.tcp_flags_fwd = c.flags_fwd[i];
    f.tcp_flags_rev = c.flags_rev[i];
    f.end_reason = static_cast<EndReason>(c.end_reason[i] % 5);
    f.packets_fwd = c.packets_fwd[i];
    f.packets_rev = c.packets_rev[i];
    f.bytes_fwd = c.bytes_fwd[i];
    f.bytes_rev = c.bytes_rev[i];
    f.vlan_outer = c.vlan_outer[i];
    f.vlan_inner = c.vlan_inner[i];
    f.pppoe_session = c.pppoe[i];
    f.interface_id = c.iface[i];
    f.subscriber_side = static_cast<SubscriberSide>(c.side[i] % 3);
    if (c.mac[i] != nullptr) std::copy(c.mac[i], c.mac[i] + 6, f.subscriber_mac.begin());
    f.subscriber.assign(c.dict[c.sub_index[i]]);
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
                                      std::vector<FlowRecord>& out, const RowFilter* keep) {
  if (auto r = zstd_.decompress(block, raw_, kMaxRawBlockBytes); !r) return r;
  out.clear();
  return decode_flow_columns(raw_, out, keep);
}

}  // namespace conntrail::storage::codec
