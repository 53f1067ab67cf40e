// The authorization matrix: every endpoint × every role, and certificates that
// identify nobody (unknown, revoked officer, expired officer) get 403 with no
// detail everywhere, journaled as authentication failures.
#include <gtest/gtest.h>

#include <map>

#include "api_test_support.h"

namespace conntrail::agent::testing {
namespace {

using Json = nlohmann::json;

struct Endpoint {
  std::string name;
  std::string method;
  std::string path;  // "{id}" is replaced by a request of officer-a's, approved by officer-b
  std::string body;
};

std::vector<Endpoint> endpoints() {
  return {
      {"create", "POST", "/v1/requests", "BODY"},
      {"list", "GET", "/v1/requests", ""},
      {"get", "GET", "/v1/requests/{pending}", ""},
      {"approve", "POST", "/v1/requests/{pending}/approve", ""},
      {"reject", "POST", "/v1/requests/{pending}/reject", ""},
      {"cancel", "POST", "/v1/requests/{pending}/cancel", ""},
      {"results", "GET", "/v1/requests/{approved}/results", ""},
      {"manifest", "GET", "/v1/requests/{approved}/manifest", ""},
      {"audit", "GET", "/v1/audit", ""},
      {"verify", "GET", "/v1/audit/verify", ""},
      {"statistics", "GET", "/v1/statistics", ""},
  };
}

// Expected status per identity and endpoint. The pending request is officer-a's
// (police); the approved one was requested by officer-a and approved by officer-b.
const std::map<std::string, std::map<std::string, int>>& expectations() {
  static const std::map<std::string, std::map<std::string, int>> m = {
      // officer-b: requester + approver, police, not the pending request's requester.
      {"officer-b",
       {{"create", 201},
        {"list", 200},
        {"get", 200},
        {"approve", 200},
        {"reject", 200},
        {"cancel", 403},
        {"results", 200},
        {"manifest", 200},
        {"audit", 403},
        {"verify", 403},
        {"statistics", 403}}},
      // officer-a: the requester of both requests.
      {"officer-a",
       {{"create", 201},
        {"list", 200},
        {"get", 200},
        {"approve", 403},
        {"reject", 403},
        {"cancel", 200},
        {"results", 200},
        {"manifest", 200},
        {"audit", 403},
        {"verify", 403},
        {"statistics", 403}}},
      // officer-c: requester only, police, on neither request.
      {"officer-c",
       {{"create", 201},
        {"list", 200},
        {"get", 200},
        {"approve", 403},
        {"reject", 403},
        {"cancel", 403},
        {"results", 403},
        {"manifest", 403},
        {"audit", 403},
        {"verify", 403},
        {"statistics", 403}}},
      // officer-e: approver only, police.
      {"officer-e",
       {{"create", 403},
        {"list", 200},
        {"get", 200},
        {"approve", 200},
        {"reject", 200},
        {"cancel", 403},
        {"results", 403},
        {"manifest", 403},
        {"audit", 403},
        {"verify", 403},
        {"statistics", 403}}},
      // officer-x: requester + approver of another agency: the requests do not exist for them.
      {"officer-x",
       {{"create", 201},
        {"list", 200},
        {"get", 404},
        {"approve", 404},
        {"reject", 404},
        {"cancel", 404},
        {"results", 404},
        {"manifest", 404},
        {"audit", 403},
        {"verify", 403},
        {"statistics", 403}}},
      {"auditor",
       {{"create", 403},
        {"list", 403},
        {"get", 403},
        {"approve", 403},
        {"reject", 403},
        {"cancel", 403},
        {"results", 403},
        {"manifest", 403},
        {"audit", 200},
        {"verify", 200},
        {"statistics", 200}}},
  };
  return m;
}

const std::map<std::string, std::string>& certs() {
  static const std::map<std::string, std::string> m = {
      {"officer-a", kCertA}, {"officer-b", kCertB}, {"officer-c", kCertC},
      {"officer-e", kCertE}, {"officer-x", kCertX}, {"auditor", kCertAuditor}};
  return m;
}

class AuthorizationMatrixTest : public ApiTest {
 protected:
  http2::HttpResponse call_endpoint(const std::string& cert, const Endpoint& e) {
    // Fresh requests per call, so one call's effect (approve, cancel) does not leak into the next.
    const std::string pending = create(kCertA);
    const std::string approved = create_approved();
    std::string path = e.path;
    if (auto p = path.find("{pending}"); p != std::string::npos) path.replace(p, 9, pending);
    if (auto p = path.find("{approved}"); p != std::string::npos) path.replace(p, 10, approved);
    return call(cert, e.method, path, e.body == "BODY" ? request_body() : e.body);
  }
};

TEST_F(AuthorizationMatrixTest, EveryEndpointForEveryRole) {
  for (const auto& [who, row] : expectations()) {
    for (const auto& e : endpoints()) {
      auto r = call_endpoint(certs().at(who), e);
      if (r.stream) drain(r);
      EXPECT_EQ(r.status, row.at(e.name)) << who << " " << e.name << ": " << r.body;
    }
  }
}

TEST_F(AuthorizationMatrixTest, UnidentifiedCertificatesGet403AndNothingElse) {
  const std::map<std::string, std::string> nobody = {{"unknown_certificate", kCertUnknown},
                                                     {"revoked_officer", kCertRevoked},
                                                     {"expired_officer", kCertExpired},
                                                     {"no_certificate", ""}};
  const int queries_before = queries_;
  for (const auto& [reason, cert] : nobody) {
    const auto before = journal_entries("authentication_failure").size();
    for (const auto& e : endpoints()) {
      auto r = call_endpoint(cert, e);
      EXPECT_EQ(r.status, 403) << reason << " " << e.name;
      EXPECT_FALSE(r.stream);
      Json j = json_of(r);
      // Only type, title, status: no hint whether the certificate is unknown, revoked or expired.
      EXPECT_EQ(j.size(), 3u) << r.body;
      EXPECT_FALSE(j.contains("detail"));
    }
    auto failures = journal_entries("authentication_failure");
    ASSERT_EQ(failures.size(), before + endpoints().size()) << reason;
    EXPECT_EQ(failures.back()["fields"]["reason"],
              reason == "no_certificate" ? "unknown_certificate" : reason);
  }
  EXPECT_EQ(queries_, queries_before);
  EXPECT_TRUE(journal_entries("result_delivered").size() == 0u);
}

TEST_F(ApiTest, AuthenticationFailuresAreRateLimitedInTheJournal) {
  options().auth_failures_per_minute = 3;
  open_api();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(kCertUnknown, "GET", "/v1/requests").status, 403);
  EXPECT_EQ(journal_entries("authentication_failure").size(), 3u);
  now_ += 61 * kNsPerSecond;
  EXPECT_EQ(call(kCertUnknown, "GET", "/v1/requests").status, 403);
  auto f = journal_entries("authentication_failure");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f.back()["fields"]["suppressed_before"], 2);
}

TEST_F(ApiTest, OfficersReloadRevokesAndIsJournaled) {
  const std::string id = create_approved();
  std::string revoked = officers_json();
  const std::string needle = R"("certificate":{"sha256":")" + kCertA + R"("})";
  revoked.replace(revoked.find(needle), needle.size(), needle + R"(,"revoked":true)");
  write_officers(revoked);
  ASSERT_TRUE(api_->reload_officers());
  EXPECT_EQ(call(kCertA, "GET", "/v1/requests/" + id + "/results").status, 403);
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests/" + id).status, 200);

  write_officers("{ not json");
  auto bad = api_->reload_officers();
  ASSERT_FALSE(bad);
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests/" + id).status, 200);  // old directory kept
  auto reloads = journal_entries("officers_reloaded");
  ASSERT_EQ(reloads.size(), 2u);
  EXPECT_EQ(reloads[0]["fields"]["ok"], true);
  EXPECT_EQ(reloads[1]["fields"]["ok"], false);
}

TEST_F(ApiTest, ExpiryOfAnOfficerTakesEffectWithTime) {
  std::string json = officers_json();
  const std::string needle = R"("certificate":{"sha256":")" + kCertB + R"("})";
  json.replace(json.find(needle), needle.size(), needle + R"(,"expires":"2026-11-21T00:00:00Z")");
  write_officers(json);
  ASSERT_TRUE(api_->reload_officers());
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests").status, 200);
  now_ += 2 * kNsPerDay;
  EXPECT_EQ(call(kCertB, "GET", "/v1/requests").status, 403);
  EXPECT_EQ(journal_entries("authentication_failure").back()["fields"]["reason"],
            "expired_officer");
}

}  // namespace
}  // namespace conntrail::agent::testing
