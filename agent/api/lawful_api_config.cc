#include "agent/api/lawful_api_config.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>

namespace conntrail::agent {

namespace po = boost::program_options;

void add_lawful_api_options(po::options_description& d, LawfulApiConfig& c) {
  d.add_options()("lawful.officers_file", po::value(&c.officers_file), "officers file (JSON)")(
      "lawful.approvals_required",
      po::value(&c.approvals_required)->default_value(c.approvals_required),
      "approvers needed besides the requester (>= 1)")(
      "lawful.request_ttl_days", po::value(&c.request_ttl_days)->default_value(c.request_ttl_days),
      "days after creation when a request expires")(
      "lawful.max_selectors", po::value(&c.max_selectors)->default_value(c.max_selectors),
      "most selectors in one request")("lawful.min_prefix_v4",
                                       po::value(&c.min_prefix_v4)->default_value(c.min_prefix_v4),
                                       "shortest (broadest) IPv4 prefix a request may name")(
      "lawful.min_prefix_v6", po::value(&c.min_prefix_v6)->default_value(c.min_prefix_v6),
      "shortest (broadest) IPv6 prefix a request may name")(
      "lawful.max_window_days", po::value(&c.max_window_days)->default_value(c.max_window_days),
      "longest time window of one request")(
      "lawful.retention_days", po::value(&c.retention_days)->default_value(c.retention_days),
      "how far back requests may reach (the storage retention)")(
      "lawful.max_result_streams",
      po::value(&c.max_result_streams)->default_value(c.max_result_streams),
      "result streams at once")("lawful.result_buffer_kib",
                                po::value(&c.result_buffer_kib)->default_value(c.result_buffer_kib),
                                "buffer per result stream")(
      "lawful.auth_failures_per_minute",
      po::value(&c.auth_failures_per_minute)->default_value(c.auth_failures_per_minute),
      "authentication failures journaled per minute (the rest are counted)");
}

Result<LawfulApiOptions> to_lawful_api_options(const LawfulApiConfig& c,
                                               const std::string& data_dir) {
  auto bad = [](const char* key, const std::string& why) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("lawful.{}: {}", key, why));
  };
  if (c.officers_file.empty()) return bad("officers_file", "is required");
  if (c.approvals_required < 1) return bad("approvals_required", "must be at least 1");
  if (c.approvals_required > 16) return bad("approvals_required", "must be at most 16");
  if (c.request_ttl_days < 1 || c.request_ttl_days > 3650)
    return bad("request_ttl_days", "must be 1..3650");
  if (c.max_selectors < 1 || c.max_selectors > 1024) return bad("max_selectors", "must be 1..1024");
  if (c.min_prefix_v4 < 0 || c.min_prefix_v4 > 32) return bad("min_prefix_v4", "must be 0..32");
  if (c.min_prefix_v6 < 0 || c.min_prefix_v6 > 128) return bad("min_prefix_v6", "must be 0..128");
  if (c.max_window_days < 1 || c.max_window_days > 3650)
    return bad("max_window_days", "must be 1..3650");
  if (c.retention_days < 1 || c.retention_days > 3650)
    return bad("retention_days", "must be 1..3650");
  if (c.max_result_streams < 1 || c.max_result_streams > 1024) {
    return bad("max_result_streams", "must be 1..1024");
  }
  if (c.result_buffer_kib < 64 || c.result_buffer_kib > 65536) {
    return bad("result_buffer_kib", "must be 64..65536");
  }
  if (c.auth_failures_per_minute > 100000)
    return bad("auth_failures_per_minute", "must be at most 100000");
  if (data_dir.empty())
    return fail(ErrorCode::kInvalidArgument, "storage data directory is not set");
  LawfulApiOptions o;
  o.journal_path = storage::journal_path_for_data_dir(data_dir);
  o.officers_path = c.officers_file;
  o.approvals_required = c.approvals_required;
  o.request_ttl = static_cast<TimestampNs>(c.request_ttl_days) * kNsPerDay;
  o.limits.max_selectors = c.max_selectors;
  o.limits.min_prefix_v4 = c.min_prefix_v4;
  o.limits.min_prefix_v6 = c.min_prefix_v6;
  o.limits.max_window = static_cast<TimestampNs>(c.max_window_days) * kNsPerDay;
  o.limits.retention = static_cast<TimestampNs>(c.retention_days) * kNsPerDay;
  o.max_result_streams = c.max_result_streams;
  o.result_buffer_bytes = static_cast<std::size_t>(c.result_buffer_kib) * 1024;
  o.auth_failures_per_minute = c.auth_failures_per_minute;
  return o;
}

}  // namespace conntrail::agent
