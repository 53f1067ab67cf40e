// agent/api/problem.h — RFC 9457 problem details and small request helpers.
//
// Every error the lawful API returns is `application/problem+json` with a
// stable `type` URI (urn:conntrail:problem:<slug>), the HTTP `status`, a short
// `title` and, where it helps the client fix the request, a `detail` and the
// offending `field`. Refusals for unidentified certificates carry nothing
// beyond the status: they must not tell a prober why.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "agent/http2/http_types.h"
#include "core/result.h"

namespace conntrail::agent {

http2::HttpResponse problem(int status, std::string_view slug, std::string_view title,
                            std::string_view detail = {}, std::string_view field = {});

// Parses "a=1&b=x%20y" (application/x-www-form-urlencoded rules: '+' is a
// space). kInvalidArgument on bad escapes, repeated keys, or more than 32 pairs.
Result<std::map<std::string, std::string, std::less<>>> parse_query_string(std::string_view query);

}  // namespace conntrail::agent
