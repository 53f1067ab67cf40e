#include "core/flow_format.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace conntrail {
namespace {

constexpr const char* kCsvHeader =
    "proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,bytes_rev,"
    "first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,end_reason,community_id,vlan_outer,"
    "vlan_inner,pppoe_session,subscriber_mac,subscriber_side,subscriber\n";

std::string vlan_text(std::uint16_t vlan) {
  return vlan == kNoVlan ? std::string() : std::to_string(vlan);
}

std::string mac_text(const MacAddress& mac) {
  return mac == MacAddress{} ? std::string() : format_mac(mac);
}

// RFC 4180: quote a field that holds a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view text) {
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "ndjson") return OutputFormat::kNdjson;
  return fail(ErrorCode::kInvalidArgument,
              "unknown format '" + std::string(text) + "' (want csv or ndjson)");
}

Result<TimeFormat> parse_time_format(std::string_view text) {
  if (text == "epoch") return TimeFormat::kEpoch;
  if (text == "rfc3339") return TimeFormat::kRfc3339;
  return fail(ErrorCode::kInvalidArgument,
              "unknown time format '" + std::string(text) + "' (want epoch or rfc3339)");
}

std::string FlowFormatter::header() const {
  return format_ == OutputFormat::kCsv ? kCsvHeader : std::string();
}

std::string FlowFormatter::row(const FlowRecord& f) const {
  const auto first = format_time(f.first_ts, f.precision, time_format_);
  const auto last = format_time(f.last_ts, f.precision, time_format_);
  if (format_ == OutputFormat::kCsv) {
    return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", f.proto,
                       f.src_ip.to_string(), f.src_port, f.dst_ip.to_string(), f.dst_port,
                       f.packets_fwd, f.packets_rev, f.bytes_fwd, f.bytes_rev, first, last,
                       f.tcp_flags_fwd, f.tcp_flags_rev, to_string(f.end_reason), community_id(f),
                       vlan_text(f.vlan_outer), vlan_text(f.vlan_inner),
                       f.pppoe_session == 0 ? std::string() : std::to_string(f.pppoe_session),
                       mac_text(f.subscriber_mac), to_string(f.subscriber_side),
                       csv_field(f.subscriber));
  }
  nlohmann::ordered_json j;
  j["proto"] = f.proto;
  j["src_ip"] = f.src_ip.to_string();
  j["src_port"] = f.src_port;
  j["dst_ip"] = f.dst_ip.to_string();
  j["dst_port"] = f.dst_port;
  j["packets_fwd"] = f.packets_fwd;
  j["packets_rev"] = f.packets_rev;
  j["bytes_fwd"] = f.bytes_fwd;
  j["bytes_rev"] = f.bytes_rev;
  // Epoch times stay JSON strings so no client's double rounds away the nanoseconds.
  j["first_ts"] = first;
  j["last_ts"] = last;
  j["tcp_flags_fwd"] = f.tcp_flags_fwd;
  j["tcp_flags_rev"] = f.tcp_flags_rev;
  j["end_reason"] = to_string(f.end_reason);
  j["community_id"] = community_id(f);
  using Json = nlohmann::ordered_json;
  j["vlan_outer"] = f.vlan_outer == kNoVlan ? Json() : Json(f.vlan_outer);
  j["vlan_inner"] = f.vlan_inner == kNoVlan ? Json() : Json(f.vlan_inner);
  j["pppoe_session"] = f.pppoe_session == 0 ? Json() : Json(f.pppoe_session);
  j["subscriber_mac"] = f.subscriber_mac == MacAddress{} ? Json() : Json(format_mac(f.subscriber_mac));
  j["subscriber_side"] = to_string(f.subscriber_side);
  j["subscriber"] = f.subscriber;
  return j.dump() + "\n";
}

}  // namespace conntrail
