// core/flow_format.h — flow records as CSV and NDJSON text.
//
// One formatter serves `conntrail flows`, `conntrail query` and the lawful
// API's results, so every surface uses the same column names and number forms.
// Columns (in order): proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,
// packets_rev,bytes_fwd,bytes_rev,first_ts,last_ts,tcp_flags_fwd,tcp_flags_rev,
// end_reason,community_id,vlan_outer,vlan_inner,pppoe_session,subscriber_mac,
// subscriber_side,subscriber. The first 13 match ../shared/pcaps' ground truth.
#pragma once

#include <string>

#include "core/flow_record.h"
#include "core/timestamp.h"

namespace conntrail {

enum class OutputFormat { kCsv, kNdjson };

Result<OutputFormat> parse_output_format(std::string_view text);
Result<TimeFormat> parse_time_format(std::string_view text);

class FlowFormatter {
 public:
  FlowFormatter(OutputFormat format, TimeFormat time_format) noexcept
      : format_(format), time_format_(time_format) {}

  // The CSV header line with '\n'; empty for NDJSON.
  std::string header() const;
  // One record as one line, '\n'-terminated.
  std::string row(const FlowRecord& flow) const;
  // The same line appended to `out`: result streams batch many rows in one
  // buffer without a temporary string per row.
  void append_row(const FlowRecord& flow, std::string& out) const;

 private:
  OutputFormat format_;
  TimeFormat time_format_;
};

}  // namespace conntrail
