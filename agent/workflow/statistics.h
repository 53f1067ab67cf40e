// agent/workflow/statistics.h — the numbers a provider publishes about lawful requests.
//
// Per calendar month (UTC, of the request's creation) and agency: requests
// made, approved (reached approvals_required, whatever happened later),
// rejected, answered (at least one finished delivery), answered empty (the
// first finished delivery held no record), and the median time from data to
// request (created − from, i.e. the age of the oldest data asked for). Numbers
// only: no officer, case, selector or subscriber appears in the output.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/workflow/request_book.h"

namespace conntrail::agent {

struct MonthlyAgencyStatistics {
  std::string month;  // "2026-11"
  std::string agency;
  std::uint64_t made = 0;
  std::uint64_t approved = 0;
  std::uint64_t rejected = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t answered = 0;
  std::uint64_t answered_empty = 0;
  std::int64_t median_data_age_seconds = 0;  // 0 when no request
};

// Rows ordered by month, then agency. `from_month`/`to_month` ("YYYY-MM",
// inclusive, empty = unbounded) filter the rows.
std::vector<MonthlyAgencyStatistics> compute_statistics(const RequestBook& book,
                                                        const std::string& from_month = {},
                                                        const std::string& to_month = {});

nlohmann::json to_json(const std::vector<MonthlyAgencyStatistics>& rows);

}  // namespace conntrail::agent
