// agent/workflow/request_book.h — lawful requests, rebuilt from the audit journal.
//
// The journal is the durable truth; this book is its in-memory projection.
// Every change is first checked here (the *_event functions, which only read
// the book), then appended to the journal, then applied (apply()), so the
// book holds exactly what the journal says — on a running agent and after a
// restart that replays the journal from the start.
//
// A request's state:
//
// clang-format off
//   state \ event      approve, n<required  approve, n=required  reject    cancel     now ≥ expires
//   awaiting_approval  awaiting_approval    approved             rejected  cancelled  expired
//   approved           —                    —                    —         cancelled  expired
//   rejected, cancelled and expired are final.
// clang-format on
//
// Rules (the law's "two qualified officers"): only a requester creates; only
// an approver of the request's agency who is not its requester approves or
// rejects, once; approvals_required ≥ 1 is fixed in the request when it is
// created; results go only to officers on the request (its requester and its
// approvers), only while it is approved. Hence no single officer, and no set
// of officers holding one role, can obtain records.
//
// Errors from the *_event functions: kNotFound (no such request in the
// officer's agency — other agencies' requests are not disclosed), kPermission
// (the officer may not do this), kUnsupported (the request's state forbids it).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/officers/officer_directory.h"
#include "agent/workflow/new_request.h"
#include "core/result.h"
#include "storage/journal/journal.h"

namespace conntrail::agent {

// Journal entry types written by the lawful API.
namespace journal_type {
inline constexpr std::string_view kServiceStarted = "service_started";
inline constexpr std::string_view kRequestCreated = "request_created";
inline constexpr std::string_view kRequestApproved = "request_approved";
inline constexpr std::string_view kRequestRejected = "request_rejected";
inline constexpr std::string_view kRequestCancelled = "request_cancelled";
inline constexpr std::string_view kResultDelivered = "result_delivered";
inline constexpr std::string_view kAuthFailure = "authentication_failure";
inline constexpr std::string_view kAuthzFailure = "authorization_failure";
inline constexpr std::string_view kOfficersReloaded = "officers_reloaded";
inline constexpr std::string_view kDataDeleted = "data_deleted";
}  // namespace journal_type

enum class RequestState { kAwaitingApproval, kApproved, kRejected, kCancelled, kExpired };
std::string_view to_string(RequestState state) noexcept;

struct OfficerAction {
  std::string officer;  // officer id
  TimestampNs time = 0;
  std::string reason;  // reject only
};

struct Delivery {
  std::string category = "flows";  // which category was delivered (journals before it: flows)
  std::string officer;
  TimestampNs time = 0;
  std::string format;  // "ndjson" | "csv"
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::string sha256;     // of the bytes delivered
  bool finished = false;  // the whole result was produced (not aborted)
  bool complete = false;  // the data searched covered the whole window
  nlohmann::json completeness = nlohmann::json::object();
};

struct LawfulRequest {
  std::string id;
  std::string agency;
  std::string requester;  // officer id
  NewRequest body;
  TimestampNs created = 0;
  TimestampNs expires = 0;
  unsigned approvals_required = 1;
  std::vector<OfficerAction> approvals;
  std::optional<OfficerAction> rejection;
  std::optional<OfficerAction> cancellation;
  std::vector<Delivery> deliveries;

  RequestState state(TimestampNs now) const noexcept;
  // The requester or one of the approvers.
  bool involves(std::string_view officer_id) const noexcept;
  // The API's JSON view (GET /v1/requests/{id}).
  nlohmann::json to_json(TimestampNs now) const;
  // The last delivery of one category, if any.
  const Delivery* last_delivery(std::string_view category) const noexcept;
};

class RequestBook {
 public:
  // Applies one journal entry. Entry types that do not concern requests are
  // ignored. kCorrupt when an entry contradicts the book (an approval of an
  // unknown request): a journal that verifies but does not make sense.
  Result<void> apply(const storage::JournalEntry& entry);

  const LawfulRequest* find(std::string_view id) const;
  // Requests of one agency, newest first.
  std::vector<const LawfulRequest*> for_agency(std::string_view agency) const;
  const std::map<std::string, LawfulRequest, std::less<>>& all() const noexcept {
    return requests_;
  }

  // The fields of the journal entry for each action, after checking the rules.
  Result<nlohmann::json> create_event(const NewRequest& request, const Officer& officer,
                                      const std::string& id, TimestampNs now,
                                      unsigned approvals_required, TimestampNs ttl) const;
  Result<nlohmann::json> approve_event(std::string_view id, const Officer& officer,
                                       TimestampNs now) const;
  Result<nlohmann::json> reject_event(std::string_view id, const Officer& officer,
                                      std::string_view reason, TimestampNs now) const;
  Result<nlohmann::json> cancel_event(std::string_view id, const Officer& officer,
                                      TimestampNs now) const;
  // May this officer fetch results now? The request on success.
  Result<const LawfulRequest*> check_results(std::string_view id, const Officer& officer,
                                             TimestampNs now) const;
  // May this officer see the request (same agency, requester or approver role)?
  Result<const LawfulRequest*> check_view(std::string_view id, const Officer& officer) const;

 private:
  Result<const LawfulRequest*> decide_on(std::string_view id, const Officer& officer,
                                         TimestampNs now) const;
  std::map<std::string, LawfulRequest, std::less<>> requests_;
};

}  // namespace conntrail::agent
