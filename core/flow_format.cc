#include "core/flow_format.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <iterator>
#include <nlohmann/json.hpp>

namespace conntrail {
namespace {

constexpr const char* kCsvHeader =
    "proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,bytes_rev,"
    "first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,end_reason,community_id,vlan_outer,"
    "vlan_inner,pppoe_session,subscriber_mac,subscriber_side,subscriber\n";

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

void append_csv(std::string& out, const FlowRecord& f, TimeFormat tf) {
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

void append_ndjson(std::string& out, const FlowRecord& f, TimeFormat tf) {
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
  append(out,
         R"(","tcp_flags_fwd":{},"tcp_flags_rev":{},"end_reason":"{}","community_id":"{}",)",
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

std::string FlowFormatter::row(const FlowRecord& flow) const {
  std::string out;
  out.reserve(320);
  append_row(flow, out);
  return out;
}

void FlowFormatter::append_row(const FlowRecord& flow, std::string& out) const {
  if (format_ == OutputFormat::kCsv) {
    append_csv(out, flow, time_format_);
  } else {
    append_ndjson(out, flow, time_format_);
  }
}

}  // namespace conntrail
