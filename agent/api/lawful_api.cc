#include "agent/api/lawful_api.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "agent/api/attribution_result.h"
#include "agent/api/deferred_body.h"
#include "agent/api/problem.h"
#include "agent/api/result_stream.h"
#include "agent/version.h"
#include "agent/workflow/statistics.h"
#include "capture/attribution/session_format.h"

namespace conntrail::agent {

using Json = nlohmann::json;
using http2::HttpRequest;
using http2::HttpResponse;

namespace {
constexpr std::string_view kResultStarted = "result_started";
constexpr TimestampNs kMinute = 60 * kNsPerSecond;

std::string iso(TimestampNs t) { return format_rfc3339(t, TimePrecision::kMicro); }

std::string clip(std::string_view s, std::size_t n) { return std::string(s.substr(0, n)); }

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpResponse json_response(int status, const Json& j) {
  return HttpResponse::json(status, dump(j));
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

Result<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 19) return fail(ErrorCode::kInvalidArgument, "not a number");
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fail(ErrorCode::kInvalidArgument, "not a number");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return fail(ErrorCode::kInvalidArgument, fmt::format("larger than {}", max));
  return v;
}

bool valid_month(std::string_view m) {
  return m.size() == 7 && m[4] == '-' && std::isdigit(static_cast<unsigned char>(m[0])) &&
         std::isdigit(static_cast<unsigned char>(m[1])) &&
         std::isdigit(static_cast<unsigned char>(m[2])) &&
         std::isdigit(static_cast<unsigned char>(m[3])) &&
         std::isdigit(static_cast<unsigned char>(m[5])) &&
         std::isdigit(static_cast<unsigned char>(m[6])) && m.substr(5) >= "01" &&
         m.substr(5) <= "12";
}

std::string new_request_id() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::fprintf(stderr, "conntrail: RAND_bytes failed\n");
    std::abort();
  }
  std::string id = "r-";
  for (unsigned char c : b) id += fmt::format("{:02x}", c);
  return id;
}

Json entry_json(const storage::JournalEntry& e) {
  return {{"seq", e.seq},   {"time", format_rfc3339(e.time, TimePrecision::kNano)},
          {"type", e.type}, {"fields", e.fields},
          {"prev", e.prev}, {"hash", e.hash}};
}

Json report_json(const storage::JournalVerifyReport& r) {
  Json problems = Json::array();
  for (const auto& p : r.problems) {
    problems.push_back({{"kind", std::string(storage::to_string(p.kind))},
                        {"line", p.line},
                        {"seq", p.seq},
                        {"count", p.count},
                        {"detail", p.detail}});
  }
  return {{"ok", r.ok()},
          {"entries", r.entries},
          {"lines", r.lines},
          {"last_seq", r.last_seq},
          {"head_hash", r.head_hash},
          {"torn_tail_bytes", r.torn_tail_bytes},
          {"problems", problems},
          {"problems_omitted", r.problems_omitted}};
}

// A body that must be empty or a JSON object with only the given optional string keys.
std::expected<Json, FieldError> small_body(const std::string& body,
                                           std::initializer_list<std::string_view> allowed) {
  if (body.empty()) return Json::object();
  if (body.size() > 8192) return std::unexpected(FieldError{"", "body larger than 8192 bytes"});
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::unexpected(FieldError{"", "body must be a JSON object"});
  }
  for (const auto& [k, v] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return std::unexpected(FieldError{k, "unknown field"});
    }
    if (!v.is_string() || v.get_ref<const std::string&>().size() > 1024) {
      return std::unexpected(FieldError{k, "must be a string of at most 1024 bytes"});
    }
  }
  return j;
}

}  // namespace

TimestampNs system_clock_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct LawfulApi::Core {
  LawfulApiOptions options;
  FlowQueryFn query;
  SessionQueryFn session_query;  // may be empty: no session store
  Clock clock;
  OfficerRegistry officers{nullptr};

  mutable std::mutex mu;  // guards everything below
  std::unique_ptr<storage::Journal> journal;
  RequestBook book;
  std::size_t active_streams = 0;
  TimestampNs auth_window_start = 0;
  std::size_t auth_in_window = 0;
  std::uint64_t auth_suppressed = 0;
  bool journal_failing = false;  // the last append failed (logged once per outage)
  bool verify_running = false;   // one /v1/audit/verify at a time

  // Journals one entry and applies it to the book. Caller holds mu.
  Result<storage::JournalEntry> record_locked(std::string_view type, Json fields) {
    auto e = journal->append(clock(), type, std::move(fields));
    if (!e) {
      // Logged here, at the boundary that decides (the caller answers 503) —
      // once per outage, not once per refused request.
      if (!journal_failing) {
        std::fprintf(
            stderr,
            "conntrail-agent: audit journal: %s; refusing every action until it can be written\n",
            e.error().message.c_str());
      }
      journal_failing = true;
      return e;
    }
    if (journal_failing) {
      std::fprintf(stderr, "conntrail-agent: audit journal writable again\n");
      journal_failing = false;
    }
    if (auto applied = book.apply(*e); !applied) {
      std::fprintf(stderr, "conntrail-agent: audit journal entry %llu not applied: %s\n",
                   static_cast<unsigned long long>(e->seq), applied.error().message.c_str());
    }
    return e;
  }

  HttpResponse dispatch(const std::shared_ptr<Core>& self, const HttpRequest& req);
  void journal_auth_failure(const HttpRequest& req, IdentityFailure why, TimestampNs now);
  HttpResponse forbid(const Officer& officer, const HttpRequest& req, std::string_view why);
  HttpResponse from_error(const Officer& officer, const HttpRequest& req, const Error& err);

  HttpResponse create(const Officer& o, const HttpRequest& req, TimestampNs now);
  HttpResponse list(const Officer& o, const HttpRequest& req, TimestampNs now);
  HttpResponse get(const Officer& o, const HttpRequest& req, std::string_view id, TimestampNs now);
  HttpResponse decide(const Officer& o, const HttpRequest& req, std::string_view id,
                      std::string_view action, TimestampNs now);
  HttpResponse results(const std::shared_ptr<Core>& self, const Officer& o, const HttpRequest& req,
                       std::string_view id, std::string_view category, TimestampNs now);
  HttpResponse manifest(const Officer& o, const HttpRequest& req, std::string_view id,
                        TimestampNs now);
  HttpResponse audit(const Officer& o, const HttpRequest& req);
  HttpResponse audit_verify(const std::shared_ptr<Core>& self, const Officer& o,
                            const HttpRequest& req);
  HttpResponse statistics(const Officer& o, const HttpRequest& req);
};

namespace {
HttpResponse journal_unavailable() {
  return problem(503, "journal-unavailable", "Service Unavailable",
                 "the audit journal cannot be written; nothing was changed");
}
HttpResponse bad_field(const FieldError& e) {
  return problem(400, "invalid-field", "Bad Request",
                 e.field.empty() ? e.detail : e.field + " " + e.detail, e.field);
}
HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse r = problem(405, "method-not-allowed", "Method Not Allowed");
  r.headers.emplace_back("allow", std::string(allow));
  return r;
}
HttpResponse not_found() { return problem(404, "not-found", "Not Found"); }
}  // namespace

void LawfulApi::Core::journal_auth_failure(const HttpRequest& req, IdentityFailure why,
                                           TimestampNs now) {
  std::lock_guard lock(mu);
  if (now - auth_window_start >= kMinute || now < auth_window_start) {
    auth_window_start = now;
    auth_in_window = 0;
  }
  if (auth_in_window >= options.auth_failures_per_minute) {
    ++auth_suppressed;
    return;
  }
  ++auth_in_window;
  Json f = {
      {"reason", std::string(to_string(why))},    {"cert_sha256", clip(req.client.cert_sha256, 64)},
      {"subject", clip(req.client.subject, 512)}, {"issuer", clip(req.client.issuer, 512)},
      {"serial", clip(req.client.serial, 128)},   {"peer", clip(req.peer_address, 64)},
      {"method", clip(req.method, 16)},           {"path", clip(req.path, 256)},
      {"suppressed_before", auth_suppressed}};
  if (record_locked(journal_type::kAuthFailure, std::move(f))) auth_suppressed = 0;
}

HttpResponse LawfulApi::Core::forbid(const Officer& officer, const HttpRequest& req,
                                     std::string_view why) {
  std::lock_guard lock(mu);
  Json f = {{"officer", officer.id},
            {"agency", officer.agency},
            {"method", clip(req.method, 16)},
            {"path", clip(req.path, 256)},
            {"reason", std::string(why)}};
  if (!record_locked(journal_type::kAuthzFailure, std::move(f))) return journal_unavailable();
  return problem(403, "forbidden", "Forbidden", why);
}

HttpResponse LawfulApi::Core::from_error(const Officer& officer, const HttpRequest& req,
                                         const Error& err) {
  switch (err.code) {
    case ErrorCode::kPermission:
      return forbid(officer, req, err.message);
    case ErrorCode::kNotFound:
      return problem(404, "not-found", "Not Found", err.message);
    case ErrorCode::kUnsupported:
      return problem(409, "state-conflict", "Conflict", err.message);
    case ErrorCode::kInvalidArgument:
      return problem(400, "invalid-request", "Bad Request", err.message);
    case ErrorCode::kIo:
    case ErrorCode::kNoSpace:
      return journal_unavailable();
    default:
      return problem(500, "internal", "Internal Server Error");
  }
}

HttpResponse LawfulApi::Core::dispatch(const std::shared_ptr<Core>& self, const HttpRequest& req) {
  const TimestampNs now = clock();
  const auto directory = officers.current();
  const auto who = directory->identify(req.client, now);
  if (!who) {
    journal_auth_failure(req, who.error(), now);
    return problem(403, "forbidden", "Forbidden");  // nothing else: do not tell a prober why
  }
  const Officer& o = **who;  // `directory` keeps the snapshot alive for this call
  const auto seg = split_path(req.path);
  const std::string& m = req.method;
  if (seg.size() < 2 || seg[0] != "v1") return not_found();
  if (seg[1] == "requests") {
    if (seg.size() == 2) {
      if (m == "POST") return create(o, req, now);
      if (m == "GET") return list(o, req, now);
      return method_not_allowed("GET, POST");
    }
    const std::string_view id = seg[2];
    if (!valid_request_id(id)) return not_found();
    if (seg.size() == 3) {
      if (m != "GET") return method_not_allowed("GET");
      return get(o, req, id, now);
    }
    if (seg.size() == 5 && seg[3] == "results") {
      if (m != "GET") return method_not_allowed("GET");
      if (seg[4].empty()) return not_found();
      return results(self, o, req, id, seg[4], now);
    }
    if (seg.size() != 4) return not_found();
    const std::string_view action = seg[3];
    if (action == "approve" || action == "reject" || action == "cancel") {
      if (m != "POST") return method_not_allowed("POST");
      return decide(o, req, id, action, now);
    }
    if (action == "results") {
      if (m != "GET") return method_not_allowed("GET");
      return results(self, o, req, id, {}, now);
    }
    if (action == "manifest") {
      if (m != "GET") return method_not_allowed("GET");
      return manifest(o, req, id, now);
    }
    return not_found();
  }
  if (seg[1] == "audit") {
    if (seg.size() == 2) {
      if (m != "GET") return method_not_allowed("GET");
      return audit(o, req);
    }
    if (seg.size() == 3 && seg[2] == "verify") {
      if (m != "GET") return method_not_allowed("GET");
      return audit_verify(self, o, req);
    }
    return not_found();
  }
  if (seg[1] == "statistics" && seg.size() == 2) {
    if (m != "GET") return method_not_allowed("GET");
    return statistics(o, req);
  }
  return not_found();
}

HttpResponse LawfulApi::Core::create(const Officer& o, const HttpRequest& req, TimestampNs now) {
  if (!o.has(Role::kRequester)) return forbid(o, req, "requester role needed");
  const std::string ct = req.header("content-type");
  if (!ct.empty() && ct.rfind("application/json", 0) != 0) {
    return problem(415, "unsupported-media-type", "Unsupported Media Type",
                   "send the request as application/json");
  }
  auto parsed = parse_new_request(req.body, options.limits, now);
  if (!parsed) return bad_field(parsed.error());
  if (!session_query) {
    for (std::size_t i = 0; i < parsed->categories.size(); ++i) {
      if (parsed->categories[i] != kCategoryFlows) {
        return bad_field({fmt::format("categories[{}]", i), "not served by this agent"});
      }
    }
  }
  std::unique_lock lock(mu);
  auto fields = book.create_event(*parsed, o, new_request_id(), now, options.approvals_required,
                                  options.request_ttl);
  if (!fields) {
    lock.unlock();  // from_error() may journal, under the lock itself
    return from_error(o, req, fields.error());
  }
  const std::string id = (*fields)["id"].get<std::string>();
  if (!record_locked(journal_type::kRequestCreated, std::move(*fields)))
    return journal_unavailable();
  HttpResponse r = json_response(201, book.find(id)->to_json(now));
  r.headers.emplace_back("location", "/v1/requests/" + id);
  return r;
}

HttpResponse LawfulApi::Core::list(const Officer& o, const HttpRequest& req, TimestampNs now) {
  if (!o.has(Role::kRequester) && !o.has(Role::kApprover)) {
    return forbid(o, req, "requester or approver role needed");
  }
  auto q = parse_query_string(req.query);
  if (!q) return problem(400, "invalid-query", "Bad Request", q.error().message);
  std::uint64_t page = 1;
  std::uint64_t per_page = options.default_page_size;
  std::string state_filter;
  for (const auto& [k, v] : *q) {
    if (k == "page") {
      auto n = parse_uint(v, 1'000'000);
      if (!n || *n == 0) return bad_field({"page", "must be a positive integer"});
      page = *n;
    } else if (k == "per_page") {
      auto n = parse_uint(v, options.max_page_size);
      if (!n || *n == 0) {
        return bad_field({"per_page", fmt::format("must be 1..{}", options.max_page_size)});
      }
      per_page = *n;
    } else if (k == "state") {
      if (v != "awaiting_approval" && v != "approved" && v != "rejected" && v != "cancelled" &&
          v != "expired") {
        return bad_field({"state", "unknown state"});
      }
      state_filter = v;
    } else {
      return bad_field({k, "unknown query parameter"});
    }
  }
  std::lock_guard lock(mu);
  std::vector<const LawfulRequest*> rows;
  for (const LawfulRequest* r : book.for_agency(o.agency)) {
    if (state_filter.empty() || to_string(r->state(now)) == state_filter) rows.push_back(r);
  }
  Json items = Json::array();
  const std::uint64_t first = (page - 1) * per_page;
  for (std::uint64_t i = first; i < rows.size() && i < first + per_page; ++i) {
    items.push_back(rows[i]->to_json(now));
  }
  return json_response(
      200, {{"requests", items}, {"page", page}, {"per_page", per_page}, {"total", rows.size()}});
}

HttpResponse LawfulApi::Core::get(const Officer& o, const HttpRequest& req, std::string_view id,
                                  TimestampNs now) {
  std::unique_lock lock(mu);
  auto r = book.check_view(id, o);
  if (!r) {
    lock.unlock();
    return from_error(o, req, r.error());
  }
  return json_response(200, (*r)->to_json(now));
}

HttpResponse LawfulApi::Core::decide(const Officer& o, const HttpRequest& req, std::string_view id,
                                     std::string_view action, TimestampNs now) {
  auto body =
      small_body(req.body, action == "reject" ? std::initializer_list<std::string_view>{"reason"}
                                              : std::initializer_list<std::string_view>{});
  if (!body) return bad_field(body.error());
  std::unique_lock lock(mu);
  Result<Json> fields = action == "approve" ? book.approve_event(id, o, now)
                        : action == "reject"
                            ? book.reject_event(id, o, body->value("reason", std::string()), now)
                            : book.cancel_event(id, o, now);
  if (!fields) {
    lock.unlock();  // forbid() journals under the lock itself
    return from_error(o, req, fields.error());
  }
  const std::string_view type = action == "approve"  ? journal_type::kRequestApproved
                                : action == "reject" ? journal_type::kRequestRejected
                                                     : journal_type::kRequestCancelled;
  if (!record_locked(type, std::move(*fields))) return journal_unavailable();
  return json_response(200, book.find(id)->to_json(now));
}

HttpResponse LawfulApi::Core::results(const std::shared_ptr<Core>& self, const Officer& o,
                                      const HttpRequest& req, std::string_view id,
                                      std::string_view asked_category, TimestampNs now) {
  auto q = parse_query_string(req.query);
  if (!q) return problem(400, "invalid-query", "Bad Request", q.error().message);
  TimeFormat time_format = TimeFormat::kEpoch;
  for (const auto& [k, v] : *q) {
    if (k != "time_format") return bad_field({k, "unknown query parameter"});
    auto tf = parse_time_format(v);
    if (!tf) return bad_field({"time_format", "must be epoch or rfc3339"});
    time_format = *tf;
  }
  std::unique_lock lock(mu);
  auto r = book.check_results(id, o, now);
  if (!r) {
    lock.unlock();
    return from_error(o, req, r.error());
  }
  const LawfulRequest& lr = **r;
  // Only a category the request asked for — and so the approvers approved — is released.
  std::string category(asked_category);
  // A request replayed from a journal older than categories asked for flows.
  const bool flows_asked = lr.body.categories.empty() || lr.body.asks(kCategoryFlows);
  if (category.empty()) {
    category = flows_asked ? std::string(kCategoryFlows) : lr.body.categories.front();
  } else if (!(category == kCategoryFlows ? flows_asked : lr.body.asks(category))) {
    return problem(404, "category-not-requested", "Not Found",
                   fmt::format("this request did not ask for that category; it asked for {}",
                               fmt::join(lr.body.categories, ", ")));
  }
  const bool attribution = category == kCategoryAttribution;
  if (attribution && !lr.body.attribution) {
    return problem(500, "internal", "Internal Server Error");  // cannot happen: parse enforces it
  }
  if (category != kCategoryFlows && !session_query) {
    return problem(503, "not-available", "Service Unavailable",
                   "this agent has no session store to answer " + category);
  }
  const std::string accept = req.header("accept");
  OutputFormat format = OutputFormat::kNdjson;
  if (attribution) {
    if (!accept.empty() && accept.find("application/json") == std::string::npos &&
        accept.find("*/*") == std::string::npos &&
        accept.find("application/*") == std::string::npos) {
      return problem(406, "not-acceptable", "Not Acceptable",
                     "an attribution answer is application/json");
    }
  } else if (accept.find("text/csv") != std::string::npos) {
    format = OutputFormat::kCsv;
  } else if (!accept.empty() && accept.find("application/x-ndjson") == std::string::npos &&
             accept.find("*/*") == std::string::npos &&
             accept.find("application/*") == std::string::npos) {
    return problem(406, "not-acceptable", "Not Acceptable",
                   "results are application/x-ndjson or text/csv");
  }
  if (active_streams >= options.max_result_streams) {
    HttpResponse busy = problem(503, "busy", "Service Unavailable",
                                "too many result streams in progress; retry shortly");
    busy.headers.emplace_back("retry-after", "5");
    return busy;
  }
  const std::string fmt_name = attribution                    ? "json"
                               : format == OutputFormat::kCsv ? "csv"
                                                              : "ndjson";
  // Journal the start first: no byte leaves unless the journal can record it.
  if (!record_locked(kResultStarted, {{"id", std::string(id)},
                                      {"officer", o.id},
                                      {"agency", o.agency},
                                      {"category", category},
                                      {"format", fmt_name}})) {
    return journal_unavailable();
  }
  ++active_streams;
  QuerySpec spec;
  spec.request_id = std::string(id);
  spec.selectors = lr.body.selectors;
  spec.from = lr.body.from;
  spec.to = lr.body.to;
  const std::optional<AttributionTarget> target = lr.body.attribution;
  // The stream's on_done takes mu: never build or drop a stream while holding it.
  lock.unlock();
  auto on_done = [self, id = std::string(id), officer = o.id, agency = o.agency, category,
                  fmt_name](const DeliverySummary& s) {
    std::lock_guard done_lock(self->mu);
    --self->active_streams;
    Json f = {{"id", id},
              {"officer", officer},
              {"agency", agency},
              {"category", category},
              {"format", fmt_name},
              {"records", s.records},
              {"bytes", s.bytes},
              {"sha256", s.sha256},
              {"finished", s.finished},
              {"complete", s.completeness && s.completeness->complete()}};
    if (s.completeness) f["completeness"] = to_json(*s.completeness);
    if (!s.error.empty()) f["error"] = clip(s.error, 512);
    (void)self->record_locked(journal_type::kResultDelivered, std::move(f));
  };
  HttpResponse resp;
  resp.status = 200;
  resp.headers.emplace_back("content-type", attribution ? "application/json"
                                            : format == OutputFormat::kCsv
                                                ? "text/csv; charset=utf-8; header=present"
                                                : "application/x-ndjson");
  resp.headers.emplace_back("x-conntrail-request-id", std::string(id));
  resp.headers.emplace_back("x-conntrail-category", category);
  resp.headers.emplace_back("cache-control", "no-store");
  if (category == kCategoryFlows) {
    resp.stream = std::make_unique<ResultStream>(query, std::move(spec), format, time_format,
                                                 options.result_buffer_bytes, std::move(on_done));
  } else if (category == kCategorySessions) {
    const capture::SessionFormatter formatter(format, time_format);
    auto produce = [sessions = session_query, spec = std::move(spec),
                    formatter](ResultStream::RowSink& sink) {
      return sessions(spec, [&](const SessionRecord& s) { return sink.add(formatter.row(s)); });
    };
    resp.stream = std::make_unique<ResultStream>(std::move(produce), formatter.header(),
                                                 options.result_buffer_bytes, std::move(on_done));
  } else {
    auto produce = [sessions = session_query, flows = query, id = std::string(id), target = *target,
                    lookaround = options.attribution_lookaround,
                    time_format](ResultStream::RowSink& sink) -> Result<QueryCompleteness> {
      auto doc = answer_attribution_request(id, target, sessions, flows, lookaround, time_format);
      if (!doc) return std::unexpected(doc.error());
      sink.add(doc->json, doc->sessions);
      return doc->completeness;
    };
    resp.stream = std::make_unique<ResultStream>(std::move(produce), std::string(),
                                                 options.result_buffer_bytes, std::move(on_done));
  }
  return resp;
}

HttpResponse LawfulApi::Core::manifest(const Officer& o, const HttpRequest& req,
                                       std::string_view id, TimestampNs now) {
  std::unique_lock lock(mu);
  auto r = book.check_view(id, o);
  if (r && !(*r)->involves(o.id)) {
    r = fail(ErrorCode::kPermission, "only officers on this request see its manifest");
  }
  if (!r) {
    lock.unlock();
    return from_error(o, req, r.error());
  }
  const LawfulRequest& lr = **r;
  Json j = {{"request_id", lr.id},
            {"state", to_string(lr.state(now))},
            {"deliveries", lr.deliveries.size()}};
  if (lr.deliveries.empty()) {
    j["last_delivery"] = nullptr;
  } else {
    const Delivery& d = lr.deliveries.back();
    j["last_delivery"] = {
        {"officer", d.officer},   {"time", iso(d.time)},    {"format", d.format},
        {"records", d.records},   {"bytes", d.bytes},       {"sha256", d.sha256},
        {"finished", d.finished}, {"complete", d.complete}, {"completeness", d.completeness}};
    j["last_delivery"]["category"] = d.category;
  }
  // Per category the request asked for: its last delivery, or null.
  Json by_category = Json::object();
  for (const auto& c : lr.body.categories) {
    const Delivery* d = lr.last_delivery(c);
    by_category[c] = d == nullptr ? Json(nullptr) : Json{{"officer", d->officer},
                                                         {"time", iso(d->time)},
                                                         {"format", d->format},
                                                         {"records", d->records},
                                                         {"bytes", d->bytes},
                                                         {"sha256", d->sha256},
                                                         {"finished", d->finished},
                                                         {"complete", d->complete},
                                                         {"completeness", d->completeness}};
  }
  j["categories"] = by_category;
  return json_response(200, j);
}

HttpResponse LawfulApi::Core::audit(const Officer& o, const HttpRequest& req) {
  if (!o.has(Role::kAuditor)) return forbid(o, req, "auditor role needed");
  auto q = parse_query_string(req.query);
  if (!q) return problem(400, "invalid-query", "Bad Request", q.error().message);
  TimestampNs from = std::numeric_limits<TimestampNs>::min();
  TimestampNs to = std::numeric_limits<TimestampNs>::max();
  std::uint64_t after = 0;
  std::uint64_t limit = options.default_page_size;
  for (const auto& [k, v] : *q) {
    if (k == "from" || k == "to") {
      auto t = parse_time(v);
      if (!t) return bad_field({k, "is not an RFC 3339 time"});
      (k == "from" ? from : to) = *t;
    } else if (k == "after_seq") {
      auto n = parse_uint(v, std::numeric_limits<std::uint64_t>::max() / 2);
      if (!n) return bad_field({k, "must be a non-negative integer"});
      after = *n;
    } else if (k == "limit") {
      auto n = parse_uint(v, options.max_page_size);
      if (!n || *n == 0) return bad_field({k, fmt::format("must be 1..{}", options.max_page_size)});
      limit = *n;
    } else {
      return bad_field({k, "unknown query parameter"});
    }
  }
  if (to <= from) return bad_field({"to", "must be after from"});
  std::lock_guard lock(mu);
  Json entries = Json::array();
  std::uint64_t examined = 0;
  std::uint64_t last_examined = after;
  bool more = false;
  auto scanned = journal->scan(after, [&](const storage::JournalEntry& e) {
    if (entries.size() >= limit || examined >= options.audit_scan_budget) {
      more = true;
      return false;
    }
    ++examined;
    last_examined = e.seq;
    if (e.time >= from && e.time < to) entries.push_back(entry_json(e));
    return true;
  });
  if (!scanned)
    return problem(500, "journal-unreadable", "Internal Server Error", scanned.error().message);
  return json_response(200, {{"entries", entries},
                             {"next_after_seq", more ? Json(last_examined) : Json(nullptr)},
                             {"head_seq", journal->last_seq()},
                             {"head_hash", journal->head_hash()}});
}

HttpResponse LawfulApi::Core::audit_verify(const std::shared_ptr<Core>& self, const Officer& o,
                                           const HttpRequest& req) {
  if (!o.has(Role::kAuditor)) return forbid(o, req, "auditor role needed");
  if (!req.query.empty()) return bad_field({"query", "no query parameters accepted"});
  std::unique_lock lock(mu);
  if (verify_running) {
    HttpResponse busy = problem(503, "busy", "Service Unavailable",
                                "a verification is already running; retry shortly");
    busy.headers.emplace_back("retry-after", "5");
    return busy;
  }
  verify_running = true;
  // Verify the acknowledged bytes on a worker thread, without the lock:
  // appends go on meanwhile, and a journal of millions of entries does not
  // stall the event loop.
  const std::string path = journal->path();
  const std::uint64_t size = journal->size_bytes();
  const std::size_t max_line = options.journal.max_line_bytes;
  lock.unlock();
  HttpResponse r;
  r.status = 200;
  r.headers.emplace_back("content-type", "application/json");
  r.headers.emplace_back("cache-control", "no-store");
  // The slot is released when the body is dropped, whether or not it ever ran.
  struct Slot {
    explicit Slot(std::shared_ptr<Core> c) : core(std::move(c)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      std::lock_guard done(core->mu);
      core->verify_running = false;
    }
    std::shared_ptr<Core> core;
  };
  auto slot = std::make_shared<Slot>(self);
  r.stream = std::make_unique<DeferredBody>(
      [slot, path, size, max_line](const std::atomic<bool>& cancelled) {
        auto report = storage::verify_journal(path, max_line, 1000, size, &cancelled);
        if (!report) return dump({{"ok", false}, {"error", report.error().message}});
        return dump(report_json(*report));
      });
  return r;
}

HttpResponse LawfulApi::Core::statistics(const Officer& o, const HttpRequest& req) {
  if (!o.has(Role::kAuditor)) return forbid(o, req, "auditor role needed");
  auto q = parse_query_string(req.query);
  if (!q) return problem(400, "invalid-query", "Bad Request", q.error().message);
  std::string from_month, to_month;
  for (const auto& [k, v] : *q) {
    if (k != "from_month" && k != "to_month") return bad_field({k, "unknown query parameter"});
    if (!valid_month(v)) return bad_field({k, "must be YYYY-MM"});
    (k == "from_month" ? from_month : to_month) = v;
  }
  std::lock_guard lock(mu);
  // The journal head goes out with the numbers: published, it anchors the
  // hash chain outside the appliance (a chain alone cannot show a truncation).
  return json_response(
      200, {{"generated", iso(clock())},
            {"journal_head", {{"seq", journal->last_seq()}, {"hash", journal->head_hash()}}},
            {"months", to_json(compute_statistics(book, from_month, to_month))}});
}

Result<std::unique_ptr<LawfulApi>> LawfulApi::open(const LawfulApiOptions& options,
                                                   FlowQueryFn query, Clock clock) {
  return open(options, QueryFunctions{std::move(query), {}}, std::move(clock));
}

Result<std::unique_ptr<LawfulApi>> LawfulApi::open(const LawfulApiOptions& options,
                                                   QueryFunctions queries, Clock clock) {
  FlowQueryFn query = std::move(queries.flows);
  if (options.approvals_required < 1) {
    return fail(ErrorCode::kInvalidArgument, "approvals_required must be at least 1");
  }
  if (options.journal_path.empty())
    return fail(ErrorCode::kInvalidArgument, "journal path not set");
  if (options.officers_path.empty())
    return fail(ErrorCode::kInvalidArgument, "officers file not set");
  if (!query) return fail(ErrorCode::kInvalidArgument, "no query function");
  if (options.max_page_size == 0 || options.default_page_size == 0 ||
      options.default_page_size > options.max_page_size) {
    return fail(ErrorCode::kInvalidArgument, "page sizes must satisfy 1 <= default <= max");
  }
  if (options.limits.min_prefix_v4 < 0 || options.limits.min_prefix_v4 > 32 ||
      options.limits.min_prefix_v6 < 0 || options.limits.min_prefix_v6 > 128) {
    return fail(ErrorCode::kInvalidArgument, "minimum prefix lengths out of range");
  }
  auto directory = OfficerDirectory::load(options.officers_path);
  if (!directory) return std::unexpected(directory.error());
  auto journal = storage::Journal::open(options.journal_path, options.journal);
  if (!journal) {
    // The operator must see what to do next: serving on an untrusted journal is never an option.
    if (journal.error().code == ErrorCode::kCorrupt) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("{}; refusing to serve on a journal that does not verify — "
                              "every problem is listed by `conntrail audit verify --journal {}`",
                              journal.error().message, options.journal_path));
    }
    return std::unexpected(journal.error());
  }
  auto core = std::make_shared<Core>();
  core->options = options;
  core->query = std::move(query);
  core->session_query = std::move(queries.sessions);
  core->clock = clock ? std::move(clock) : Clock(system_clock_now);
  core->officers.replace(*directory);
  core->journal = std::move(*journal);
  auto replayed = core->journal->scan(0, [&](const storage::JournalEntry& e) {
    auto applied = core->book.apply(e);
    if (!applied) {
      directory = std::unexpected(applied.error());  // reuse as the error slot
      return false;
    }
    return true;
  });
  if (!replayed) return std::unexpected(replayed.error());
  if (!directory) return std::unexpected(directory.error());
  std::lock_guard lock(core->mu);
  if (!core->record_locked(journal_type::kServiceStarted,
                           {{"version", version()},
                            {"officers", (*directory)->size()},
                            {"officers_sha256", (*directory)->content_sha256()},
                            {"approvals_required", options.approvals_required},
                            {"requests_replayed", core->book.all().size()},
                            {"torn_tail_bytes_dropped", core->journal->recovered_torn_bytes()}})) {
    return fail(ErrorCode::kIo, "cannot write to the audit journal " + options.journal_path);
  }
  return std::unique_ptr<LawfulApi>(new LawfulApi(std::move(core)));
}

LawfulApi::~LawfulApi() = default;

HttpResponse LawfulApi::handle(const HttpRequest& req) {
  try {
    return core_->dispatch(core_, req);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conntrail-agent: lawful API: %s %s: %s\n", req.method.c_str(),
                 req.path.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "conntrail-agent: lawful API: %s %s: unknown exception\n",
                 req.method.c_str(), req.path.c_str());
  }
  return problem(500, "internal", "Internal Server Error");
}

Result<void> LawfulApi::reload_officers() {
  auto next = OfficerDirectory::load(core_->options.officers_path);
  std::lock_guard lock(core_->mu);
  Json f = {{"path", core_->options.officers_path}, {"ok", next.has_value()}};
  if (next) {
    f["officers"] = (*next)->size();
    f["sha256"] = (*next)->content_sha256();
  } else {
    f["error"] = clip(next.error().message, 512);
  }
  auto journaled = core_->record_locked(journal_type::kOfficersReloaded, std::move(f));
  if (!next) return std::unexpected(next.error());
  // Swap only once the reload is on record.
  if (!journaled) return std::unexpected(journaled.error());
  core_->officers.replace(std::move(*next));
  return {};
}

Result<void> LawfulApi::record_deletion(const DataDeletion& d) {
  std::lock_guard lock(core_->mu);
  auto e = core_->record_locked(journal_type::kDataDeleted,
                                {{"what", clip(d.what, 512)},
                                 {"from", format_rfc3339(d.from, TimePrecision::kNano)},
                                 {"to", format_rfc3339(d.to, TimePrecision::kNano)},
                                 {"records", d.records},
                                 {"reason", clip(d.reason, 256)}});
  if (!e) return std::unexpected(e.error());
  return {};
}

std::uint64_t LawfulApi::journal_length() const {
  std::lock_guard lock(core_->mu);
  return core_->journal->last_seq();
}

Result<storage::JournalVerifyReport> LawfulApi::verify_journal() const {
  std::lock_guard lock(core_->mu);
  return storage::verify_journal(core_->journal->path(), core_->options.journal.max_line_bytes);
}

}  // namespace conntrail::agent
