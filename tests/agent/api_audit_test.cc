// The audit surface: /v1/audit paging, /v1/audit/verify and tampering
// detection, /v1/statistics, and the deletion hook.
#include <gtest/gtest.h>

#include <fstream>

#include "api_test_support.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
}

TEST_F(ApiTest, AuditIsPagedBySequenceAndFilteredByTime) {
  const std::string id = create(kCertA);  // seq 2 (seq 1: service_started)
  now_ += kNsPerDay;
  ASSERT_EQ(call(kCertB, "POST", "/v1/requests/" + id + "/approve").status, 200);  // seq 3
  now_ += kNsPerDay;
  create(kCertB);  // seq 4

  auto all = json_of(call(kCertAuditor, "GET", "/v1/audit"));
  ASSERT_EQ(all["entries"].size(), 4u);
  EXPECT_EQ(all["entries"][1]["type"], "request_created");
  EXPECT_EQ(all["entries"][1]["fields"]["id"], id);
  EXPECT_EQ(all["head_seq"], 4);
  EXPECT_TRUE(all["next_after_seq"].is_null());

  auto page = json_of(call(kCertAuditor, "GET", "/v1/audit", "", "limit=2"));
  ASSERT_EQ(page["entries"].size(), 2u);
  EXPECT_EQ(page["next_after_seq"], 2);
  auto next = json_of(call(kCertAuditor, "GET", "/v1/audit", "", "limit=2&after_seq=2"));
  ASSERT_EQ(next["entries"].size(), 2u);
  EXPECT_EQ(next["entries"][0]["seq"], 3);
  EXPECT_EQ(next["entries"][0]["prev"], page["entries"][1]["hash"]);

  auto day2 = json_of(call(kCertAuditor, "GET", "/v1/audit", "",
                           "from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z"));
  ASSERT_EQ(day2["entries"].size(), 1u);
  EXPECT_EQ(day2["entries"][0]["type"], "request_approved");

  EXPECT_EQ(call(kCertAuditor, "GET", "/v1/audit", "", "from=bad").status, 400);
  EXPECT_EQ(call(kCertAuditor, "GET", "/v1/audit", "", "limit=0").status, 400);
  EXPECT_EQ(call(kCertAuditor, "GET", "/v1/audit", "", "who=me").status, 400);
}

class TamperTest : public ApiTest {
 protected:
  void make_history() {
    const std::string id = create_approved();
    auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results");
    drain(r);
    r = {};
    create(kCertB);
    ASSERT_GE(read_lines(journal_path_).size(), 6u);
  }
  Json verify() {
    auto r = call(kCertAuditor, "GET", "/v1/audit/verify");
    EXPECT_EQ(r.status, 200);
    const std::string body = drain(r).body;  // computed on a worker thread
    return Json::parse(body, nullptr, false);
  }
};

TEST_F(TamperTest, IntactJournalVerifies) {
  make_history();
  Json v = verify();
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(v["problems"].size(), 0u);
}

TEST_F(TamperTest, OneVerificationAtATime) {
  make_history();
  auto first = call(kCertAuditor, "GET", "/v1/audit/verify");
  ASSERT_EQ(first.status, 200);
  auto second = call(kCertAuditor, "GET", "/v1/audit/verify");
  EXPECT_EQ(second.status, 503);
  first = {};  // dropped without being read: the slot is free again
  auto third = call(kCertAuditor, "GET", "/v1/audit/verify");
  ASSERT_EQ(third.status, 200);
  EXPECT_EQ(Json::parse(drain(third).body)["ok"], true);
}

TEST_F(TamperTest, ChangedEntryIsNamed) {
  make_history();
  auto lines = read_lines(journal_path_);
  // Entry 2 is request_created: change the requested address.
  const auto pos = lines[1].find("192.0.2.10");
  ASSERT_NE(pos, std::string::npos);
  lines[1].replace(pos, 10, "192.0.2.99");
  write_lines(journal_path_, lines);
  Json v = verify();
  EXPECT_EQ(v["ok"], false);
  ASSERT_EQ(v["problems"].size(), 1u) << v.dump();
  EXPECT_EQ(v["problems"][0]["kind"], "changed");
  EXPECT_EQ(v["problems"][0]["seq"], 2);
  EXPECT_EQ(v["problems"][0]["line"], 2);
  // The service refuses to start on a journal that does not verify.
  api_.reset();
  auto reopened = LawfulApi::open(
      options(),
      [](const QuerySpec&, const FlowRowFn&) -> Result<QueryCompleteness> {
        return QueryCompleteness{};
      },
      [this] { return now_; });
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(reopened.error().message.find("seq 2"), std::string::npos) << reopened.error().message;
}

TEST_F(TamperTest, RemovedEntryIsNamed) {
  make_history();
  auto lines = read_lines(journal_path_);
  lines.erase(lines.begin() + 2);  // seq 3: the approval
  write_lines(journal_path_, lines);
  Json v = verify();
  ASSERT_EQ(v["problems"].size(), 1u) << v.dump();
  EXPECT_EQ(v["problems"][0]["kind"], "removed");
  EXPECT_EQ(v["problems"][0]["seq"], 3);
}

TEST_F(TamperTest, ReorderedEntriesAreNamed) {
  make_history();
  auto lines = read_lines(journal_path_);
  std::swap(lines[2], lines[3]);
  write_lines(journal_path_, lines);
  Json v = verify();
  ASSERT_EQ(v["problems"].size(), 1u) << v.dump();
  EXPECT_EQ(v["problems"][0]["kind"], "reordered");
  EXPECT_EQ(v["problems"][0]["seq"], 3);
  EXPECT_EQ(v["problems"][0]["line"], 4);
}

TEST_F(ApiTest, StatisticsCountPerMonthAndAgencyWithoutPersonalData) {
  // October: one request rejected. November: approved+answered, approved+answered empty, pending.
  now_ = *parse_time("2026-10-15T00:00:00Z");
  auto r = call(
      kCertA, "POST", "/v1/requests",
      request_body(R"([{"ip":"192.0.2.10"}])", "2026-10-05T00:00:00Z", "2026-10-06T00:00:00Z"));
  ASSERT_EQ(r.status, 201);
  ASSERT_EQ(call(kCertB, "POST", "/v1/requests/" + json_of(r)["id"].get<std::string>() + "/reject")
                .status,
            200);

  now_ = *parse_time("2026-11-20T00:00:00Z");
  const std::string answered = create_approved();  // from Nov 1: 19 days old
  auto s = call(kCertA, "GET", "/v1/requests/" + answered + "/results");
  drain(s);
  s = {};
  const std::string empty = create(kCertA, R"([{"ip":"198.18.0.1"}])");
  ASSERT_EQ(call(kCertB, "POST", "/v1/requests/" + empty + "/approve").status, 200);
  s = call(kCertB, "GET", "/v1/requests/" + empty + "/results");
  drain(s);
  s = {};
  auto p = call(
      kCertX, "POST", "/v1/requests",
      request_body(R"([{"ip":"192.0.2.10"}])", "2026-11-17T00:00:00Z", "2026-11-18T00:00:00Z"));
  ASSERT_EQ(p.status, 201);

  auto resp = call(kCertAuditor, "GET", "/v1/statistics");
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(json_of(resp)["journal_head"]["hash"], api_->verify_journal()->head_hash);
  Json months = json_of(resp)["months"];
  ASSERT_EQ(months.size(), 3u) << months.dump();
  EXPECT_EQ(months[0]["month"], "2026-10");
  EXPECT_EQ(months[0]["agency"], "police");
  EXPECT_EQ(months[0]["requests_made"], 1);
  EXPECT_EQ(months[0]["rejected"], 1);
  EXPECT_EQ(months[0]["approved"], 0);
  EXPECT_EQ(months[0]["median_data_age_seconds"], 10 * 86400);
  EXPECT_EQ(months[1]["month"], "2026-11");
  EXPECT_EQ(months[1]["agency"], "customs");
  EXPECT_EQ(months[1]["requests_made"], 1);
  EXPECT_EQ(months[1]["answered"], 0);
  EXPECT_EQ(months[1]["median_data_age_seconds"], 3 * 86400);
  EXPECT_EQ(months[2]["agency"], "police");
  EXPECT_EQ(months[2]["requests_made"], 2);
  EXPECT_EQ(months[2]["approved"], 2);
  EXPECT_EQ(months[2]["answered"], 2);
  EXPECT_EQ(months[2]["answered_empty"], 1);
  EXPECT_EQ(months[2]["median_data_age_seconds"], 19 * 86400);
  // Numbers only: no officer, case, selector or subscriber leaks into statistics.
  for (const char* secret : {"officer-", "C-17", "192.0.2", "W-9", "fraud"}) {
    EXPECT_EQ(resp.body.find(secret), std::string::npos) << secret;
  }
  auto nov = json_of(call(kCertAuditor, "GET", "/v1/statistics", "", "from_month=2026-11"));
  EXPECT_EQ(nov["months"].size(), 2u);
  EXPECT_EQ(call(kCertAuditor, "GET", "/v1/statistics", "", "from_month=2026-13").status, 400);
}

TEST_F(ApiTest, DataDeletionsAreJournaled) {
  DataDeletion d;
  d.what = "2025-11-01T10.sqlite";
  d.from = *parse_time("2025-11-01T10:00:00Z");
  d.to = *parse_time("2025-11-01T11:00:00Z");
  d.records = 12345;
  d.reason = "retention";
  ASSERT_TRUE(api_->record_deletion(d));
  auto e = journal_entries("data_deleted");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["fields"]["records"], 12345);
  EXPECT_EQ(e[0]["fields"]["reason"], "retention");
  EXPECT_EQ(e[0]["fields"]["what"], "2025-11-01T10.sqlite");
  auto v = api_->verify_journal();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok());
}

}  // namespace
}  // namespace conntrail::agent::testing
