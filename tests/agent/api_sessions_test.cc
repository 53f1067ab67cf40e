// The lawful API's subscriber-sessions category and attribution requests:
// the same two-officer workflow, journal and delivery guarantees as flows,
// through the SessionQueryFn seam (a fake store here; tests/integration runs
// the real agent and storage).
#include <gtest/gtest.h>

#include "agent/api/attribution_result.h"
#include "api_test_support.h"
#include "capture/attribution/session_format.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;
using Status = http2::BodySource::Status;

TimestampNs t(const char* rfc3339) { return *parse_time(rfc3339); }

std::string sha256_of(std::string_view bytes) {
  storage::Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string trailer(const Drained& d, std::string_view name) {
  for (const auto& [k, v] : d.trailers) {
    if (k == name) return v;
  }
  return {};
}

class ApiSessionsTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    sessions_ = {
        // 192.0.2.10: alice, then a gap, then bob.
        make_session("192.0.2.10/32", "alice@isp", t("2026-11-01T08:00:00Z"),
                     t("2026-11-01T11:30:00Z"), "a-1"),
        make_session("192.0.2.10/32", "bob@isp", t("2026-11-01T12:00:00Z"), 0, "b-1"),
        // 192.0.2.11: two subscribers claim it at once.
        make_session("192.0.2.11/32", "carol@isp", t("2026-11-01T09:00:00Z"),
                     t("2026-11-01T13:00:00Z"), "c-1"),
        make_session("192.0.2.11/32", "dave@isp", t("2026-11-01T11:00:00Z"),
                     t("2026-11-01T14:00:00Z"), "d-1"),
        // alice again, elsewhere and later (outside the request window).
        make_session("2001:db8:1:100::/56", "alice@isp", t("2026-11-03T00:00:00Z"), 0, "a-2"),
    };
  }

  std::string body(const Json& categories, const Json& selectors) const {
    return Json{{"case_reference", "C-17"},       {"legal_basis", "court order"},
                {"justification", "who held it"}, {"selectors", selectors},
                {"from", "2026-11-01T00:00:00Z"}, {"to", "2026-11-02T00:00:00Z"},
                {"categories", categories}}
        .dump();
  }

  std::string attribution_body(const Json& target) const {
    return Json{{"case_reference", "C-18"},
                {"legal_basis", "court order"},
                {"justification", "who used the address"},
                {"categories", Json::array({"attribution"})},
                {"attribution", target}}
        .dump();
  }

  // Files `body` as officer A and has officer B approve it; returns the id.
  std::string file_and_approve(const std::string& body) {
    auto r = call(kCertA, "POST", "/v1/requests", body);
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = json_of(r).value("id", std::string());
    auto early = call(kCertA, "GET", "/v1/requests/" + id + "/results/" + first_category(body));
    EXPECT_EQ(early.status, 409) << "results before approval: " << early.body;
    auto ok = call(kCertB, "POST", "/v1/requests/" + id + "/approve");
    EXPECT_EQ(ok.status, 200) << ok.body;
    return id;
  }

  static std::string first_category(const std::string& body) {
    return Json::parse(body)["categories"][0].get<std::string>();
  }

  Json answer(const std::string& id) {
    auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results/attribution", {},
                  "time_format=rfc3339");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(header_of(r, "content-type"), "application/json");
    auto d = drain(r);
    EXPECT_EQ(d.end, Status::kEnd);
    EXPECT_EQ(trailer(d, "x-conntrail-sha256"), sha256_of(d.body));
    EXPECT_EQ(d.body.back(), '\n');
    return Json::parse(d.body, nullptr, false);
  }
};

TEST_F(ApiSessionsTest, SessionsCategoryFollowsTheTwoOfficerWorkflowAndSelectors) {
  const std::string id = file_and_approve(
      body(Json::array({"flows", "subscriber-sessions"}),
           Json::array({{{"ip", "192.0.2.10"}, {"port", 40000}}, {{"subscriber", "carol@isp"}}})));
  const std::string results = "/v1/requests/" + id + "/results";

  // NDJSON, the `conntrail sessions` formatter's rows, each session once, in store order.
  auto r = call(kCertA, "GET", results + "/subscriber-sessions");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header_of(r, "content-type"), "application/x-ndjson");
  EXPECT_EQ(header_of(r, "x-conntrail-category"), "subscriber-sessions");
  auto d = drain(r);
  ASSERT_EQ(d.end, Status::kEnd);
  const capture::SessionFormatter ndjson(OutputFormat::kNdjson, TimeFormat::kEpoch);
  EXPECT_EQ(d.body, ndjson.row(sessions_[0]) + ndjson.row(sessions_[1]) + ndjson.row(sessions_[2]));
  EXPECT_EQ(trailer(d, "x-conntrail-records"), "3");
  EXPECT_EQ(trailer(d, "x-conntrail-sha256"), sha256_of(d.body));
  EXPECT_EQ(trailer(d, "x-conntrail-complete"), "true");

  // CSV with the same header as `conntrail sessions --format csv`.
  auto c = call(kCertB, "GET", results + "/subscriber-sessions", {}, "time_format=rfc3339",
                {{"accept", "text/csv"}});
  ASSERT_EQ(c.status, 200) << c.body;
  auto cd = drain(c);
  const capture::SessionFormatter csv(OutputFormat::kCsv, TimeFormat::kRfc3339);
  EXPECT_EQ(cd.body,
            csv.header() + csv.row(sessions_[0]) + csv.row(sessions_[1]) + csv.row(sessions_[2]));

  // /results keeps meaning flows for a request that asked for flows.
  auto f = call(kCertA, "GET", results);
  ASSERT_EQ(f.status, 200);
  EXPECT_EQ(header_of(f, "x-conntrail-category"), "flows");
  auto fd = drain(f);
  EXPECT_NE(fd.body.find("\"src_port\":40000"), std::string::npos) << fd.body;
  auto explicit_flows = call(kCertA, "GET", results + "/flows");
  ASSERT_EQ(explicit_flows.status, 200);
  EXPECT_EQ(drain(explicit_flows).body, fd.body);
  // Categories not asked for are not released; unknown ones do not exist.
  auto not_asked = call(kCertA, "GET", results + "/attribution");
  EXPECT_EQ(not_asked.status, 404) << not_asked.body;
  EXPECT_NE(not_asked.body.find("category-not-requested"), std::string::npos);
  EXPECT_EQ(call(kCertA, "GET", results + "/payload").status, 404);
  EXPECT_EQ(call(kCertA, "GET", results + "/").status, 404);
  EXPECT_EQ(call(kCertA, "POST", results + "/subscriber-sessions").status, 405);

  // Each delivery is journaled with its category, count and hash.
  const auto delivered = journal_entries("result_delivered");
  ASSERT_EQ(delivered.size(), 4u);
  EXPECT_EQ(delivered[0]["fields"]["category"], "subscriber-sessions");
  EXPECT_EQ(delivered[0]["fields"]["records"], 3);
  EXPECT_EQ(delivered[0]["fields"]["sha256"], sha256_of(d.body));
  EXPECT_EQ(delivered[1]["fields"]["format"], "csv");
  EXPECT_EQ(delivered[2]["fields"]["category"], "flows");
  EXPECT_EQ(journal_entries("result_started")[0]["fields"]["category"], "subscriber-sessions");

  // The manifest tells the last delivery of each category.
  auto m = json_of(call(kCertA, "GET", "/v1/requests/" + id + "/manifest"));
  EXPECT_EQ(m["categories"]["subscriber-sessions"]["records"], 3) << m;
  EXPECT_EQ(m["categories"]["subscriber-sessions"]["format"], "csv") << m;
  EXPECT_EQ(m["categories"]["flows"]["sha256"], sha256_of(fd.body)) << m;
  EXPECT_EQ(m["last_delivery"]["category"], "flows") << m;
}

TEST_F(ApiSessionsTest, SessionsOnlyRequestIsServedAtResults) {
  const std::string id = file_and_approve(
      body(Json::array({"subscriber-sessions"}), Json::array({{{"prefix", "2001:db8:1::/48"}}})));
  auto r = call(kCertB, "GET", "/v1/requests/" + id + "/results");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header_of(r, "x-conntrail-category"), "subscriber-sessions");
  // The delegated prefix starts after the window: nothing, and no flow record either.
  EXPECT_EQ(drain(r).body, "");
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests/" + id + "/results/flows").status, 404);
  ASSERT_FALSE(session_specs_.empty());
  EXPECT_EQ(session_specs_.back().from, t("2026-11-01T00:00:00Z"));
  EXPECT_EQ(session_specs_.back().to, t("2026-11-02T00:00:00Z"));
}

TEST_F(ApiSessionsTest, NoSingleOfficerObtainsSessionsOrAnAttribution) {
  auto created = call(kCertA, "POST", "/v1/requests",
                      attribution_body({{"ip", "192.0.2.10"}, {"at", "2026-11-01T10:00:00Z"}}));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json_of(created)["id"];
  EXPECT_EQ(json_of(created)["attribution"]["ip"], "192.0.2.10");
  const std::string p = "/v1/requests/" + id;
  for (const std::string& path : {p + "/results", p + "/results/attribution"}) {
    EXPECT_EQ(call(kCertA, "GET", path).status, 409) << path;  // the requester, alone
    EXPECT_EQ(call(kCertC, "GET", path).status, 403) << path;  // not on the request
    EXPECT_EQ(call(kCertX, "GET", path).status, 404) << path;  // another agency
    EXPECT_EQ(call(kCertAuditor, "GET", path).status, 403) << path;
    EXPECT_EQ(call(kCertUnknown, "GET", path).status, 403) << path;
  }
  EXPECT_EQ(call(kCertA, "POST", p + "/approve").status, 403);  // never their own
  EXPECT_EQ(call(kCertC, "POST", p + "/approve").status, 403);  // requester role only
  EXPECT_EQ(call(kCertX, "POST", p + "/approve").status, 404);  // another agency
  EXPECT_TRUE(journal_entries("result_delivered").empty());
  EXPECT_TRUE(session_specs_.empty()) << "the store was asked before approval";
  ASSERT_EQ(call(kCertE, "POST", p + "/approve").status, 200);
  EXPECT_EQ(call(kCertC, "GET", p + "/results/attribution").status, 403);
  auto r = call(kCertE, "GET", p + "/results/attribution");  // the approver is on it
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(drain(r).body)["subscriber"], "alice@isp");
}

TEST_F(ApiSessionsTest, AttributionNamesTheSubscriberAndConfirmsThePort) {
  const std::string id = file_and_approve(
      attribution_body({{"ip", "192.0.2.10"}, {"port", 40000}, {"at", "2026-11-01T10:00:00.5Z"}}));
  const Json a = answer(id);
  EXPECT_EQ(a["request_id"], id);
  EXPECT_EQ(a["status"], "unique") << a;
  EXPECT_EQ(a["subscriber"], "alice@isp");
  ASSERT_EQ(a["sessions"].size(), 1u);
  EXPECT_EQ(a["sessions"][0]["session_id"], "a-1");
  EXPECT_EQ(a["port_check"], "confirmed");
  ASSERT_EQ(a["flows"].size(), 1u);
  EXPECT_EQ(a["flows"][0]["src_port"], 40000);
  EXPECT_EQ(a["flows_truncated"], false);
  EXPECT_EQ(a["completeness"]["complete"], true);
  EXPECT_TRUE(a["previous"].is_null());
  // Sessions were asked for the address over the look-around, flows over the instant.
  ASSERT_EQ(session_specs_.size(), 1u);
  EXPECT_EQ(session_specs_[0].to - session_specs_[0].from, 2 * options_.attribution_lookaround + 1);
  // /results of an attribution request is its answer; the delivery is journaled.
  auto again = call(kCertB, "GET", "/v1/requests/" + id + "/results");
  ASSERT_EQ(again.status, 200);
  const std::string bytes = drain(again).body;
  const auto delivered = journal_entries("result_delivered");
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(delivered[1]["fields"]["category"], "attribution");
  EXPECT_EQ(delivered[1]["fields"]["format"], "json");
  EXPECT_EQ(delivered[1]["fields"]["records"], 1);
  EXPECT_EQ(delivered[1]["fields"]["sha256"], sha256_of(bytes));
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results/attribution", {}, {},
                 {{"accept", "text/csv"}})
                .status,
            406);
}

TEST_F(ApiSessionsTest, AttributionReportsAmbiguityGapsAndUnconfirmedPorts) {
  const Json ambiguous = answer(
      file_and_approve(attribution_body({{"ip", "192.0.2.11"}, {"at", "2026-11-01T12:00:00Z"}})));
  EXPECT_EQ(ambiguous["status"], "ambiguous") << ambiguous;
  EXPECT_EQ(ambiguous["sessions"].size(), 2u);
  EXPECT_NE(ambiguous["subscriber"].get<std::string>().find("carol@isp"), std::string::npos);
  EXPECT_NE(ambiguous["subscriber"].get<std::string>().find("dave@isp"), std::string::npos);
  EXPECT_FALSE(ambiguous["notes"].empty());

  const Json gap = answer(file_and_approve(
      attribution_body({{"ip", "192.0.2.10"}, {"port", 40000}, {"at", "2026-11-01T11:45:00Z"}})));
  EXPECT_EQ(gap["status"], "none") << gap;
  EXPECT_EQ(gap["subscriber"], "");
  EXPECT_EQ(gap["previous"]["session_id"], "a-1") << gap;
  EXPECT_EQ(gap["next"]["session_id"], "b-1") << gap;
  EXPECT_EQ(gap["port_check"], "no-flow");

  // A window reaching into the next session: still reported, not guessed.
  const Json wide = answer(file_and_approve(attribution_body(
      {{"ip", "192.0.2.10"}, {"at", "2026-11-01T11:45:00Z"}, {"window_s", 3600}})));
  EXPECT_EQ(wide["status"], "ambiguous") << wide;
  EXPECT_EQ(wide["window_s"], 3600);
  EXPECT_EQ(wide["port_check"], "not-asked");

  // Nobody held it: counted as answered empty in the statistics.
  const Json nobody = answer(file_and_approve(
      attribution_body({{"ip", "198.51.100.99"}, {"at", "2026-11-01T10:00:00Z"}})));
  EXPECT_EQ(nobody["status"], "none");
  EXPECT_TRUE(nobody["previous"].is_null());
  EXPECT_EQ(journal_entries("result_delivered").back()["fields"]["records"], 0);
  auto stats = json_of(call(kCertAuditor, "GET", "/v1/statistics"));
  ASSERT_EQ(stats["months"].size(), 1u) << stats;
  EXPECT_EQ(stats["months"][0]["requests_made"], 4);
  EXPECT_EQ(stats["months"][0]["answered"], 4);
  EXPECT_EQ(stats["months"][0]["answered_empty"], 2);  // the gap and nobody
}

TEST_F(ApiSessionsTest, IncompleteDataIsSaidInTheAnswer) {
  completeness_.uncovered.push_back({t("2026-11-01T09:00:00Z"), t("2026-11-01T11:00:00Z")});
  const Json a = answer(file_and_approve(
      attribution_body({{"ip", "198.51.100.99"}, {"at", "2026-11-01T10:00:00Z"}})));
  EXPECT_EQ(a["status"], "none");
  EXPECT_EQ(a["completeness"]["complete"], false);
  bool said = false;
  for (const auto& n : a["notes"])
    said = said || n.get<std::string>().find("incomplete") != std::string::npos;
  EXPECT_TRUE(said) << a["notes"];
}

TEST_F(ApiSessionsTest, SessionStoreErrorsEndTheStreamAndAreJournaled) {
  const std::string id = file_and_approve(
      body(Json::array({"subscriber-sessions"}), Json::array({{{"ip", "192.0.2.10"}}})));
  // Replace the API with one whose session seam fails.
  api_.reset();
  auto api = LawfulApi::open(
      options_,
      QueryFunctions{[](const QuerySpec&, const FlowRowFn&) -> Result<QueryCompleteness> {
                       return QueryCompleteness{};
                     },
                     [](const QuerySpec&, const SessionRowFn&) -> Result<QueryCompleteness> {
                       return fail(ErrorCode::kCorrupt, "shard 20261101T000000Z_PT1H corrupt");
                     }},
      [this] { return now_; });
  ASSERT_TRUE(api);
  api_ = std::move(*api);
  auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results/subscriber-sessions");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(drain(r).end, Status::kError);
  const auto delivered = journal_entries("result_delivered");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0]["fields"]["finished"], false);
  EXPECT_NE(delivered[0]["fields"]["error"].get<std::string>().find("corrupt"), std::string::npos);
}

TEST_F(ApiSessionsTest, AnAgentWithoutASessionStoreRefusesTheCategoriesAtFiling) {
  api_.reset();
  auto api = LawfulApi::open(
      options_,
      [](const QuerySpec&, const FlowRowFn&) -> Result<QueryCompleteness> {
        return QueryCompleteness{};
      },
      [this] { return now_; });
  ASSERT_TRUE(api);
  api_ = std::move(*api);
  auto r = call(
      kCertA, "POST", "/v1/requests",
      body(Json::array({"flows", "subscriber-sessions"}), Json::array({{{"ip", "192.0.2.10"}}})));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json_of(r)["field"], "categories[1]") << r.body;
  EXPECT_EQ(call(kCertA, "POST", "/v1/requests",
                 attribution_body({{"ip", "192.0.2.10"}, {"at", "2026-11-01T10:00:00Z"}}))
                .status,
            400);
}

}  // namespace
}  // namespace conntrail::agent::testing
