// The lawful query API end to end through the real conntrail-agent and real clients
// (issue 5, "Tests"): the demo's PKI plus a few more client certificates made here with
// `openssl`, an officers file written here from their SHA-256 fingerprints, the demo capture
// retimed to the last minutes, and `curl --http2` with client certificates for every call.
//
//   * The authorization matrix: every endpoint × every identity — a requester-only officer,
//     an approver-only officer of the same agency, an approver of another agency, the auditor,
//     a valid certificate in no officers file (403), an officer whose entry has expired (403),
//     one marked revoked in the officers file (403), the CRL-revoked certificate and no
//     certificate at all (no TLS session, so no HTTP status) — with exact status codes.
//   * No flow record ever appears in a body that one officer, or officers of one role, could
//     obtain alone: records come only from /results of a request one officer made and
//     another approved.
//   * Audit tampering through the real agent: stop it, change one journal line, and
//     `conntrail audit verify --data-dir` names that line; the agent refuses to start on the
//     tampered journal and says why.
//   * python3-h2 clients holding real officers' certificates misbehave (rapid reset, header
//     flood, an oversized POST /v1/requests body → 413, a reader that stalls a results
//     stream) while a second officer's curl is served, results included; the stalled
//     delivery is closed and journaled as unfinished.
//   * nghttp (nghttp2-client) fetches /v1/status with a client certificate.
// Nothing here asserts timing: every wait is bounded and fails with what it saw last.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/agent_harness.h"
#include "tests/integration/demo_agent_fixture.h"

namespace conntrail {
namespace {

using namespace integration;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kSelectorIp = "100.64.0.10";   // the demo subscriber

// A flow record, in any of the two result formats, carries these; no other body does.
bool holds_flow_record(const std::string& body) {
  return body.find("community_id") != std::string::npos ||
         body.find("\"src_ip\"") != std::string::npos || body.find("src_ip,") != std::string::npos;
}

// The identities of the matrix. `cert` names files in the PKI directory ("" = none).
struct Identity {
  std::string name;
  std::string cert;
};
const Identity kRequester{"requester-only", "officer-a"};
const Identity kApprover{"approver-only", "officer-b"};
const Identity kOtherApprover{"approver-other-agency", "other-approver"};
const Identity kAuditor{"auditor", "auditor"};
const Identity kRequester2{"second requester-only", "requester-2"};
const Identity kApprover2{"second approver-only", "approver-2"};
const Identity kStranger{"valid cert, not an officer", "stranger"};
const Identity kExpired{"expired officer", "expired-officer"};
const Identity kFileRevoked{"officer revoked in the officers file", "file-revoked"};
const Identity kCrlRevoked{"CRL-revoked certificate", "revoked"};
const Identity kNoCert{"no certificate", ""};

class LawfulApiTest : public DemoAgentTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(make_dir_and_pki("ct-law"));
    for (const char* name :
         {"other-approver", "requester-2", "approver-2", "expired-officer", "file-revoked"}) {
      make_client_cert(name);
    }
    ASSERT_NO_FATAL_FAILURE(write_officers());
    ASSERT_NO_FATAL_FAILURE(retime_capture());
    ASSERT_NO_FATAL_FAILURE(write_config(
        "requests_per_minute = 100000\nmax_request_body = 65536\nidle_timeout = 2s\n"
        "max_resets_per_window = 100"));
    open_notify_socket();
  }

  // A client certificate of the test CA, as scripts/make-test-pki.sh makes them.
  void make_client_cert(const std::string& name) {
    const std::string p = (pki_ / name).string();
    const std::string ca = (pki_ / "ca").string();
    std::ofstream(p + ".ext") << "basicConstraints=critical,CA:FALSE\n"
                                 "keyUsage=critical,digitalSignature\n"
                                 "extendedKeyUsage=clientAuth\n";
    const std::string cmd =
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + p +
        ".key 2>/dev/null && openssl req -new -key " + p + ".key -subj '/C=DE/O=Test/CN=" + name +
        "' -out " + p + ".csr && openssl x509 -req -in " + p + ".csr -CA " + ca + ".crt -CAkey " +
        ca + ".key -sha256 -days 30 -set_serial 0x$(openssl rand -hex 16) -extfile " + p +
        ".ext -out " + p + ".crt 2>/dev/null";
    ASSERT_EQ(run(cmd).exit_code, 0) << cmd;
  }

  std::string fingerprint(const std::string& cert) {
    const auto r = run("openssl x509 -in " + (pki_ / (cert + ".crt")).string() +
                       " -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'");
    EXPECT_EQ(r.exit_code, 0);
    auto fp = r.out;
    while (!fp.empty() && fp.back() == '\n') fp.pop_back();
    EXPECT_EQ(fp.size(), 64u) << fp;
    return fp;
  }

  void write_officers() {
    auto officer = [&](const std::string& id, const std::string& agency, Json roles) {
      return Json{{"id", id},
                  {"name", "Officer " + id},
                  {"agency", agency},
                  {"roles", std::move(roles)},
                  {"certificate", {{"sha256", fingerprint(id)}}}};
    };
    Json officers = Json::array();
    officers.push_back(officer("officer-a", "police", {"requester"}));
    officers.push_back(officer("officer-b", "police", {"approver"}));
    officers.push_back(officer("requester-2", "police", {"requester"}));
    officers.push_back(officer("approver-2", "police", {"approver"}));
    officers.push_back(officer("other-approver", "customs", {"approver"}));
    officers.push_back(officer("auditor", "oversight", {"auditor"}));
    Json expired = officer("expired-officer", "police", {"requester", "approver", "auditor"});
    expired["expires"] = "2020-01-01T00:00:00Z";
    officers.push_back(expired);
    Json revoked = officer("file-revoked", "police", {"requester", "approver", "auditor"});
    revoked["revoked"] = true;
    officers.push_back(revoked);
    // The CRL-revoked certificate is listed as a full officer: only TLS may stop it.
    officers.push_back(officer("revoked", "police", {"requester", "approver", "auditor"}));
    std::ofstream(dir_ / "officers.json") << Json{{"officers", officers}}.dump(2);
  }

  void stop_agent() {
    ASSERT_EQ(::kill(agent_, SIGTERM), 0);
    ASSERT_EQ(await_exit(agent_), 0) << slurp(log_);
  }

  // Waits (bounded) until the agent has stored the whole demo capture.
  void await_capture_stored() {
    const auto end = std::chrono::steady_clock::now() + 120s;
    while (slurp(log_).find("capture: " + pcap_.string() + " consumed:") == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), end) << slurp(log_);
      std::this_thread::sleep_for(100ms);
    }
    const auto expected = run(kTool + " flows --pcap " + pcap_.string() +
                              " --subscriber-prefix 100.64.0.0/10"
                              " --subscriber-prefix 2001:db8:100::/40 | tail -n +2 | wc -l");
    const auto want = std::stoull(expected.out);
    ASSERT_GT(want, 100u);
    std::uint64_t stored = 0;
    const auto stored_by = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < stored_by) {
      const auto r = call(kAuditor, "GET", "/v1/status");
      const Json j = Json::parse(r.body, nullptr, false);
      if (r.status == 200 && j.is_object() && j["flows_stored"].is_number_unsigned()) {
        stored = j["flows_stored"].get<std::uint64_t>();
        if (stored >= want) return;
      }
      std::this_thread::sleep_for(500ms);
    }
    FAIL() << "stored " << stored << " of " << want << " flows";
  }

  struct Reply {
    int curl_exit = -1;
    int status = 0;  // 0: no HTTP exchange
    std::string body;
  };

  Reply call(const Identity& who, const std::string& method, const std::string& path,
             const std::string& body = "", const std::string& accept = "") {
    std::string cmd = "curl -sS --max-time 30 --http2 --cacert " + (pki_ / "ca.crt").string();
    if (!accept.empty()) cmd += " -H 'accept: " + accept + "'";
    if (!who.cert.empty()) {
      cmd += " --cert " + (pki_ / (who.cert + ".crt")).string() + " --key " +
             (pki_ / (who.cert + ".key")).string();
    }
    cmd += " -X " + method;
    if (!body.empty()) {
      const fs::path file = dir_ / "body.json";
      std::ofstream(file) << body;
      cmd += " -H 'content-type: application/json' --data-binary @" + file.string();
    }
    cmd += " -w '\\n%{http_code} %{http_version}' 'https://127.0.0.1:" + std::to_string(port_) +
           path + "' 2>/dev/null";
    const auto r = run(cmd);
    Reply reply;
    reply.curl_exit = r.exit_code;
    const auto nl = r.out.rfind('\n');
    const std::string tail = nl == std::string::npos ? r.out : r.out.substr(nl + 1);
    reply.body = nl == std::string::npos ? std::string() : r.out.substr(0, nl);
    const auto space = tail.find(' ');
    reply.status = std::atoi(tail.substr(0, space).c_str());
    if (reply.status != 0 && space != std::string::npos) {
      EXPECT_EQ(tail.substr(space + 1), "2") << "not HTTP/2: " << cmd;
    }
    seen_.push_back({who.name, method + " " + path, reply.status, reply.body});
    return reply;
  }

  // One call and its expected status; `what` says which matrix cell it is.
  void expect(const Identity& who, const std::string& method, const std::string& path, int want,
              const std::string& body = "") {
    const auto r = call(who, method, path, body);
    EXPECT_EQ(r.status, want) << who.name << ": " << method << " " << path << " -> " << r.body;
    if (want == 0) {
      EXPECT_NE(r.curl_exit, 0) << who.name << " completed a TLS session";
    }
    if (want == 403 && r.status == 403) {
      // RFC 9457, and for those who are not current officers: nothing else.
      const Json j = Json::parse(r.body, nullptr, false);
      EXPECT_TRUE(j.is_object() && j["status"] == 403) << r.body;
    }
  }

  std::string new_request(const Identity& who = kRequester) {
    const auto r = call(who, "POST", "/v1/requests", request_body());
    EXPECT_EQ(r.status, 201) << r.body;
    const Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j["id"].is_string()) return "r-0000000000000000";
    EXPECT_EQ(j["state"], "awaiting_approval");
    return j["id"];
  }

  std::string request_body() const {
    const std::time_t now = std::time(nullptr);
    return Json{{"case_reference", "C-17"},
                {"legal_basis", "integration test"},
                {"warrant_reference", "W-9"},
                {"justification", "authorization matrix"},
                {"selectors", Json::array({{{"ip", kSelectorIp}}})},
                {"from", rfc3339(now - 3 * 3600)},
                {"to", rfc3339(now)},
                {"categories", Json::array({"flows"})}}
        .dump();
  }

  struct Seen {
    std::string who, what;
    int status;
    std::string body;
  };

  std::vector<Seen> seen_;
};

TEST_F(LawfulApiTest, AuthorizationMatrixAndNoRecordWithoutTwoOfficers) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());
  await_capture_stored();
  ASSERT_FALSE(HasFatalFailure());

  // Those who are not current officers: 403 for every endpoint (and nothing filed); those
  // without a valid certificate: no TLS session, so no status at all.
  const std::string pending = new_request();
  const std::string p = "/v1/requests/" + pending;
  const std::vector<std::pair<std::string, std::string>> endpoints = {
      {"POST", "/v1/requests"},    {"GET", "/v1/requests"},   {"GET", p},
      {"POST", p + "/approve"},    {"POST", p + "/reject"},   {"POST", p + "/cancel"},
      {"GET", p + "/results"},     {"GET", p + "/manifest"},  {"GET", "/v1/audit"},
      {"GET", "/v1/audit/verify"}, {"GET", "/v1/statistics"}, {"GET", p + "/results/flows"}};
  for (const auto& [method, path] : endpoints) {
    const std::string body = path == "/v1/requests" && method == "POST" ? request_body() : "";
    for (const Identity* who : {&kStranger, &kExpired, &kFileRevoked}) {
      expect(*who, method, path, 403, body);
    }
    for (const Identity* who : {&kCrlRevoked, &kNoCert}) expect(*who, method, path, 0, body);
  }

  // --- the pending request (made by the requester-only officer) ---------------------------
  // POST /v1/requests: the requester role only.
  expect(kApprover, "POST", "/v1/requests", 403, request_body());
  expect(kOtherApprover, "POST", "/v1/requests", 403, request_body());
  expect(kAuditor, "POST", "/v1/requests", 403, request_body());
  // GET /v1/requests: officers of the agency see it; another agency sees an empty list.
  for (const Identity* who : {&kRequester, &kApprover, &kRequester2, &kApprover2}) {
    const auto r = call(*who, "GET", "/v1/requests");
    EXPECT_EQ(r.status, 200) << who->name << ": " << r.body;
    EXPECT_NE(r.body.find(pending), std::string::npos) << who->name << ": " << r.body;
  }
  {
    const auto r = call(kOtherApprover, "GET", "/v1/requests");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find(pending), std::string::npos) << "another agency's request leaked";
    EXPECT_EQ(Json::parse(r.body, nullptr, false)["total"], 0) << r.body;
  }
  expect(kAuditor, "GET", "/v1/requests", 403);
  // GET /v1/requests/{id}
  expect(kRequester, "GET", p, 200);
  expect(kApprover, "GET", p, 200);
  expect(kOtherApprover, "GET", p, 404);
  expect(kAuditor, "GET", p, 403);
  // approve / reject: an approver of the agency only; never the requester.
  for (const char* action : {"/approve", "/reject"}) {
    expect(kRequester, "POST", p + action, 403);
    expect(kRequester2, "POST", p + action, 403);
    expect(kOtherApprover, "POST", p + action, 404);
    expect(kAuditor, "POST", p + action, 403);
  }
  // cancel: its requester only.
  expect(kApprover, "POST", p + "/cancel", 403);
  expect(kRequester2, "POST", p + "/cancel", 403);
  expect(kOtherApprover, "POST", p + "/cancel", 403);
  expect(kAuditor, "POST", p + "/cancel", 403);
  // results before approval: 409 for its requester, 403 for officers not on it.
  expect(kRequester, "GET", p + "/results", 409);
  expect(kApprover, "GET", p + "/results", 403);
  expect(kRequester2, "GET", p + "/results", 403);
  expect(kOtherApprover, "GET", p + "/results", 404);
  expect(kAuditor, "GET", p + "/results", 403);
  // The same for a category named explicitly.
  expect(kRequester, "GET", p + "/results/flows", 409);
  expect(kApprover, "GET", p + "/results/flows", 403);
  expect(kRequester2, "GET", p + "/results/flows", 403);
  expect(kOtherApprover, "GET", p + "/results/flows", 404);
  expect(kAuditor, "GET", p + "/results/flows", 403);
  // manifest: officers on the request.
  expect(kRequester, "GET", p + "/manifest", 200);
  expect(kApprover, "GET", p + "/manifest", 403);
  expect(kOtherApprover, "GET", p + "/manifest", 404);
  expect(kAuditor, "GET", p + "/manifest", 403);
  // The auditor's endpoints.
  for (const char* path : {"/v1/audit", "/v1/audit/verify", "/v1/statistics"}) {
    for (const Identity* who : {&kRequester, &kApprover, &kOtherApprover}) {
      expect(*who, "GET", path, 403);
    }
    expect(kAuditor, "GET", path, 200);
  }

  // --- state changes: each on its own request -------------------------------------------
  const std::string rejected = "/v1/requests/" + new_request();
  expect(kApprover, "POST", rejected + "/reject", 200, R"({"reason":"no legal basis"})");
  expect(kApprover2, "POST", rejected + "/approve", 409);
  expect(kRequester, "GET", rejected + "/results", 409);

  const std::string cancelled = "/v1/requests/" + new_request();
  expect(kRequester, "POST", cancelled + "/cancel", 200);
  expect(kApprover, "POST", cancelled + "/approve", 409);
  expect(kRequester, "GET", cancelled + "/results", 409);

  // Two requesters together: the second cannot approve the first's request.
  const std::string two_requesters = "/v1/requests/" + new_request(kRequester2);
  expect(kRequester, "POST", two_requesters + "/approve", 403);
  expect(kRequester2, "GET", two_requesters + "/results", 409);

  // The two-officer path: a requester files, an approver of the agency approves.
  expect(kApprover, "POST", p + "/approve", 200);
  expect(kApprover, "POST", p + "/approve", 409);   // once
  expect(kApprover2, "POST", p + "/approve", 409);  // already approved
  expect(kApprover, "POST", p + "/cancel", 403);
  const auto delivered = call(kRequester, "GET", p + "/results");
  ASSERT_EQ(delivered.status, 200) << delivered.body;
  const auto rows = lines(delivered.body);
  ASSERT_FALSE(rows.empty()) << "the demo subscriber has flows";
  for (const auto& row : rows) {
    const Json j = Json::parse(row, nullptr, false);
    ASSERT_TRUE(j.is_object()) << row;
    EXPECT_TRUE(j["src_ip"] == kSelectorIp || j["dst_ip"] == kSelectorIp) << row;
  }
  expect(kApprover, "GET", p + "/results", 200);  // an approver of it is on it
  expect(kApprover2, "GET", p + "/results", 403);
  expect(kRequester2, "GET", p + "/results", 403);
  expect(kOtherApprover, "GET", p + "/results", 404);
  expect(kAuditor, "GET", p + "/results", 403);
  expect(kApprover, "GET", p + "/manifest", 200);
  expect(kApprover2, "GET", p + "/manifest", 403);
  {
    const auto m = call(kRequester, "GET", p + "/manifest");
    ASSERT_EQ(m.status, 200) << m.body;
    const Json j = Json::parse(m.body, nullptr, false);
    EXPECT_EQ(j["last_delivery"]["records"], rows.size()) << m.body;
  }
  // Not current officers still get nothing, even for an approved request.
  for (const Identity* who : {&kStranger, &kExpired, &kFileRevoked}) {
    expect(*who, "GET", p + "/results", 403);
  }
  for (const Identity* who : {&kCrlRevoked, &kNoCert}) expect(*who, "GET", p + "/results", 0);
  // Cancelled after approval: no more records, for anyone.
  expect(kRequester, "POST", p + "/cancel", 200);
  expect(kRequester, "GET", p + "/results", 409);
  expect(kApprover, "GET", p + "/results", 409);

  // Records appeared only in /results of the request one officer made and another approved.
  std::size_t with_records = 0;
  for (const auto& s : seen_) {
    if (!holds_flow_record(s.body)) continue;
    ++with_records;
    EXPECT_EQ(s.what, "GET " + p + "/results") << s.who << " got records from " << s.what;
    EXPECT_TRUE(s.who == kRequester.name || s.who == kApprover.name) << s.who;
    EXPECT_EQ(s.status, 200);
  }
  EXPECT_EQ(with_records, 2u);

  // The refusals of identified officers and the unknown certificates are journaled, and the
  // chain still verifies.
  const auto verify = call(kAuditor, "GET", "/v1/audit/verify");
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(Json::parse(verify.body, nullptr, false)["ok"], true) << verify.body;
  const auto audit = call(kAuditor, "GET", "/v1/audit?limit=500");
  ASSERT_EQ(audit.status, 200);
  std::set<std::string> types;
  std::set<std::string> auth_reasons;
  const Json journal = Json::parse(audit.body);
  for (const auto& e : journal["entries"]) {
    types.insert(e["type"].get<std::string>());
    if (e["type"] == "authentication_failure") auth_reasons.insert(e["fields"]["reason"]);
  }
  for (const char* t : {"service_started", "request_created", "request_approved",
                        "request_rejected", "request_cancelled", "result_started",
                        "result_delivered", "authentication_failure", "authorization_failure"}) {
    EXPECT_TRUE(types.contains(t)) << "no " << t << " in the journal";
  }
  EXPECT_EQ(auth_reasons,
            (std::set<std::string>{"unknown_certificate", "expired_officer", "revoked_officer"}));
  const auto stats = call(kAuditor, "GET", "/v1/statistics");
  ASSERT_EQ(stats.status, 200);
  EXPECT_FALSE(holds_flow_record(stats.body));
  EXPECT_EQ(stats.body.find("officer-a"), std::string::npos) << "statistics name an officer";
  EXPECT_EQ(stats.body.find(kSelectorIp), std::string::npos) << "statistics name a selector";
  stop_agent();
}

// Issue 6 through the lawful API: the subscriber-sessions category and the attribution
// request, on the demo capture's RADIUS and DHCP sessions as the real agent stored them,
// checked against what the operator tool decodes (`conntrail sessions --pcap`) and answers
// (`conntrail attribute --data-dir`) for the same data.
TEST_F(LawfulApiTest, SubscriberSessionsAndAttributionThroughTheRealAgent) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());
  await_capture_stored();
  ASSERT_FALSE(HasFatalFailure());

  // What the operator tool decodes from the same capture.
  const auto decoded = run(kTool + " sessions --pcap " + pcap_.string() + " --format ndjson");
  ASSERT_EQ(decoded.exit_code, 0);
  std::vector<Json> sessions;
  for (const auto& line : lines(decoded.out)) sessions.push_back(Json::parse(line));
  // An open RADIUS session on an IPv4 address, a stopped one with its delegated prefix,
  // and a DHCP lease.
  const Json* open_radius = nullptr;
  const Json* stopped_radius = nullptr;
  const Json* stopped_prefix = nullptr;
  const Json* dhcp = nullptr;
  for (const auto& j : sessions) {
    const bool v4 = j["address"].get<std::string>().find(':') == std::string::npos;
    if (j["source"] == "radius" && v4 && j["end_ts"].is_null() && !open_radius) open_radius = &j;
    if (j["source"] == "radius" && v4 && !j["end_ts"].is_null() && !stopped_radius) {
      stopped_radius = &j;
    }
    if (j["source"] == "dhcp" && !dhcp) dhcp = &j;
  }
  ASSERT_TRUE(open_radius && stopped_radius && dhcp) << decoded.out;
  for (const auto& j : sessions) {
    if (j["source"] == "radius" && j["session_id"] == (*stopped_radius)["session_id"] &&
        j["address"].get<std::string>().find(':') != std::string::npos) {
      stopped_prefix = &j;
    }
  }
  ASSERT_TRUE(stopped_prefix) << "the stopped RADIUS session has no delegated prefix";
  const std::string radius_ip = (*open_radius)["address"];
  const std::string subscriber = (*open_radius)["subscriber"];

  // --- subscriber-sessions, with flows, in one request --------------------------------
  const std::time_t now = std::time(nullptr);
  const Json selectors = Json::array({{{"ip", radius_ip}},
                                      {{"subscriber", (*dhcp)["subscriber"]}},
                                      {{"prefix", (*stopped_prefix)["address"]}}});
  const std::string body = Json{{"case_reference", "C-21"},
                                {"legal_basis", "integration test"},
                                {"justification", "sessions of three targets"},
                                {"selectors", selectors},
                                {"from", rfc3339(now - 3 * 3600)},
                                {"to", rfc3339(now)},
                                {"categories", Json::array({"flows", "subscriber-sessions"})}}
                               .dump();
  const auto filed = call(kRequester, "POST", "/v1/requests", body);
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string p = "/v1/requests/" + Json::parse(filed.body)["id"].get<std::string>();
  expect(kRequester, "GET", p + "/results/subscriber-sessions", 409);
  expect(kApprover, "GET", p + "/results/subscriber-sessions", 403);
  expect(kOtherApprover, "GET", p + "/results/subscriber-sessions", 404);
  expect(kAuditor, "GET", p + "/results/subscriber-sessions", 403);
  expect(kApprover, "POST", p + "/approve", 200);
  expect(kApprover2, "GET", p + "/results/subscriber-sessions", 403);  // not on it
  expect(kRequester, "GET", p + "/results/attribution", 404);          // not asked

  // Expected: the decoded sessions matching a selector (the address, the subscriber, the
  // overlapping prefix) — all of them lie inside the window.
  std::multiset<std::string> want;
  for (const auto& j : sessions) {
    if (j["address"] == radius_ip || j["subscriber"] == (*dhcp)["subscriber"] ||
        j["address"] == (*stopped_prefix)["address"]) {
      want.insert(j.dump());
    }
  }
  ASSERT_GE(want.size(), 3u);
  const auto got = call(kRequester, "GET", p + "/results/subscriber-sessions");
  ASSERT_EQ(got.status, 200) << got.body;
  std::multiset<std::string> have;
  for (const auto& line : lines(got.body)) have.insert(Json::parse(line).dump());
  EXPECT_EQ(have, want) << got.body << "\nwanted from `conntrail sessions`:\n" << decoded.out;

  // CSV: the `conntrail sessions --format csv` header and rows.
  const auto csv = call(kApprover, "GET", p + "/results/subscriber-sessions", "", "text/csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  const auto decoded_csv = run(kTool + " sessions --pcap " + pcap_.string() + " --format csv");
  const auto csv_rows = lines(csv.body);
  const auto decoded_rows = lines(decoded_csv.out);
  ASSERT_FALSE(csv_rows.empty());
  EXPECT_EQ(csv_rows[0], decoded_rows.at(0));
  for (std::size_t i = 1; i < csv_rows.size(); ++i) {
    EXPECT_NE(std::find(decoded_rows.begin(), decoded_rows.end(), csv_rows[i]), decoded_rows.end())
        << csv_rows[i];
  }
  EXPECT_EQ(csv_rows.size(), want.size() + 1);
  // /results still means flows, and the journal and manifest say which category went out.
  const auto flows = call(kRequester, "GET", p + "/results");
  ASSERT_EQ(flows.status, 200);
  EXPECT_TRUE(holds_flow_record(flows.body)) << flows.body;
  const auto manifest = call(kRequester, "GET", p + "/manifest");
  const Json m = Json::parse(manifest.body, nullptr, false);
  EXPECT_EQ(m["categories"]["subscriber-sessions"]["records"], want.size()) << manifest.body;
  EXPECT_EQ(m["categories"]["subscriber-sessions"]["format"], "csv") << manifest.body;
  EXPECT_EQ(m["categories"]["flows"]["finished"], true) << manifest.body;

  // --- attribution: who used the RADIUS address and port at a flow's first packet --------
  const auto flows_out = run(kTool + " flows --pcap " + pcap_.string() + " --format ndjson");
  // "1767225653.250000" → "2026-01-01T00:00:53.250000Z"
  auto epoch_to_rfc3339 = [](const std::string& epoch) {
    const auto dot = epoch.find('.');
    std::string t = rfc3339(static_cast<std::time_t>(std::stoll(epoch.substr(0, dot))));
    if (dot != std::string::npos) t.insert(t.size() - 1, epoch.substr(dot));
    return t;
  };
  std::string port_at;
  unsigned port = 0;
  const double session_start = std::stod((*open_radius)["start_ts"].get<std::string>());
  for (const auto& line : lines(flows_out.out)) {
    const Json f = Json::parse(line);
    if (f["src_ip"] == radius_ip && std::stod(f["first_ts"].get<std::string>()) > session_start) {
      port_at = epoch_to_rfc3339(f["first_ts"]);  // the last one: well inside the session
      port = f["src_port"];
    }
  }
  ASSERT_FALSE(port_at.empty()) << "no flow of " << radius_ip;
  auto attribution = [&](const Json& target) {
    return Json{{"case_reference", "C-22"},
                {"legal_basis", "integration test"},
                {"justification", "who used the address"},
                {"categories", Json::array({"attribution"})},
                {"attribution", target}}
        .dump();
  };
  const auto asked = call(kRequester, "POST", "/v1/requests",
                          attribution({{"ip", radius_ip}, {"port", port}, {"at", port_at}}));
  ASSERT_EQ(asked.status, 201) << asked.body;
  const std::string a = "/v1/requests/" + Json::parse(asked.body)["id"].get<std::string>();
  // One officer alone never gets the answer; another agency does not even see the request.
  expect(kRequester, "GET", a + "/results", 409);
  expect(kRequester, "GET", a + "/results/attribution", 409);
  expect(kRequester2, "POST", a + "/approve", 403);
  expect(kRequester, "POST", a + "/approve", 403);
  expect(kOtherApprover, "POST", a + "/approve", 404);
  expect(kOtherApprover, "GET", a + "/results/attribution", 404);
  expect(kAuditor, "GET", a + "/results/attribution", 403);
  expect(kApprover, "POST", a + "/approve", 200);
  expect(kApprover2, "GET", a + "/results/attribution", 403);
  const auto answered = call(kApprover, "GET", a + "/results/attribution?time_format=rfc3339", "",
                             "application/json");
  ASSERT_EQ(answered.status, 200) << answered.body;
  const Json answer = Json::parse(answered.body, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << answered.body;
  EXPECT_EQ(answer["status"], "unique") << answered.body;
  EXPECT_EQ(answer["subscriber"], subscriber) << answered.body;
  EXPECT_EQ(answer["port_check"], "confirmed") << answered.body;
  EXPECT_FALSE(answer["flows"].empty()) << answered.body;
  ASSERT_FALSE(answer["sessions"].empty());
  EXPECT_EQ(answer["sessions"][0]["session_id"], (*open_radius)["session_id"]);
  // The same answer as the operator tool's on the agent's data directory.
  const auto cli =
      run(kTool + " attribute --data-dir " + data_.string() + " --ip " + radius_ip + " --port " +
          std::to_string(port) + " --at " + port_at + " --format ndjson --time-format rfc3339");
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  const Json cli_answer = Json::parse(cli.out, nullptr, false);
  ASSERT_TRUE(cli_answer.is_object()) << cli.out;
  for (const char* key : {"address", "port", "at", "window_s", "status", "subscriber", "sessions",
                          "previous", "next", "port_check", "flows"}) {
    EXPECT_EQ(answer[key], cli_answer[key]) << key;
  }
  for (const auto& n : cli_answer["notes"]) {
    EXPECT_NE(std::find(answer["notes"].begin(), answer["notes"].end(), n), answer["notes"].end())
        << "the API hides the note: " << n;
  }

  // After the RADIUS Stop of another subscriber: nobody — with the session before the gap.
  const std::string stopped_ip = (*stopped_radius)["address"];
  const auto end_epoch = std::stoll((*stopped_radius)["end_ts"].get<std::string>());
  const auto gap = call(kRequester, "POST", "/v1/requests",
                        attribution({{"ip", stopped_ip}, {"at", rfc3339(end_epoch + 5)}}));
  ASSERT_EQ(gap.status, 201) << gap.body;
  const std::string g = "/v1/requests/" + Json::parse(gap.body)["id"].get<std::string>();
  expect(kApprover, "POST", g + "/approve", 200);
  const auto gap_answer = call(kRequester, "GET", g + "/results");
  ASSERT_EQ(gap_answer.status, 200) << gap_answer.body;
  const Json none = Json::parse(gap_answer.body, nullptr, false);
  EXPECT_EQ(none["status"], "none") << gap_answer.body;
  EXPECT_EQ(none["previous"]["session_id"], (*stopped_radius)["session_id"]) << gap_answer.body;
  EXPECT_EQ(none["port_check"], "not-asked");
  EXPECT_FALSE(none["notes"].empty());

  // Every delivery is journaled with its category; the statistics count the requests.
  const auto audit = call(kAuditor, "GET", "/v1/audit?limit=500");
  ASSERT_EQ(audit.status, 200);
  std::multiset<std::string> categories;
  const Json journal = Json::parse(audit.body);
  for (const auto& e : journal["entries"]) {
    if (e["type"] == "result_delivered") categories.insert(e["fields"]["category"]);
  }
  EXPECT_EQ(categories.count("subscriber-sessions"), 2u);
  EXPECT_EQ(categories.count("flows"), 1u);
  EXPECT_EQ(categories.count("attribution"), 2u);
  const auto stats = call(kAuditor, "GET", "/v1/statistics");
  ASSERT_EQ(stats.status, 200);
  const Json months = Json::parse(stats.body)["months"];
  std::uint64_t made = 0, answered_empty = 0;
  for (const auto& row : months) {
    made += row["requests_made"].get<std::uint64_t>();
    answered_empty += row["answered_empty"].get<std::uint64_t>();
  }
  EXPECT_EQ(made, 3u);
  EXPECT_EQ(answered_empty, 1u);  // the gap
  EXPECT_EQ(stats.body.find(subscriber), std::string::npos) << "statistics name a subscriber";
  const auto verify = call(kAuditor, "GET", "/v1/audit/verify");
  EXPECT_EQ(Json::parse(verify.body, nullptr, false)["ok"], true) << verify.body;
  stop_agent();
}

TEST_F(LawfulApiTest, TamperedJournalIsReportedAndTheAgentRefusesToStart) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());
  const std::string id = new_request();
  expect(kApprover, "POST", "/v1/requests/" + id + "/approve", 200);
  stop_agent();
  ASSERT_FALSE(HasFatalFailure());

  const fs::path journal = data_ / "audit-journal.ndjson";
  const auto before = run(kTool + " audit verify --data-dir " + data_.string() + " 2>&1");
  EXPECT_EQ(before.exit_code, 0) << before.out;

  // Change one field of the request_created entry, leaving its hash as it was.
  auto entries = lines(slurp(journal));
  ASSERT_GE(entries.size(), 3u);
  std::size_t changed_line = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].find("\"request_created\"") == std::string::npos) continue;
    const auto at = entries[i].find("\"C-17\"");
    ASSERT_NE(at, std::string::npos) << entries[i];
    entries[i].replace(at, 6, "\"C-18\"");
    changed_line = i + 1;
    break;
  }
  ASSERT_GT(changed_line, 0u);
  {
    std::ofstream out(journal, std::ios::trunc);
    for (const auto& e : entries) out << e << '\n';
  }
  const auto after = run(kTool + " audit verify --data-dir " + data_.string() + " 2>&1");
  EXPECT_EQ(after.exit_code, 1) << after.out;
  EXPECT_NE(after.out.find("changed"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("line " + std::to_string(changed_line)), std::string::npos) << after.out;
  const auto as_json =
      run(kTool + " audit verify --json --data-dir " + data_.string() + " 2>/dev/null");
  EXPECT_EQ(as_json.exit_code, 1);
  const Json report = Json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << as_json.out;
  EXPECT_EQ(report["ok"], false);
  ASSERT_EQ(report["problems"].size(), 1u) << as_json.out;
  EXPECT_EQ(report["problems"][0]["kind"], "changed") << as_json.out;
  EXPECT_EQ(report["problems"][0]["line"], changed_line) << as_json.out;

  // The agent refuses to serve on a journal it cannot trust, says why, never reports READY.
  const fs::path refused = dir_ / "refused.log";
  second_ = spawn(refused);
  EXPECT_EQ(await_exit(second_), 1);
  const std::string said = slurp(refused);
  EXPECT_NE(said.find("journal"), std::string::npos) << said;
  EXPECT_NE(said.find("conntrail audit verify"), std::string::npos) << said;
  EXPECT_EQ(await_state("READY=1", 1s), "");
}

// tests/agent/daemon_integration_test.cc runs the same attacks against the agent with no
// officers (so they never reach the workflow); here they come from real officers and the
// stalled stream is a results stream of an approved request.
TEST_F(LawfulApiTest, MisbehavingOfficerClientsDoNotStopAnotherOfficer) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());
  await_capture_stored();
  ASSERT_FALSE(HasFatalFailure());
  const std::string id = new_request();
  expect(kApprover, "POST", "/v1/requests/" + id + "/approve", 200);
  const std::string results = "/v1/requests/" + id + "/results";
  const auto reference = call(kApprover, "GET", results);
  ASSERT_EQ(reference.status, 200);
  ASSERT_FALSE(lines(reference.body).empty());

  auto h2client = [&](const std::string& mode, const std::string& extra) {
    return run(kPython + " " + kSource + "/tests/agent/http2_client.py " + mode + " --port " +
               std::to_string(port_) + " --ca " + (pki_ / "ca.crt").string() + " --cert " +
               (pki_ / "officer-a.crt").string() + " --key " + (pki_ / "officer-a.key").string() +
               " " + extra + " 2>&1");
  };
  std::vector<std::future<Command>> attacks;
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("rapid-reset", "--path /v1/requests --count 5000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("header-flood", "--path /v1/requests --count 1000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("post", "--path /v1/requests --body-size 4000000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("slow-reader", "--path " + results + " --window tiny --seconds 5");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("slow-reader", "--path " + results + " --window big --seconds 5");
  }));
  // Meanwhile officer-b is served every time, whole result sets included.
  for (int i = 0; i < 5; ++i) {
    const auto r = call(kApprover, "GET", results);
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    EXPECT_EQ(r.body, reference.body) << "request " << i;
    expect(kApprover, "GET", "/v1/requests/" + id, 200);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(attacks[0].get().out, "goaway=11\n");  // ENHANCE_YOUR_CALM
  const auto flood = attacks[1].get().out;
  EXPECT_TRUE(flood.starts_with("reset=") || flood.starts_with("status=431")) << flood;
  EXPECT_EQ(attacks[2].get().out, "status=413\n");
  EXPECT_EQ(attacks[3].get().out, "closed\n") << "a stalled results stream stays open";
  const auto big = attacks[4].get().out;
  EXPECT_TRUE(big == "closed\n" || big == "open\n") << big;  // small sets fit TCP buffers
  const auto after = call(kApprover, "GET", results);
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, reference.body);

  // Every delivery is journaled; officer-a's stalled one as unfinished.
  bool stalled_journaled = false;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (!stalled_journaled && std::chrono::steady_clock::now() < end) {
    const auto audit = call(kAuditor, "GET", "/v1/audit?limit=500");
    ASSERT_EQ(audit.status, 200);
    const Json journal = Json::parse(audit.body);
    for (const auto& e : journal["entries"]) {
      if (e["type"] == "result_delivered" && e["fields"]["officer"] == "officer-a" &&
          e["fields"]["finished"] == false) {
        stalled_journaled = true;
      }
    }
    if (!stalled_journaled) std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(stalled_journaled) << "the stalled delivery was not journaled as unfinished";
  const auto verify = call(kAuditor, "GET", "/v1/audit/verify");
  EXPECT_EQ(Json::parse(verify.body, nullptr, false)["ok"], true) << verify.body;
  stop_agent();
}

TEST_F(LawfulApiTest, NghttpFetchesStatusWithAClientCertificate) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());
  const std::string url = "https://127.0.0.1:" + std::to_string(port_) + "/v1/status";
  const auto ok = run("nghttp --cert=" + (pki_ / "officer-a.crt").string() +
                      " --key=" + (pki_ / "officer-a.key").string() + " " + url + " 2>/dev/null");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  const Json j = Json::parse(ok.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << ok.out;
  EXPECT_TRUE(j["version"].is_string()) << ok.out;
  // Without a certificate nghttp gets no HTTP/2 session (it still exits 0).
  const auto refused = run("nghttp " + url + " 2>&1");
  EXPECT_NE(refused.out.find("not processed"), std::string::npos) << refused.out;
  EXPECT_EQ(refused.out.find("\"version\""), std::string::npos) << refused.out;
  stop_agent();
}

}  // namespace
}  // namespace conntrail
