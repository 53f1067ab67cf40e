#include "agent/api/problem.h"

#include <nlohmann/json.hpp>

namespace conntrail::agent {

http2::HttpResponse problem(int status, std::string_view slug, std::string_view title,
                            std::string_view detail, std::string_view field) {
  nlohmann::json j = nlohmann::json::object();
  j["type"] = "urn:conntrail:problem:" + std::string(slug);
  j["title"] = std::string(title);
  j["status"] = status;
  if (!detail.empty()) j["detail"] = std::string(detail);
  if (!field.empty()) j["field"] = std::string(field);
  http2::HttpResponse r;
  r.status = status;
  r.headers.emplace_back("content-type", "application/problem+json");
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        return fail(ErrorCode::kInvalidArgument, "truncated %-escape");
      }
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return fail(ErrorCode::kInvalidArgument, "bad %-escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

Result<std::map<std::string, std::string, std::less<>>> parse_query_string(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  std::size_t pairs = 0;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    if (++pairs > 32) return fail(ErrorCode::kInvalidArgument, "too many query parameters");
    const auto eq = pair.find('=');
    auto key = decode(pair.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key) return std::unexpected(key.error());
    if (!value) return std::unexpected(value.error());
    if (!out.emplace(std::move(*key), std::move(*value)).second) {
      return fail(ErrorCode::kInvalidArgument, "repeated query parameter");
    }
  }
  return out;
}

}  // namespace conntrail::agent
