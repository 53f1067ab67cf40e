#include "agent/workflow/statistics.h"

#include <algorithm>
#include <map>
#include <utility>

namespace conntrail::agent {

std::vector<MonthlyAgencyStatistics> compute_statistics(const RequestBook& book,
                                                        const std::string& from_month,
                                                        const std::string& to_month) {
  struct Acc {
    MonthlyAgencyStatistics row;
    std::vector<std::int64_t> ages;
  };
  std::map<std::pair<std::string, std::string>, Acc> acc;
  for (const auto& [id, r] : book.all()) {
    const std::string month = format_rfc3339(r.created, TimePrecision::kMicro).substr(0, 7);
    if (!from_month.empty() && month < from_month) continue;
    if (!to_month.empty() && month > to_month) continue;
    Acc& a = acc[{month, r.agency}];
    a.row.month = month;
    a.row.agency = r.agency;
    ++a.row.made;
    if (r.approvals.size() >= r.approvals_required) ++a.row.approved;
    if (r.rejection) ++a.row.rejected;
    if (r.cancellation) ++a.row.cancelled;
    const auto first_finished = std::find_if(r.deliveries.begin(), r.deliveries.end(),
                                             [](const Delivery& d) { return d.finished; });
    if (first_finished != r.deliveries.end()) {
      ++a.row.answered;
      if (first_finished->records == 0) ++a.row.answered_empty;
    }
    a.ages.push_back((r.created - r.body.from) / kNsPerSecond);
  }
  std::vector<MonthlyAgencyStatistics> out;
  for (auto& [key, a] : acc) {
    auto& v = a.ages;
    std::sort(v.begin(), v.end());
    if (!v.empty()) {
      const std::size_t n = v.size();
      a.row.median_data_age_seconds = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    out.push_back(std::move(a.row));
  }
  return out;
}

nlohmann::json to_json(const std::vector<MonthlyAgencyStatistics>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rows) {
    arr.push_back({{"month", r.month},
                   {"agency", r.agency},
                   {"requests_made", r.made},
                   {"approved", r.approved},
                   {"rejected", r.rejected},
                   {"cancelled", r.cancelled},
                   {"answered", r.answered},
                   {"answered_empty", r.answered_empty},
                   {"median_data_age_seconds", r.median_data_age_seconds}});
  }
  return arr;
}

}  // namespace conntrail::agent
