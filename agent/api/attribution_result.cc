// agent/api/attribution_result.cc — see attribution_result.h.
#include "agent/api/attribution_result.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "agent/api/result_stream.h"
#include "capture/attribution/attribution_query.h"
#include "capture/attribution/session_format.h"

namespace conntrail::agent {
namespace {

using Json = nlohmann::ordered_json;

// Adds the parts of `extra` inside [from, to) that `into` does not list yet.
void add_uncovered(const std::vector<TimeRange>& extra, TimestampNs from, TimestampNs to,
                   std::vector<TimeRange>& into) {
  for (const auto& r : extra) {
    const TimeRange clipped{std::max(r.from, from), std::min(r.to, to)};
    if (clipped.to <= clipped.from) continue;
    const bool known = std::any_of(into.begin(), into.end(), [&](const TimeRange& k) {
      return k.from <= clipped.from && k.to >= clipped.to;
    });
    if (!known) into.push_back(clipped);
  }
  std::sort(into.begin(), into.end(),
            [](const TimeRange& a, const TimeRange& b) { return a.from < b.from; });
}

}  // namespace

Result<AttributionDocument> answer_attribution_request(const std::string& request_id,
                                                       const AttributionTarget& target,
                                                       const SessionQueryFn& sessions_fn,
                                                       const FlowQueryFn& flows_fn,
                                                       TimestampNs lookaround,
                                                       TimeFormat time_format) {
  if (!sessions_fn || !flows_fn) {
    return fail(ErrorCode::kUnsupported, "this agent has no session or flow store to ask");
  }
  const TimestampNs from = target.at - target.window;
  const TimestampNs to = target.at + target.window + 1;  // exclusive

  Selector address;
  address.kind = Selector::Kind::kAddress;
  address.address = target.address;

  // Sessions of the address around the window (the port means nothing to a session).
  QuerySpec sspec;
  sspec.request_id = request_id;
  sspec.selectors = {address};
  sspec.from = from - lookaround;
  sspec.to = to + lookaround;
  std::vector<SessionRecord> sessions;
  bool too_many_sessions = false;
  auto session_completeness = sessions_fn(sspec, [&](const SessionRecord& s) {
    if (sessions.size() >= kMaxAttributionSessions) {
      too_many_sessions = true;
      return false;
    }
    sessions.push_back(s);
    return true;
  });
  if (!session_completeness) return std::unexpected(session_completeness.error());
  if (too_many_sessions) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("more than {} sessions of {} around the instant; not answered",
                            kMaxAttributionSessions, target.address.to_string()));
  }

  // Flows of the address (and port) in the window itself.
  QuerySpec fspec;
  fspec.request_id = request_id;
  address.port = target.port;
  fspec.selectors = {address};
  fspec.from = from;
  fspec.to = to;
  std::vector<FlowRecord> flows;
  std::uint64_t flows_matching = 0;
  auto flow_completeness = flows_fn(fspec, [&](const FlowRecord& f) {
    if (!target.port) return true;  // read for completeness only
    ++flows_matching;
    if (flows.size() < kMaxAttributionFlows) flows.push_back(f);
    return true;
  });
  if (!flow_completeness) return std::unexpected(flow_completeness.error());

  capture::AttributionQuery q;
  q.address = target.address;
  q.port = target.port;
  q.at = target.at;
  q.window = target.window;
  const capture::AttributionAnswer answer = capture::answer_attribution(q, sessions, flows);

  AttributionDocument doc;
  doc.completeness = *flow_completeness;
  doc.completeness.shards_unreadable += session_completeness->shards_unreadable;
  add_uncovered(session_completeness->uncovered, from, to, doc.completeness.uncovered);
  doc.sessions = answer.sessions.size();

  const capture::SessionFormatter session_rows(OutputFormat::kNdjson, time_format);
  const FlowFormatter flow_rows(OutputFormat::kNdjson, time_format);
  auto session_json = [&](const SessionRecord& s) { return Json::parse(session_rows.row(s)); };
  Json j;
  j["request_id"] = request_id;
  j["address"] = target.address.to_string();
  j["port"] = target.port ? Json(*target.port) : Json();
  j["at"] = format_time(target.at, TimePrecision::kMicro, time_format);
  j["window_s"] = target.window / kNsPerSecond;
  j["status"] = std::string(to_string(answer.status));
  j["subscriber"] = capture::printable(answer.subscriber);
  j["sessions"] = Json::array();
  for (const auto& s : answer.sessions) j["sessions"].push_back(session_json(s));
  j["previous"] = answer.previous ? session_json(*answer.previous) : Json();
  j["next"] = answer.next ? session_json(*answer.next) : Json();
  j["port_check"] = std::string(to_string(answer.port));
  j["flows"] = Json::array();
  for (const auto& f : answer.flows) j["flows"].push_back(Json::parse(flow_rows.row(f)));
  const bool truncated = flows_matching > flows.size();
  j["flows_truncated"] = truncated;
  j["notes"] = Json::array();
  for (const auto& n : answer.notes) j["notes"].push_back(n);
  if (truncated) {
    j["notes"].push_back(fmt::format("{} flows match the address and port; the first {} are listed",
                                     flows_matching, flows.size()));
  }
  if (!doc.completeness.complete()) {
    j["notes"].push_back(
        "the data searched is incomplete for this window (see completeness): an answer may "
        "lack a session or flow the appliance did not record");
  }
  j["completeness"] = to_json(doc.completeness);
  doc.json = j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  return doc;
}

}  // namespace conntrail::agent
