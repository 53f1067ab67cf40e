// agent/workflow/new_request.h — validating the body of POST /v1/requests.
//
// A lawful request names its targets; it never sweeps a network. This module
// turns untrusted JSON into a NewRequest or a FieldError naming the first bad
// field ("selectors[2].prefix"), enforcing: no unknown fields; bounded text
// lengths without control characters; 1..max_selectors selectors, each
// exactly one of ip (+ optional port), prefix (no broader than /min_prefix),
// subscriber; a window from < to, no longer than max_window, starting inside
// retention and not ending in the future; categories from the known set
// (flows, subscriber-sessions — either or both — or attribution alone).
//
// The attribution request ("who used 100.64.1.7 port 51000 at 10:02:17?")
// replaces selectors and window by one member
//   "attribution": {"ip": "...", "port": 51000, "at": "RFC 3339", "window_s": 0}
// (port and window_s optional; window_s a half-width, 0..max_attribution_window).
// `selectors`, `from` and `to` are then refused (400 naming them): the request
// names exactly one address at one instant. It is stored with the equivalent
// selector [{ip, port}] and window [at - w, at + w + 1 ns), so listing,
// journal and statistics treat it like any request.
// Pure functions: time comes in as `now`.
#pragma once

#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/flow_query.h"
#include "core/timestamp.h"

namespace conntrail::agent {

inline constexpr TimestampNs kNsPerDay = 86'400 * kNsPerSecond;

// The categories a request may ask for.
inline constexpr std::string_view kCategoryFlows = "flows";
inline constexpr std::string_view kCategorySessions = "subscriber-sessions";
inline constexpr std::string_view kCategoryAttribution = "attribution";

struct RequestLimits {
  std::size_t max_selectors = 16;
  int min_prefix_v4 = 24;  // a v4 prefix may not be shorter (broader) than this
  int min_prefix_v6 = 48;
  TimestampNs max_window = 31 * kNsPerDay;
  TimestampNs retention = 365 * kNsPerDay;
  std::size_t max_body_bytes = 64 * 1024;
  TimestampNs max_attribution_window = 3600 * kNsPerSecond;  // half-width
};

// The target of an attribution request.
struct AttributionTarget {
  IpAddress address;
  std::optional<std::uint16_t> port;
  TimestampNs at = 0;
  TimestampNs window = 0;  // half-width in ns, whole seconds; 0: the instant `at`
};

struct NewRequest {
  std::string case_reference;
  std::string legal_basis;
  std::string warrant_reference;  // may be empty when the legal basis needs none
  std::string justification;
  std::vector<Selector> selectors;
  std::vector<std::string> categories;
  TimestampNs from = 0;
  TimestampNs to = 0;
  std::optional<AttributionTarget> attribution;  // set exactly when categories == {attribution}

  bool asks(std::string_view category) const;
};

struct FieldError {
  std::string field;   // JSON path of the offending member, "" for the body as a whole
  std::string detail;  // why, for people
};

std::expected<NewRequest, FieldError> parse_new_request(std::string_view body,
                                                        const RequestLimits& limits,
                                                        TimestampNs now);

// The canonical JSON form of selectors, as journaled and returned.
nlohmann::json selectors_to_json(const std::vector<Selector>& selectors);
// Parses selectors. With limits, enforces count and breadth (new requests);
// without, only the form (replaying requests accepted under older limits).
std::expected<std::vector<Selector>, FieldError> selectors_from_json(const nlohmann::json& j,
                                                                     const RequestLimits* limits);

// The canonical JSON form of an attribution target ({"ip","port"?,"at","window_s"}).
nlohmann::json attribution_to_json(const AttributionTarget& target);
// Parses it. With limits, enforces the window bound; without, only the form (replay).
std::expected<AttributionTarget, FieldError> attribution_from_json(const nlohmann::json& j,
                                                                   const RequestLimits* limits);

}  // namespace conntrail::agent
