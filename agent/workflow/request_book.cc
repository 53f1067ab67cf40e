#include "agent/workflow/request_book.h"

#include <fmt/format.h>

#include <algorithm>

namespace conntrail::agent {
namespace {

using Json = nlohmann::json;

std::string iso(TimestampNs t) { return format_rfc3339(t, TimePrecision::kMicro); }

// Typed getters for replay: a verified journal that lacks a member is corrupt.
Result<std::string> str(const Json& f, const char* key) {
  const auto it = f.find(key);
  if (it == f.end() || !it->is_string()) {
    return fail(ErrorCode::kCorrupt, fmt::format("journal entry lacks string '{}'", key));
  }
  return it->get<std::string>();
}

Result<TimestampNs> time_of(const Json& f, const char* key) {
  auto s = str(f, key);
  if (!s) return std::unexpected(s.error());
  auto t = parse_time(*s);
  if (!t) return fail(ErrorCode::kCorrupt, fmt::format("journal entry: bad time '{}'", key));
  return *t;
}

std::uint64_t uint_or(const Json& f, const char* key, std::uint64_t dflt) {
  const auto it = f.find(key);
  return it != f.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : dflt;
}

}  // namespace

std::string_view to_string(RequestState state) noexcept {
  switch (state) {
    case RequestState::kAwaitingApproval:
      return "awaiting_approval";
    case RequestState::kApproved:
      return "approved";
    case RequestState::kRejected:
      return "rejected";
    case RequestState::kCancelled:
      return "cancelled";
    case RequestState::kExpired:
      return "expired";
  }
  return "unknown";
}

RequestState LawfulRequest::state(TimestampNs now) const noexcept {
  if (rejection) return RequestState::kRejected;
  if (cancellation) return RequestState::kCancelled;
  if (now >= expires) return RequestState::kExpired;
  if (approvals.size() >= approvals_required) return RequestState::kApproved;
  return RequestState::kAwaitingApproval;
}

const Delivery* LawfulRequest::last_delivery(std::string_view category) const noexcept {
  for (auto it = deliveries.rbegin(); it != deliveries.rend(); ++it) {
    if (it->category == category) return &*it;
  }
  return nullptr;
}

bool LawfulRequest::involves(std::string_view officer_id) const noexcept {
  if (requester == officer_id) return true;
  return std::any_of(approvals.begin(), approvals.end(),
                     [&](const OfficerAction& a) { return a.officer == officer_id; });
}

nlohmann::json LawfulRequest::to_json(TimestampNs now) const {
  Json j = Json::object();
  j["id"] = id;
  j["state"] = to_string(state(now));
  j["agency"] = agency;
  j["requester"] = requester;
  j["case_reference"] = body.case_reference;
  j["legal_basis"] = body.legal_basis;
  if (!body.warrant_reference.empty()) j["warrant_reference"] = body.warrant_reference;
  j["justification"] = body.justification;
  j["selectors"] = selectors_to_json(body.selectors);
  j["categories"] = body.categories;
  if (body.attribution) j["attribution"] = attribution_to_json(*body.attribution);
  j["from"] = iso(body.from);
  j["to"] = iso(body.to);
  j["created"] = iso(created);
  j["expires"] = iso(expires);
  j["approvals_required"] = approvals_required;
  Json approvers = Json::array();
  for (const auto& a : approvals)
    approvers.push_back({{"officer", a.officer}, {"time", iso(a.time)}});
  j["approvals"] = approvers;
  if (rejection) {
    j["rejection"] = {{"officer", rejection->officer},
                      {"time", iso(rejection->time)},
                      {"reason", rejection->reason}};
  }
  if (cancellation) {
    j["cancellation"] = {{"officer", cancellation->officer}, {"time", iso(cancellation->time)}};
  }
  j["deliveries"] = deliveries.size();
  if (!deliveries.empty()) {
    const Delivery& d = deliveries.back();
    j["last_delivery"] = {{"category", d.category}, {"officer", d.officer},  {"time", iso(d.time)},
                          {"records", d.records},   {"bytes", d.bytes},      {"sha256", d.sha256},
                          {"finished", d.finished}, {"complete", d.complete}};
  }
  return j;
}

Result<void> RequestBook::apply(const storage::JournalEntry& e) {
  namespace jt = journal_type;
  const Json& f = e.fields;
  if (e.type == jt::kRequestCreated) {
    LawfulRequest r;
    auto id = str(f, "id");
    auto agency = str(f, "agency");
    auto requester = str(f, "requester");
    auto from = time_of(f, "from");
    auto to = time_of(f, "to");
    auto expires = time_of(f, "expires");
    if (!id || !agency || !requester || !from || !to || !expires) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("journal seq {}: incomplete request_created", e.seq));
    }
    r.id = *id;
    r.agency = *agency;
    r.requester = *requester;
    r.created = e.time;
    r.expires = *expires;
    r.body.from = *from;
    r.body.to = *to;
    r.approvals_required =
        static_cast<unsigned>(std::max<std::uint64_t>(1, uint_or(f, "approvals_required", 1)));
    r.body.case_reference = str(f, "case_reference").value_or("");
    r.body.legal_basis = str(f, "legal_basis").value_or("");
    r.body.warrant_reference = str(f, "warrant_reference").value_or("");
    r.body.justification = str(f, "justification").value_or("");
    if (const auto c = f.find("categories"); c != f.end() && c->is_array()) {
      for (const auto& x : *c) {
        if (x.is_string()) r.body.categories.push_back(x.get<std::string>());
      }
    }
    auto sel = selectors_from_json(f.value("selectors", Json()), nullptr);
    if (!sel) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("journal seq {}: bad selectors: {}", e.seq, sel.error().detail));
    }
    r.body.selectors = std::move(*sel);
    if (const auto a = f.find("attribution"); a != f.end()) {
      auto target = attribution_from_json(*a, nullptr);
      if (!target) {
        return fail(ErrorCode::kCorrupt,
                    fmt::format("journal seq {}: bad attribution: {} {}", e.seq,
                                target.error().field, target.error().detail));
      }
      r.body.attribution = *target;
    }
    if (requests_.contains(r.id)) {
      return fail(ErrorCode::kCorrupt,
                  fmt::format("journal seq {}: request {} created twice", e.seq, r.id));
    }
    requests_.emplace(r.id, std::move(r));
    return {};
  }
  const bool concerns_request = e.type == jt::kRequestApproved || e.type == jt::kRequestRejected ||
                                e.type == jt::kRequestCancelled || e.type == jt::kResultDelivered;
  if (!concerns_request) return {};
  auto id = str(f, "id");
  auto officer = str(f, "officer");
  if (!id || !officer)
    return fail(ErrorCode::kCorrupt, fmt::format("journal seq {}: no id/officer", e.seq));
  const auto it = requests_.find(*id);
  if (it == requests_.end()) {
    return fail(ErrorCode::kCorrupt,
                fmt::format("journal seq {}: {} of unknown request {}", e.seq, e.type, *id));
  }
  LawfulRequest& r = it->second;
  if (e.type == jt::kRequestApproved) {
    if (!r.involves(*officer)) r.approvals.push_back({*officer, e.time, {}});
  } else if (e.type == jt::kRequestRejected) {
    if (!r.rejection) r.rejection = OfficerAction{*officer, e.time, str(f, "reason").value_or("")};
  } else if (e.type == jt::kRequestCancelled) {
    if (!r.cancellation) r.cancellation = OfficerAction{*officer, e.time, {}};
  } else {
    Delivery d;
    d.category = str(f, "category").value_or(std::string(kCategoryFlows));
    d.officer = *officer;
    d.time = e.time;
    d.format = str(f, "format").value_or("");
    d.records = uint_or(f, "records", 0);
    d.bytes = uint_or(f, "bytes", 0);
    d.sha256 = str(f, "sha256").value_or("");
    d.finished = f.value("finished", false);
    d.complete = f.value("complete", false);
    d.completeness = f.value("completeness", Json::object());
    r.deliveries.push_back(std::move(d));
  }
  return {};
}

const LawfulRequest* RequestBook::find(std::string_view id) const {
  const auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : &it->second;
}

std::vector<const LawfulRequest*> RequestBook::for_agency(std::string_view agency) const {
  std::vector<const LawfulRequest*> out;
  for (const auto& [id, r] : requests_) {
    if (r.agency == agency) out.push_back(&r);
  }
  std::sort(out.begin(), out.end(), [](const LawfulRequest* a, const LawfulRequest* b) {
    return a->created != b->created ? a->created > b->created : a->id > b->id;
  });
  return out;
}

Result<nlohmann::json> RequestBook::create_event(const NewRequest& req, const Officer& officer,
                                                 const std::string& id, TimestampNs now,
                                                 unsigned approvals_required,
                                                 TimestampNs ttl) const {
  if (!officer.has(Role::kRequester)) return fail(ErrorCode::kPermission, "requester role needed");
  if (requests_.contains(id)) return fail(ErrorCode::kInternal, "request id collision");
  Json f = Json::object();
  f["id"] = id;
  f["agency"] = officer.agency;
  f["requester"] = officer.id;
  f["case_reference"] = req.case_reference;
  f["legal_basis"] = req.legal_basis;
  if (!req.warrant_reference.empty()) f["warrant_reference"] = req.warrant_reference;
  f["justification"] = req.justification;
  f["selectors"] = selectors_to_json(req.selectors);
  f["categories"] = req.categories;
  if (req.attribution) f["attribution"] = attribution_to_json(*req.attribution);
  f["from"] = format_rfc3339(req.from, TimePrecision::kNano);
  f["to"] = format_rfc3339(req.to, TimePrecision::kNano);
  f["approvals_required"] = std::max(1u, approvals_required);
  f["expires"] = format_rfc3339(now + ttl, TimePrecision::kNano);
  return f;
}

Result<const LawfulRequest*> RequestBook::check_view(std::string_view id,
                                                     const Officer& officer) const {
  if (!officer.has(Role::kRequester) && !officer.has(Role::kApprover)) {
    return fail(ErrorCode::kPermission, "requester or approver role needed");
  }
  const LawfulRequest* r = find(id);
  // Another agency's request is reported as absent: its existence is not ours to disclose.
  if (r == nullptr || r->agency != officer.agency)
    return fail(ErrorCode::kNotFound, "no such request");
  return r;
}

Result<const LawfulRequest*> RequestBook::decide_on(std::string_view id, const Officer& officer,
                                                    TimestampNs now) const {
  if (!officer.has(Role::kApprover)) return fail(ErrorCode::kPermission, "approver role needed");
  const LawfulRequest* r = find(id);
  if (r == nullptr || r->agency != officer.agency)
    return fail(ErrorCode::kNotFound, "no such request");
  if (r->requester == officer.id) {
    return fail(ErrorCode::kPermission, "the requester cannot decide on their own request");
  }
  if (r->involves(officer.id))
    return fail(ErrorCode::kUnsupported, "this officer already approved");
  const RequestState s = r->state(now);
  if (s != RequestState::kAwaitingApproval) {
    return fail(ErrorCode::kUnsupported, fmt::format("request is {}", to_string(s)));
  }
  return r;
}

Result<nlohmann::json> RequestBook::approve_event(std::string_view id, const Officer& officer,
                                                  TimestampNs now) const {
  auto r = decide_on(id, officer, now);
  if (!r) return std::unexpected(r.error());
  const bool completes = (*r)->approvals.size() + 1 >= (*r)->approvals_required;
  return Json{{"id", std::string(id)},
              {"officer", officer.id},
              {"agency", officer.agency},
              {"approval", (*r)->approvals.size() + 1},
              {"approvals_required", (*r)->approvals_required},
              {"executable", completes}};
}

Result<nlohmann::json> RequestBook::reject_event(std::string_view id, const Officer& officer,
                                                 std::string_view reason, TimestampNs now) const {
  auto r = decide_on(id, officer, now);
  if (!r) return std::unexpected(r.error());
  return Json{{"id", std::string(id)},
              {"officer", officer.id},
              {"agency", officer.agency},
              {"reason", std::string(reason)}};
}

Result<nlohmann::json> RequestBook::cancel_event(std::string_view id, const Officer& officer,
                                                 TimestampNs now) const {
  if (!officer.has(Role::kRequester)) return fail(ErrorCode::kPermission, "requester role needed");
  const LawfulRequest* r = find(id);
  if (r == nullptr || r->agency != officer.agency)
    return fail(ErrorCode::kNotFound, "no such request");
  if (r->requester != officer.id) {
    return fail(ErrorCode::kPermission, "only the officer who made the request can cancel it");
  }
  const RequestState s = r->state(now);
  if (s != RequestState::kAwaitingApproval && s != RequestState::kApproved) {
    return fail(ErrorCode::kUnsupported, fmt::format("request is {}", to_string(s)));
  }
  return Json{{"id", std::string(id)}, {"officer", officer.id}, {"agency", officer.agency}};
}

Result<const LawfulRequest*> RequestBook::check_results(std::string_view id, const Officer& officer,
                                                        TimestampNs now) const {
  if (!officer.has(Role::kRequester) && !officer.has(Role::kApprover)) {
    return fail(ErrorCode::kPermission, "requester or approver role needed");
  }
  const LawfulRequest* r = find(id);
  if (r == nullptr || r->agency != officer.agency)
    return fail(ErrorCode::kNotFound, "no such request");
  if (!r->involves(officer.id)) {
    return fail(ErrorCode::kPermission, "only officers on this request receive its results");
  }
  const RequestState s = r->state(now);
  if (s != RequestState::kApproved) {
    return fail(ErrorCode::kUnsupported, fmt::format("request is {}, not approved", to_string(s)));
  }
  return r;
}

}  // namespace conntrail::agent
