// The request workflow through LawfulApi::handle: create → approve → results,
// the rules that keep one officer from obtaining records alone, validation,
// expiry, cancellation, and replay of the journal after a restart.
#include <gtest/gtest.h>

#include "api_test_support.h"
#include "core/flow_format.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;

TEST_F(ApiTest, FullWorkflowFromRequestToVerifiedResults) {
  auto created = call(kCertA, "POST", "/v1/requests", request_body());
  ASSERT_EQ(created.status, 201) << created.body;
  Json c = json_of(created);
  const std::string id = c["id"];
  EXPECT_EQ(c["state"], "awaiting_approval");
  EXPECT_EQ(c["requester"], "officer-a");
  EXPECT_EQ(c["agency"], "police");
  EXPECT_EQ(c["approvals_required"], 1);
  EXPECT_EQ(header_of(created, "location"), "/v1/requests/" + id);

  auto early = call(kCertA, "GET", "/v1/requests/" + id + "/results");
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_EQ(queries_, 0);

  auto approved = call(kCertB, "POST", "/v1/requests/" + id + "/approve");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(json_of(approved)["state"], "approved");
  EXPECT_EQ(json_of(approved)["approvals"][0]["officer"], "officer-b");

  auto results = call(kCertA, "GET", "/v1/requests/" + id + "/results");
  ASSERT_EQ(results.status, 200) << results.body;
  ASSERT_TRUE(results.stream);
  Drained d = drain(results, 7);  // tiny reads: rows span many read() calls
  EXPECT_EQ(d.end, http2::BodySource::Status::kEnd);
  FlowFormatter ndjson(OutputFormat::kNdjson, TimeFormat::kEpoch);
  // The window is Nov 1; 192.0.2.10 appears in the first two flows only.
  EXPECT_EQ(d.body, ndjson.row(flows_[0]) + ndjson.row(flows_[1]));
  const std::string sha = storage::sha256_hex(d.body);
  http2::HeaderList expected_trailers = {{"x-conntrail-records", "2"},
                                         {"x-conntrail-bytes", std::to_string(d.body.size())},
                                         {"x-conntrail-sha256", sha},
                                         {"x-conntrail-complete", "true"}};
  EXPECT_EQ(d.trailers, expected_trailers);
  results = {};  // the server drops the stream after the end

  auto manifest = call(kCertB, "GET", "/v1/requests/" + id + "/manifest");
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  Json m = json_of(manifest);
  EXPECT_EQ(m["deliveries"], 1);
  EXPECT_EQ(m["last_delivery"]["records"], 2);
  EXPECT_EQ(m["last_delivery"]["sha256"], sha);
  EXPECT_EQ(m["last_delivery"]["finished"], true);
  EXPECT_EQ(m["last_delivery"]["complete"], true);
  EXPECT_EQ(m["last_delivery"]["officer"], "officer-a");

  // CSV for the approver, who is also on the request; fetching again is allowed.
  auto csv =
      call(kCertB, "GET", "/v1/requests/" + id + "/results", "", "", {{"accept", "text/csv"}});
  ASSERT_EQ(csv.status, 200);
  Drained dc = drain(csv);
  FlowFormatter csvf(OutputFormat::kCsv, TimeFormat::kEpoch);
  EXPECT_EQ(dc.body, csvf.header() + csvf.row(flows_[0]) + csvf.row(flows_[1]));

  auto deliveries = journal_entries("result_delivered");
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0]["fields"]["records"], 2);
  EXPECT_EQ(deliveries[0]["fields"]["sha256"], sha);
  EXPECT_EQ(deliveries[1]["fields"]["format"], "csv");
  EXPECT_EQ(deliveries[1]["fields"]["officer"], "officer-b");

  auto verify = call(kCertAuditor, "GET", "/v1/audit/verify");
  ASSERT_EQ(verify.status, 200);
  const std::string report = drain(verify).body;
  EXPECT_EQ(Json::parse(report)["ok"], true) << report;
}

TEST_F(ApiTest, RfcTimeFormatIsOffered) {
  const std::string id = create_approved();
  auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results", "", "time_format=rfc3339");
  ASSERT_EQ(r.status, 200) << r.body;
  Drained d = drain(r);
  EXPECT_NE(d.body.find("\"first_ts\":\"2026-11-01T10:00:00"), std::string::npos) << d.body;
  auto bad = call(kCertA, "GET", "/v1/requests/" + id + "/results", "", "time_format=julian");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(ApiTest, UnacceptableMediaTypeIs406) {
  const std::string id = create_approved();
  auto r = call(kCertA, "GET", "/v1/requests/" + id + "/results", "", "",
                {{"accept", "application/xml"}});
  EXPECT_EQ(r.status, 406);
}

TEST_F(ApiTest, RequesterApprovingOwnRequestIsForbiddenAndYieldsNothing) {
  const std::string id = create(kCertA);
  auto r = call(kCertA, "POST", "/v1/requests/" + id + "/approve");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.headers.front().second, "application/problem+json");
  auto rej = call(kCertA, "POST", "/v1/requests/" + id + "/reject");
  EXPECT_EQ(rej.status, 403);
  EXPECT_EQ(json_of(call(kCertA, "GET", "/v1/requests/" + id))["state"], "awaiting_approval");
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 409);
  EXPECT_EQ(queries_, 0);
  EXPECT_EQ(journal_entries("authorization_failure").size(), 2u);
}

TEST_F(ApiTest, TwoRequestersWithoutApproverRoleNeverObtainRecords) {
  const std::string id = create(kCertC);
  EXPECT_EQ(call(kCertD, "POST", "/v1/requests/" + id + "/approve").status, 403);
  EXPECT_EQ(call(kCertC, "POST", "/v1/requests/" + id + "/approve").status, 403);
  EXPECT_EQ(call(kCertC, "GET", "/v1/requests/" + id + "/results").status, 409);
  EXPECT_EQ(call(kCertD, "GET", "/v1/requests/" + id + "/results").status, 403);
  EXPECT_EQ(queries_, 0);
}

TEST_F(ApiTest, ApproverOfAnotherAgencyCannotSeeOrApprove) {
  const std::string id = create(kCertA);
  EXPECT_EQ(call(kCertX, "POST", "/v1/requests/" + id + "/approve").status, 404);
  EXPECT_EQ(call(kCertX, "GET", "/v1/requests/" + id).status, 404);
  EXPECT_EQ(json_of(call(kCertX, "GET", "/v1/requests"))["total"], 0);
  EXPECT_EQ(json_of(call(kCertA, "GET", "/v1/requests/" + id))["state"], "awaiting_approval");
}

TEST_F(ApiTest, OfficerNotOnTheRequestGetsNoResults) {
  const std::string id = create_approved();  // officer-a requested, officer-b approved
  auto r = call(kCertE, "GET", "/v1/requests/" + id + "/results");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(call(kCertC, "GET", "/v1/requests/" + id + "/results").status, 403);
  EXPECT_EQ(call(kCertC, "GET", "/v1/requests/" + id + "/manifest").status, 403);
  EXPECT_EQ(queries_, 0);
}

TEST_F(ApiTest, ApprovalsRequiredTwoNeedsTwoDistinctApprovers) {
  options().approvals_required = 2;
  open_api();
  const std::string id = create(kCertA);
  EXPECT_EQ(json_of(call(kCertA, "GET", "/v1/requests/" + id))["approvals_required"], 2);
  auto first = call(kCertB, "POST", "/v1/requests/" + id + "/approve");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(json_of(first)["state"], "awaiting_approval");
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + id + "/approve").status, 409);  // not twice
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 409);
  auto second = call(kCertE, "POST", "/v1/requests/" + id + "/approve");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(json_of(second)["state"], "approved");
  auto r = call(kCertE, "GET", "/v1/requests/" + id + "/results");
  EXPECT_EQ(r.status, 200);
}

TEST_F(ApiTest, ApprovalsRequiredBelowOneIsRefusedAtOpen) {
  options().approvals_required = 0;
  auto api = LawfulApi::open(
      options(),
      [](const QuerySpec&, const FlowRowFn&) -> Result<QueryCompleteness> {
        return QueryCompleteness{};
      },
      [] { return TimestampNs{0}; });
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ApiTest, RejectionIsFinal) {
  const std::string id = create(kCertA);
  auto r = call(kCertB, "POST", "/v1/requests/" + id + "/reject", R"({"reason":"no legal basis"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["state"], "rejected");
  EXPECT_EQ(json_of(r)["rejection"]["reason"], "no legal basis");
  EXPECT_EQ(call(kCertE, "POST", "/v1/requests/" + id + "/approve").status, 409);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 409);
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + id + "/reject", R"({"why":"x"})").status, 400);
}

TEST_F(ApiTest, CancelOnlyByItsRequester) {
  const std::string id = create_approved();
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + id + "/cancel").status, 403);
  auto r = call(kCertA, "POST", "/v1/requests/" + id + "/cancel");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json_of(r)["state"], "cancelled");
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 409);
  EXPECT_EQ(call(kCertA, "POST", "/v1/requests/" + id + "/cancel").status, 409);
}

TEST_F(ApiTest, RequestsExpireAfterTheConfiguredTime) {
  options().request_ttl = 2 * kNsPerDay;
  open_api();
  const std::string id = create_approved();
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 200);
  now_ += 2 * kNsPerDay;
  EXPECT_EQ(json_of(call(kCertA, "GET", "/v1/requests/" + id))["state"], "expired");
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 409);
  const std::string pending = create(kCertA);
  now_ += 3 * kNsPerDay;
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + pending + "/approve").status, 409);
}

TEST_F(ApiTest, ListIsPagedAndScopedToTheAgency) {
  for (int i = 0; i < 5; ++i) {
    create(kCertA);
    now_ += kNsPerSecond;
  }
  create(kCertX);
  auto page1 = json_of(call(kCertB, "GET", "/v1/requests", "", "per_page=2"));
  EXPECT_EQ(page1["total"], 5);
  ASSERT_EQ(page1["requests"].size(), 2u);
  auto page3 = json_of(call(kCertB, "GET", "/v1/requests", "", "per_page=2&page=3"));
  ASSERT_EQ(page3["requests"].size(), 1u);
  EXPECT_GT(page1["requests"][0]["created"].get<std::string>(),
            page3["requests"][0]["created"].get<std::string>());
  EXPECT_EQ(json_of(call(kCertB, "GET", "/v1/requests", "", "state=approved"))["total"], 0);
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests", "", "per_page=100000").status, 400);
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests", "", "sort=asc").status, 400);
  EXPECT_EQ(json_of(call(kCertX, "GET", "/v1/requests"))["total"], 1);
}

struct BadRequest {
  std::string name;
  std::string body;
  std::string field;
};

class ApiValidationTest : public ApiTest, public ::testing::WithParamInterface<BadRequest> {};

TEST_P(ApiValidationTest, Returns400NamingTheField) {
  auto r = call(kCertA, "POST", "/v1/requests", GetParam().body);
  ASSERT_EQ(r.status, 400) << r.body;
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers.front().second, "application/problem+json");
  Json j = json_of(r);
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j.value("field", std::string()), GetParam().field) << r.body;
  EXPECT_TRUE(journal_entries("request_created").empty());
}

std::string body(const std::string& selectors, const std::string& from = "2026-11-01T00:00:00Z",
                 const std::string& to = "2026-11-02T00:00:00Z", const std::string& extra = "",
                 const std::string& categories = R"(["flows"])") {
  return R"({"case_reference":"C-17","legal_basis":"court order","selectors":)" + selectors +
         R"(,"from":")" + from + R"(","to":")" + to + R"(","categories":)" + categories +
         R"(,"justification":"j")" + extra + "}";
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ApiValidationTest,
    ::testing::Values(
        BadRequest{"NotJson", "{", ""}, BadRequest{"NotObject", "[1]", ""},
        BadRequest{"UnknownField",
                   body(R"([{"ip":"192.0.2.1"}])", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z",
                        R"(,"colour":"red")"),
                   "colour"},
        BadRequest{"BadAddress", body(R"([{"ip":"192.0.2.300"}])"), "selectors[0].ip"},
        BadRequest{"BroadV4Prefix", body(R"([{"prefix":"10.0.0.0/16"}])"), "selectors[0].prefix"},
        BadRequest{"BroadV6Prefix", body(R"([{"ip":"192.0.2.1"},{"prefix":"2001:db8::/32"}])"),
                   "selectors[1].prefix"},
        BadRequest{"HostBits", body(R"([{"prefix":"192.0.2.1/24"}])"), "selectors[0].prefix"},
        BadRequest{"NoSelectors", body("[]"), "selectors"},
        BadRequest{
            "TooManySelectors",
            body(R"([{"ip":"192.0.2.1"},{"ip":"192.0.2.2"},{"ip":"192.0.2.3"},{"ip":"192.0.2.4"},
                           {"ip":"192.0.2.5"},{"ip":"192.0.2.6"},{"ip":"192.0.2.7"},{"ip":"192.0.2.8"},
                           {"ip":"192.0.2.9"},{"ip":"192.0.2.10"},{"ip":"192.0.2.11"},{"ip":"192.0.2.12"},
                           {"ip":"192.0.2.13"},{"ip":"192.0.2.14"},{"ip":"192.0.2.15"},{"ip":"192.0.2.16"},
                           {"ip":"192.0.2.17"}])"),
            "selectors"},
        BadRequest{"TwoFormsInOneSelector", body(R"([{"ip":"192.0.2.1","subscriber":"x"}])"),
                   "selectors[0]"},
        BadRequest{"UnknownSelectorField", body(R"([{"ip":"192.0.2.1","mac":"x"}])"),
                   "selectors[0].mac"},
        BadRequest{"PortWithoutIp", body(R"([{"prefix":"192.0.2.0/24","port":80}])"),
                   "selectors[0].port"},
        BadRequest{"PortOutOfRange", body(R"([{"ip":"192.0.2.1","port":70000}])"),
                   "selectors[0].port"},
        BadRequest{"InvertedWindow",
                   body(R"([{"ip":"192.0.2.1"}])", "2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"),
                   "to"},
        BadRequest{"OversizedWindow",
                   body(R"([{"ip":"192.0.2.1"}])", "2026-10-01T00:00:00Z", "2026-11-02T00:00:00Z"),
                   "to"},
        BadRequest{"BeforeRetention",
                   body(R"([{"ip":"192.0.2.1"}])", "2025-10-01T00:00:00Z", "2025-10-02T00:00:00Z"),
                   "from"},
        BadRequest{"FutureWindow",
                   body(R"([{"ip":"192.0.2.1"}])", "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z"),
                   "to"},
        BadRequest{"BadTime", body(R"([{"ip":"192.0.2.1"}])", "yesterday"), "from"},
        BadRequest{"YearBeyondInt64Nanoseconds",
                   body(R"([{"ip":"192.0.2.1"}])", "9026-11-01T00:00:00Z", "9026-11-02T00:00:00Z"),
                   "from"},
        BadRequest{"YearZero",
                   body(R"([{"ip":"192.0.2.1"}])", "0000-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
                   "from"},
        BadRequest{"UnknownCategory",
                   body(R"([{"ip":"192.0.2.1"}])", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z",
                        "", R"(["content"])"),
                   "categories[0]"},
        BadRequest{
            "MissingCaseReference",
            R"({"legal_basis":"x","selectors":[{"ip":"192.0.2.1"}],"from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z","categories":["flows"],"justification":"j"})",
            "case_reference"},
        BadRequest{
            "ControlCharacters",
            R"({"case_reference":"C\u0000","legal_basis":"x","selectors":[{"ip":"192.0.2.1"}],"from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z","categories":["flows"],"justification":"j"})",
            "case_reference"}),
    [](const ::testing::TestParamInfo<BadRequest>& i) { return i.param.name; });

TEST_F(ApiTest, WrongContentTypeIs415) {
  auto r = call(kCertA, "POST", "/v1/requests", "", "", {{"content-type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
}

TEST_F(ApiTest, ReplayAfterRestartGivesTheSameState) {
  const std::string approved = create_approved();
  const std::string rejected = create(kCertB);
  ASSERT_EQ(call(kCertA, "POST", "/v1/requests/" + rejected + "/reject").status, 200);
  const std::string pending = create(kCertC);
  auto rs = call(kCertA, "GET", "/v1/requests/" + approved + "/results");
  drain(rs);
  rs = {};
  const std::string list_before = call(kCertA, "GET", "/v1/requests").body;
  const std::string approved_before = call(kCertA, "GET", "/v1/requests/" + approved).body;
  const std::string manifest_before =
      call(kCertA, "GET", "/v1/requests/" + approved + "/manifest").body;
  // The journal head moves (the restart journals service_started); the numbers must not.
  const Json stats_before = json_of(call(kCertAuditor, "GET", "/v1/statistics"))["months"];

  open_api();  // a restart: the book is rebuilt from the journal alone

  EXPECT_EQ(call(kCertA, "GET", "/v1/requests").body, list_before);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + approved).body, approved_before);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + approved + "/manifest").body, manifest_before);
  EXPECT_EQ(json_of(call(kCertAuditor, "GET", "/v1/statistics"))["months"], stats_before);
  // The rules still hold after the restart.
  EXPECT_EQ(call(kCertC, "POST", "/v1/requests/" + pending + "/approve").status, 403);
  EXPECT_EQ(call(kCertB, "POST", "/v1/requests/" + pending + "/approve").status, 200);
  EXPECT_EQ(journal_entries("service_started").size(), 2u);
  EXPECT_EQ(journal_entries("service_started")[1]["fields"]["requests_replayed"], 3);
}

TEST_F(ApiTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(call(kCertA, "GET", "/v1/nothing").status, 404);
  EXPECT_EQ(call(kCertA, "GET", "/").status, 404);
  EXPECT_EQ(call(kCertA, "DELETE", "/v1/requests").status, 405);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/r-1/approve").status, 405);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/bad%20id").status, 404);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/r-0000000000000000").status, 404);
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/r-1/results/x").status, 404);
}

}  // namespace
}  // namespace conntrail::agent::testing
