// capture/decode/decoder.h — one frame in, one PacketInfo (or a counted error) out.
//
// decode_frame wires the per-layer pure decoders (link, vlan, mpls, ppp, ipv4,
// ipv6, gre, transport) by EtherType / protocol number, like Zeek's packet
// analysis dispatch table, and never allocates. Tunnels (IP-in-IP, 6in4,
// 4in6, GRE, PPTP enhanced GRE with PPP, GRE bridging, ERSPAN II) are opened so
// the flow is the innermost IP conversation reached without crossing TCP,
// UDP or ICMP; DecodeOptions::tunnel_layer = kOuter keys on the outermost IP
// header instead. VLAN tags and the PPPoE session id are taken from the
// outermost link headers. A tunnel whose payload is not IP (GRE keepalives,
// CDP over GRE) or is unusable keys on the tunnel's own IP header.
// Invariant: when the result is kNone or an anomaly kind, `out` describes
// exactly one IP header; when it is a dropped kind, `out` must be ignored.
#pragma once

#include <cstdint>

#include "capture/decode/bytes.h"
#include "capture/decode/decode_error.h"
#include "capture/decode/decode_fast.h"
#include "capture/decode/link.h"
#include "capture/decode/packet_info.h"

namespace conntrail::capture {

enum class TunnelLayer : std::uint8_t { kInner, kOuter };

struct DecodeOptions {
  TunnelLayer tunnel_layer = TunnelLayer::kInner;
};

// Bound on VLAN tags + MPLS stacks + PPP + IP headers followed in one frame,
// so crafted frames cannot make the walk long.
inline constexpr int kMaxDecodeLayers = 16;

// The general walk alone. decode_frame first tries a straight-line pass for
// the common Ethernet/VLAN/PPPoE/IP/TCP-UDP-ICMP frames (decode_fast.h) and
// falls back to this; the two give the same result for every frame (a test
// compares them, which is why this is exposed).
DecodeError decode_frame_general(LinkType link, Bytes frame, const DecodeOptions& options,
                                 PacketInfo& out) noexcept;

// Fills every field of `out` except ts. Returns kNone, an anomaly kind (the
// packet still makes a flow) or a dropped kind (it belongs to no flow).
// Inline: the fast path (decode_fast.h) runs in the caller's loop.
inline DecodeError decode_frame(LinkType link, Bytes frame, const DecodeOptions& options,
                                PacketInfo& out) noexcept {
  if (link == LinkType::kEthernet && decode_common_ethernet(frame, out)) return DecodeError::kNone;
  return decode_frame_general(link, frame, options, out);
}

}  // namespace conntrail::capture
