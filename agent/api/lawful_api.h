// agent/api/lawful_api.h — the lawful query service: officers, workflow, results, audit.
//
// LawfulApi is an http2::Handler: the HTTP/2 server (agent/http2/) hands it
// complete requests carrying the verified client certificate's identity and
// sends back what it returns. Mount it with
//     http2::Handler h = [&api](const http2::HttpRequest& r) { return api->handle(r); };
// LawfulApi must outlive the server (result streams it returned keep its core
// alive on their own, so a stream outliving the API is safe but not useful).
//
// Endpoints (docs/API.md, docs/openapi.yaml):
//   POST /v1/requests                    requester      create → 201 awaiting_approval
//   GET  /v1/requests                    req./approver  this agency's requests, paged
//   GET  /v1/requests/{id}               req./approver  state, approvals, deliveries
//   POST /v1/requests/{id}/approve       approver       same agency, not the requester
//   POST /v1/requests/{id}/reject        approver       same agency, not the requester
//   POST /v1/requests/{id}/cancel        its requester
//   GET  /v1/requests/{id}/results       officers on the request, once approved: the request's
//                                        primary category (flows when asked, else its only one)
//   GET  /v1/requests/{id}/results/{category}   the same, for one category it asked for:
//        flows, subscriber-sessions (NDJSON | CSV) or attribution (one JSON document)
//   GET  /v1/requests/{id}/manifest      officers on the request: count, SHA-256, completeness
//   GET  /v1/audit                       auditor        journal entries, paged, by time range
//   GET  /v1/audit/verify                auditor        chain verification and head hash
//   GET  /v1/statistics                  auditor        numbers per month and agency
//
// Invariants:
//  - The audit journal is the only durable state. Every change is journaled
//    (fsync'ed) before it takes effect and before the client hears of it; when
//    the journal cannot be written the API answers 503 and changes nothing.
//    open() replays the journal to rebuild the request book.
//  - A client certificate that identifies no current officer gets 403 with
//    no detail, and the attempt is journaled (rate-limited, with a count of
//    the entries suppressed).
//  - handle() never throws and never blocks on a query: results stream from
//    a worker thread (ResultStream) with bounded memory, and the journal
//    check of /v1/audit/verify runs on one too (DeferredBody). What runs on
//    the caller's thread is bounded: one journal append (fdatasync), or one
//    /v1/audit page (at most audit_scan_budget entries read).
//  - Thread-safe: handle(), reload_officers() and record_deletion() may be
//    called from any thread; one mutex serialises the journal and the book.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "agent/api/flow_query.h"
#include "agent/api/session_query.h"
#include "agent/http2/http_types.h"
#include "agent/officers/officer_directory.h"
#include "agent/workflow/new_request.h"
#include "agent/workflow/request_book.h"
#include "core/result.h"
#include "storage/journal/journal.h"

namespace conntrail::agent {

// Wall-clock time source, injected so tests control expiry and windows.
using Clock = std::function<TimestampNs()>;
TimestampNs system_clock_now();

struct LawfulApiOptions {
  std::string journal_path;         // the audit journal (storage::journal_path_for_data_dir)
  std::string officers_path;        // the officers file (OfficerDirectory)
  unsigned approvals_required = 1;  // approvers besides the requester; never below 1
  TimestampNs request_ttl = 30 * kNsPerDay;  // requests expire this long after creation
  RequestLimits limits;
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 500;
  std::size_t result_buffer_bytes = 1 << 20;  // per result stream
  std::size_t max_result_streams = 4;         // concurrent result streams (503 beyond)
  std::size_t auth_failures_per_minute = 60;  // journaled; the rest are counted
  std::size_t audit_scan_budget = 10'000;  // entries examined per /v1/audit page (event-loop time)
  // How far around an attribution instant sessions are looked for (the store's
  // session_lookaround): the nearest sessions before and after bound a gap.
  TimestampNs attribution_lookaround = 7 * kNsPerDay;
  storage::JournalOptions journal;
};

// The storage seams. `flows` is required; without `sessions`, requests for
// subscriber-sessions or attribution are refused at creation (400, the category).
struct QueryFunctions {
  FlowQueryFn flows;
  SessionQueryFn sessions;
};

class LawfulApi {
 public:
  // Loads the officers file, opens (or creates) the journal, verifies it and
  // replays it into the request book, then journals `service_started`.
  // Errors: kInvalidArgument (bad options, bad officers file), kCorrupt
  // (journal fails verification: the operator must investigate with
  // `conntrail audit verify`), kIo.
  static Result<std::unique_ptr<LawfulApi>> open(const LawfulApiOptions& options,
                                                 QueryFunctions queries, Clock clock);
  // Flows only (no session store).
  static Result<std::unique_ptr<LawfulApi>> open(const LawfulApiOptions& options, FlowQueryFn query,
                                                 Clock clock);
  ~LawfulApi();
  LawfulApi(const LawfulApi&) = delete;
  LawfulApi& operator=(const LawfulApi&) = delete;

  http2::HttpResponse handle(const http2::HttpRequest& request);

  // Re-reads the officers file (SIGHUP). A bad file keeps the current
  // directory; either way the attempt is journaled.
  Result<void> reload_officers();
  // The storage manifest's hook: journal a deletion of retained data.
  Result<void> record_deletion(const DataDeletion& deletion);
  // Entries in the audit journal (its last sequence number), for metrics.
  std::uint64_t journal_length() const;
  // Offline-equivalent verification of the journal file.
  Result<storage::JournalVerifyReport> verify_journal() const;

  struct Core;  // shared with result streams

 private:
  explicit LawfulApi(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace conntrail::agent
