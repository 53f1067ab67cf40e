#include "agent/workflow/new_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace conntrail::agent {
namespace {

using Json = nlohmann::json;

std::unexpected<FieldError> field_error(std::string field, std::string detail) {
  return std::unexpected(FieldError{std::move(field), std::move(detail)});
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A required (or optional) bounded text member.
std::expected<std::string, FieldError> text(const Json& obj, const char* key, std::size_t max,
                                            bool required, bool multiline = false) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return field_error(key, "is required");
    return std::string();
  }
  if (!it->is_string()) return field_error(key, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (required && s.empty()) return field_error(key, "must not be empty");
  if (s.size() > max) return field_error(key, fmt::format("longer than {} bytes", max));
  if (multiline) {
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
        return field_error(key, "contains control characters");
      }
    }
  } else if (has_control(s)) {
    return field_error(key, "contains control characters");
  }
  return s;
}

std::expected<TimestampNs, FieldError> time_member(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) return field_error(key, "is required");
  if (!it->is_string()) return field_error(key, "must be an RFC 3339 time string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > 64) return field_error(key, "is not an RFC 3339 time");
  auto t = parse_time(s);
  if (!t) return field_error(key, "is not an RFC 3339 time: " + t.error().message);
  return *t;
}

std::expected<std::uint16_t, FieldError> port_member(const Json& value, const std::string& at);

std::expected<Selector, FieldError> one_selector(const Json& j, const std::string& at,
                                                 const RequestLimits* limits) {
  if (!j.is_object()) return field_error(at, "must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "ip" && key != "port" && key != "prefix" && key != "subscriber") {
      return field_error(at + "." + key, "unknown field");
    }
  }
  const int forms = static_cast<int>(j.contains("ip")) + static_cast<int>(j.contains("prefix")) +
                    static_cast<int>(j.contains("subscriber"));
  if (forms != 1) return field_error(at, "needs exactly one of ip, prefix, subscriber");
  Selector s;
  if (j.contains("port") && !j.contains("ip"))
    return field_error(at + ".port", "only allowed with ip");
  if (const auto ip = j.find("ip"); ip != j.end()) {
    if (!ip->is_string()) return field_error(at + ".ip", "must be a string");
    const auto& text_ip = ip->get_ref<const std::string&>();
    auto a = IpAddress::parse(text_ip);
    if (!a || text_ip.size() > 64) return field_error(at + ".ip", "is not an IP address");
    s.kind = Selector::Kind::kAddress;
    s.address = *a;
    if (const auto port = j.find("port"); port != j.end()) {
      auto p = port_member(*port, at + ".port");
      if (!p) return std::unexpected(p.error());
      s.port = *p;
    }
  } else if (const auto pfx = j.find("prefix"); pfx != j.end()) {
    if (!pfx->is_string()) return field_error(at + ".prefix", "must be a string");
    const auto& t = pfx->get_ref<const std::string&>();
    const auto slash = t.find('/');
    if (slash == std::string::npos || t.size() > 64) {
      return field_error(at + ".prefix", "must be address/length");
    }
    auto p = IpPrefix::parse(t);
    if (!p) return field_error(at + ".prefix", p.error().message);
    auto addr = IpAddress::parse(std::string_view(t).substr(0, slash));
    if (!addr || *addr != p->network()) {
      return field_error(at + ".prefix", "has host bits set (write the network address)");
    }
    if (limits != nullptr) {
      const int min = p->network().is_v4() ? limits->min_prefix_v4 : limits->min_prefix_v6;
      if (p->length() < min) {
        return field_error(at + ".prefix",
                           fmt::format("/{} is broader than the allowed /{}", p->length(), min));
      }
    }
    s.kind = Selector::Kind::kPrefix;
    s.prefix = *p;
  } else {
    const auto& sub = j["subscriber"];
    if (!sub.is_string()) return field_error(at + ".subscriber", "must be a string");
    const auto& t = sub.get_ref<const std::string&>();
    if (t.empty() || t.size() > 256 || has_control(t)) {
      return field_error(at + ".subscriber", "must be 1-256 printable characters");
    }
    s.kind = Selector::Kind::kSubscriber;
    s.subscriber = t;
  }
  return s;
}

std::expected<std::uint16_t, FieldError> port_member(const Json& value, const std::string& at) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 65535) {
    return field_error(at, "must be an integer 0..65535");
  }
  return static_cast<std::uint16_t>(value.get<std::uint64_t>());
}

}  // namespace

bool NewRequest::asks(std::string_view category) const {
  return std::find(categories.begin(), categories.end(), category) != categories.end();
}

nlohmann::json attribution_to_json(const AttributionTarget& t) {
  Json o = Json::object();
  o["ip"] = t.address.to_string();
  if (t.port) o["port"] = *t.port;
  o["at"] = format_rfc3339(t.at, TimePrecision::kNano);
  o["window_s"] = static_cast<std::uint64_t>(t.window / kNsPerSecond);
  return o;
}

std::expected<AttributionTarget, FieldError> attribution_from_json(const nlohmann::json& j,
                                                                   const RequestLimits* limits) {
  const std::string at = "attribution";
  if (!j.is_object()) return field_error(at, "must be an object");
  for (const auto& [key, value] : j.items()) {
    if (key != "ip" && key != "port" && key != "at" && key != "window_s") {
      return field_error(at + "." + key, "unknown field");
    }
  }
  AttributionTarget t;
  const auto ip = j.find("ip");
  if (ip == j.end()) return field_error(at + ".ip", "is required");
  if (!ip->is_string()) return field_error(at + ".ip", "must be a string");
  const auto& ip_text = ip->get_ref<const std::string&>();
  auto a = IpAddress::parse(ip_text);
  if (!a || ip_text.size() > 64) return field_error(at + ".ip", "is not an IP address");
  t.address = *a;
  if (const auto port = j.find("port"); port != j.end()) {
    auto p = port_member(*port, at + ".port");
    if (!p) return std::unexpected(p.error());
    t.port = *p;
  }
  auto when = time_member(j, "at");
  if (!when) return field_error(at + ".at", when.error().detail);
  t.at = *when;
  if (const auto w = j.find("window_s"); w != j.end()) {
    const std::uint64_t max_s =
        limits != nullptr
            ? static_cast<std::uint64_t>(limits->max_attribution_window / kNsPerSecond)
            : std::uint64_t{366} * 86'400;
    // A JSON integer ≥ 0 (signed or not: an in-memory entry keeps its C++ type).
    if (!w->is_number_integer() || w->get<std::int64_t>() < 0 || w->get<std::uint64_t>() > max_s) {
      return field_error(at + ".window_s",
                         fmt::format("must be an integer 0..{} (seconds)", max_s));
    }
    t.window = static_cast<TimestampNs>(w->get<std::uint64_t>()) * kNsPerSecond;
  }
  return t;
}

nlohmann::json selectors_to_json(const std::vector<Selector>& selectors) {
  Json out = Json::array();
  for (const auto& s : selectors) {
    Json o = Json::object();
    switch (s.kind) {
      case Selector::Kind::kAddress:
        o["ip"] = s.address.to_string();
        if (s.port) o["port"] = *s.port;
        break;
      case Selector::Kind::kPrefix:
        o["prefix"] = s.prefix.to_string();
        break;
      case Selector::Kind::kSubscriber:
        o["subscriber"] = s.subscriber;
        break;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::expected<std::vector<Selector>, FieldError> selectors_from_json(const nlohmann::json& j,
                                                                     const RequestLimits* limits) {
  if (!j.is_array()) return field_error("selectors", "must be an array");
  if (j.empty()) return field_error("selectors", "must name at least one target");
  if (limits != nullptr && j.size() > limits->max_selectors) {
    return field_error("selectors", fmt::format("more than {} selectors", limits->max_selectors));
  }
  std::vector<Selector> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto s = one_selector(j[i], fmt::format("selectors[{}]", i), limits);
    if (!s) return std::unexpected(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

std::expected<NewRequest, FieldError> parse_new_request(std::string_view body,
                                                        const RequestLimits& limits,
                                                        TimestampNs now) {
  if (body.size() > limits.max_body_bytes) {
    return field_error("", fmt::format("body larger than {} bytes", limits.max_body_bytes));
  }
  const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return field_error("", "body is not valid JSON");
  if (!j.is_object()) return field_error("", "body must be a JSON object");
  static const std::set<std::string, std::less<>> kKnown = {
      "case_reference", "legal_basis",   "warrant_reference", "selectors", "from", "to",
      "categories",     "justification", "attribution"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) return field_error(key, "unknown field");
  }
  NewRequest r;
  auto cr = text(j, "case_reference", 128, true);
  if (!cr) return std::unexpected(cr.error());
  r.case_reference = std::move(*cr);
  auto lb = text(j, "legal_basis", 1024, true, true);
  if (!lb) return std::unexpected(lb.error());
  r.legal_basis = std::move(*lb);
  auto wr = text(j, "warrant_reference", 128, false);
  if (!wr) return std::unexpected(wr.error());
  r.warrant_reference = std::move(*wr);
  if (j.contains("warrant_reference") && r.warrant_reference.empty()) {
    return field_error("warrant_reference", "must not be empty when given");
  }
  // Categories first: they decide which members describe the target.
  const auto cats = j.find("categories");
  if (cats == j.end()) return field_error("categories", "is required");
  if (!cats->is_array() || cats->empty() || cats->size() > 8) {
    return field_error("categories", "must be a non-empty array");
  }
  for (std::size_t i = 0; i < cats->size(); ++i) {
    const auto& c = (*cats)[i];
    const std::string at = fmt::format("categories[{}]", i);
    if (!c.is_string()) return field_error(at, "must be a string");
    const auto& name = c.get_ref<const std::string&>();
    if (name != kCategoryFlows && name != kCategorySessions && name != kCategoryAttribution) {
      return field_error(at, fmt::format("unsupported category (supported: {}, {}, {})",
                                         kCategoryFlows, kCategorySessions, kCategoryAttribution));
    }
    if (std::find(r.categories.begin(), r.categories.end(), name) != r.categories.end()) {
      return field_error(at, "duplicate category");
    }
    r.categories.push_back(name);
  }
  const bool attribution = r.asks(kCategoryAttribution);
  if (attribution && r.categories.size() > 1) {
    return field_error("categories", "attribution is asked alone (one address, one instant)");
  }

  if (attribution) {
    for (const char* key : {"selectors", "from", "to"}) {
      if (j.contains(key)) {
        return field_error(key,
                           "not allowed with the attribution category (the target and its "
                           "instant are in attribution)");
      }
    }
    const auto a = j.find("attribution");
    if (a == j.end())
      return field_error("attribution", "is required with the attribution category");
    auto target = attribution_from_json(*a, &limits);
    if (!target) return std::unexpected(target.error());
    if (target->at - target->window < now - limits.retention) {
      return field_error("attribution.at", fmt::format("before the retention period ({} days)",
                                                       limits.retention / kNsPerDay));
    }
    if (target->at + target->window > now) {
      return field_error(
          target->window > 0 && target->at <= now ? "attribution.window_s" : "attribution.at",
          "reaches into the future");
    }
    Selector s;
    s.kind = Selector::Kind::kAddress;
    s.address = target->address;
    s.port = target->port;
    r.selectors = {s};
    r.from = target->at - target->window;
    r.to = target->at + target->window + 1;  // [from, to): an instant is [at, at + 1 ns)
    r.attribution = *target;
  } else {
    if (j.contains("attribution")) {
      return field_error("attribution", "only with the attribution category");
    }
    const auto sel = j.find("selectors");
    if (sel == j.end()) return field_error("selectors", "is required");
    auto selectors = selectors_from_json(*sel, &limits);
    if (!selectors) return std::unexpected(selectors.error());
    r.selectors = std::move(*selectors);

    auto from = time_member(j, "from");
    if (!from) return std::unexpected(from.error());
    auto to = time_member(j, "to");
    if (!to) return std::unexpected(to.error());
    r.from = *from;
    r.to = *to;
    if (r.to <= r.from) return field_error("to", "must be after from");
    if (r.to - r.from > limits.max_window) {
      return field_error("to", fmt::format("window longer than the allowed {} days",
                                           limits.max_window / kNsPerDay));
    }
    if (r.from < now - limits.retention) {
      return field_error("from", fmt::format("before the retention period ({} days)",
                                             limits.retention / kNsPerDay));
    }
    if (r.to > now) return field_error("to", "is in the future");
  }
  auto js = text(j, "justification", 4096, true, true);
  if (!js) return std::unexpected(js.error());
  r.justification = std::move(*js);
  return r;
}

}  // namespace conntrail::agent
