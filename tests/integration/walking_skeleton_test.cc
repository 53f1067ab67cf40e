// The walking skeleton end to end, as an operator would run it (issue 2, "Walking skeleton"):
// the demo's own scripts make a test PKI, the officers file and a retimed copy of the bundled
// capture in a temporary directory; the real conntrail-agent runs on a config derived from
// configs/demo.conf (API and metrics on port 0); the test then talks to it only through
// real clients — curl --http2 with client certificates, the `conntrail` operator tool, and
// the sqlite3 command line — and checks that
//   * READY=1 arrives on a NOTIFY_SOCKET the test owns, STOPPING=1 on SIGTERM, exit code 0;
//   * GET /v1/status answers a valid client certificate and no one else (no TLS session
//     without a certificate, or with a revoked one);
//   * the SQLite shards hold exactly the flows `conntrail flows` finds in the same capture;
//   * the lawful workflow (file, 409 before approval, 403 for self-approval, second officer
//     approves, results) delivers exactly the rows a storage query for the same selectors
//     finds, the journal verifies, and a stranger's certificate is refused;
//   * a second agent on the same data directory refuses to start and says why.
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

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
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

// The demo request's selectors (scripts/demo.sh writes the same into var/demo/request.json).
const std::string kSelectorIp = "100.64.0.10";
const std::string kSelectorPrefix = "2001:db8:100:100::/56";

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

// The flow identity and volume columns of a CSV produced by core/flow_format (header first),
// one "proto,src_ip,src_port,dst_ip,dst_port,packets_fwd,packets_rev,bytes_fwd,bytes_rev,
// first_ts,last_ts" string per row, sorted: a multiset comparable across tools.
constexpr std::array<const char*, 11> kCompared = {
    "proto",       "src_ip",    "src_port",  "dst_ip",   "dst_port", "packets_fwd",
    "packets_rev", "bytes_fwd", "bytes_rev", "first_ts", "last_ts"};

std::vector<std::string> flow_multiset(const std::string& csv) {
  auto rows = lines(csv);
  if (rows.empty()) {
    ADD_FAILURE() << "no CSV header";
    return {};
  }
  const auto header = split(rows.front(), ',');
  std::vector<std::size_t> columns;
  for (const char* name : kCompared) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      ADD_FAILURE() << "CSV header lacks " << name << ": " << rows.front();
      return {};
    }
    columns.push_back(static_cast<std::size_t>(it - header.begin()));
  }
  std::vector<std::string> out;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto fields = split(rows[i], ',');
    std::string key;
    for (const auto c : columns) {
      if (c >= fields.size()) {
        ADD_FAILURE() << "short CSV row: " << rows[i];
        return {};
      }
      key += (key.empty() ? "" : ",") + fields[c];
    }
    out.push_back(std::move(key));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class WalkingSkeletonTest : public DemoAgentTest {
 protected:
  void SetUp() override {
    // The demo's own set-up steps (scripts/demo.sh), into the temporary directory.
    ASSERT_NO_FATAL_FAILURE(make_dir_and_pki("ct-skel"));
    ASSERT_EQ(run(kSource + "/scripts/make-demo-officers.sh " + pki_.string() + " " +
                  (dir_ / "officers.json").string() + " >&2")
                  .exit_code,
              0);
    ASSERT_NO_FATAL_FAILURE(retime_capture());
    ASSERT_NO_FATAL_FAILURE(write_config());
    open_notify_socket();
  }

  // curl --http2 as `who` ("" = no client certificate). `out` is the body; status is the
  // HTTP status curl saw ("000" when there was no HTTP exchange at all).
  struct Reply {
    int curl_exit = -1;
    std::string status;
    std::string body;
  };
  Reply call(const std::string& who, const std::string& path, const std::string& extra = "") {
    std::string cmd = "curl -sS --max-time 30 --http2 --cacert " + (pki_ / "ca.crt").string();
    if (!who.empty()) {
      cmd += " --cert " + (pki_ / (who + ".crt")).string() + " --key " +
             (pki_ / (who + ".key")).string();
    }
    cmd += " " + extra +
           " -w '\\n%{http_code} %{http_version}' https://127.0.0.1:" + std::to_string(port_) +
           path + " 2>/dev/null";
    auto r = run(cmd);
    Reply reply;
    reply.curl_exit = r.exit_code;
    const auto nl = r.out.rfind('\n');
    const std::string tail = nl == std::string::npos ? r.out : r.out.substr(nl + 1);
    reply.body = nl == std::string::npos ? std::string() : r.out.substr(0, nl);
    const auto space = tail.find(' ');
    reply.status = tail.substr(0, space);
    if (reply.status != "000" && space != std::string::npos) {
      // Everything the API answers goes over HTTP/2; anything else is a defect.
      EXPECT_EQ(tail.substr(space + 1), "2") << "not HTTP/2: " << cmd;
    }
    return reply;
  }

  // GET /v1/status as `who`. Polling uses the auditor's certificate: the API allows each
  // certificate api.requests_per_minute (60) requests, and the officers' budget is for the
  // workflow.
  std::optional<Json> status_json(const std::string& who = "auditor") {
    const auto r = call(who, "/v1/status");
    if (r.curl_exit != 0 || r.status != "200") return std::nullopt;
    return Json::parse(r.body, nullptr, false);
  }

  // Waits (bounded) until the agent logs that it consumed the capture file, then polls
  // GET /v1/status until flows_stored reaches `expected` (the status figures are refreshed
  // every few seconds); fails if it ever exceeds it. Returns the last status seen.
  Json await_flows_stored(std::uint64_t expected) {
    Json last;
    const auto consumed_by = std::chrono::steady_clock::now() + 120s;
    while (slurp(log_).find("capture: " + pcap_.string() + " consumed:") == std::string::npos) {
      if (std::chrono::steady_clock::now() > consumed_by ||
          ::waitpid(agent_, nullptr, WNOHANG) == agent_) {
        ADD_FAILURE() << "the agent did not consume the capture; log:\n" << slurp(log_);
        return last;
      }
      std::this_thread::sleep_for(100ms);
    }
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < end) {
      if (auto j = status_json(); j && !j->is_discarded()) {
        last = *j;
        if (last["flows_stored"].is_number_unsigned()) {
          const auto stored = last["flows_stored"].get<std::uint64_t>();
          EXPECT_LE(stored, expected) << "more flows stored than the capture holds";
          if (stored >= expected) return last;
        }
      }
      if (::waitpid(agent_, nullptr, WNOHANG) == agent_) {
        agent_ = -1;
        ADD_FAILURE() << "the agent exited; log:\n" << slurp(log_);
        return last;
      }
      std::this_thread::sleep_for(500ms);
    }
    ADD_FAILURE() << "flows_stored did not reach " << expected << "; last status " << last.dump()
                  << "\nagent log:\n"
                  << slurp(log_);
    return last;
  }

  // `conntrail query` over the data directory (read-only beside the running agent).
  Command query(const std::string& selector, const std::string& from, const std::string& to,
                const std::string& format = "csv") {
    return run(kTool + " query --data-dir " + data_.string() + " " + selector + " --from " + from +
               " --to " + to + " --format " + format);
  }

  // Flow rows in every shard file, counted with the sqlite3 command line from the tables
  // storage/shard/schema.h names: flow_blocks.rows (open form), blocks.rows (sealed form).
  // Sealing renames the sealed file into place a moment before it deletes the open one
  // (storage/seal/seal_shard.h), and merging a finished day (near midnight UTC the demo's
  // first hours belong to yesterday) renames the day shard into place before it deletes the
  // hourly ones (storage/seal/merge_day.h); while a period has both forms, or a day has its
  // day shard and others, the count waits for the step to finish (bounded), so a record is
  // never counted twice.
  std::uint64_t rows_in_shard_files(std::size_t* files) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::map<std::string, std::vector<fs::path>> by_period;
      std::map<fs::path, std::pair<int, bool>> by_day;  // files, has a day shard
      for (const auto& e : fs::recursive_directory_iterator(data_)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file() || !name.ends_with(".sqlite")) continue;
        by_period[name.substr(0, name.find('.'))].push_back(e.path());
        auto& day = by_day[e.path().parent_path()];
        ++day.first;
        day.second |= name.find("_PT24H.") != std::string::npos;
      }
      const bool sealing =
          std::any_of(by_period.begin(), by_period.end(),
                      [](const auto& kv) { return kv.second.size() > 1; }) ||
          std::any_of(by_day.begin(), by_day.end(),
                      [](const auto& kv) { return kv.second.second && kv.second.first > 1; });
      if (sealing) {
        std::this_thread::sleep_for(100ms);
        continue;
      }
      std::uint64_t total = 0;
      *files = by_period.size();
      for (const auto& [period, paths] : by_period) {
        const auto& path = paths.front();
        const bool sealed = path.filename().string().ends_with(".sealed.sqlite");
        const auto r =
            run("sqlite3 -readonly " + path.string() + " 'SELECT coalesce(sum(rows), 0) FROM " +
                (sealed ? "blocks" : "flow_blocks") + "'");
        EXPECT_EQ(r.exit_code, 0) << path;
        total += std::stoull(r.out.empty() ? "0" : r.out);
      }
      return total;
    }
    ADD_FAILURE() << "a shard stayed in both forms";
    return 0;
  }

};

TEST_F(WalkingSkeletonTest, StoresEveryFlowOfTheDemoCaptureAndServesTheLawfulWorkflow) {
  // The expectation comes from the offline tool on the very same file, with the demo
  // config's subscriber prefixes (they decide the subscriber side of each flow).
  const auto flows = run(kTool + " flows --pcap " + pcap_.string() +
                         " --subscriber-prefix 100.64.0.0/10"
                         " --subscriber-prefix 2001:db8:100::/40");
  ASSERT_EQ(flows.exit_code, 0);
  const auto expected = flow_multiset(flows.out);
  ASSERT_GT(expected.size(), 100u) << "the demo capture should hold a few hundred flows";

  start_agent();
  ASSERT_FALSE(HasFatalFailure());

  // --- GET /v1/status: valid certificates only ---------------------------------------
  const auto first = status_json("officer-a");
  ASSERT_TRUE(first && !first->is_discarded());
  EXPECT_TRUE((*first)["version"].is_string()) << first->dump();
  EXPECT_FALSE((*first)["version"].get<std::string>().empty());
  EXPECT_TRUE((*first)["uptime_seconds"].is_number_integer()) << first->dump();
  EXPECT_TRUE((*first)["flows_stored"].is_number_unsigned()) << first->dump();
  EXPECT_TRUE((*first)["shards"].is_number_unsigned()) << first->dump();
  for (const char* who : {"", "revoked", "untrusted"}) {
    const auto r = call(who, "/v1/status");
    EXPECT_NE(r.curl_exit, 0) << "client '" << who << "' completed a TLS session";
    EXPECT_EQ(r.status, "000") << "client '" << who << "' got an HTTP answer: " << r.body;
  }

  // --- the capture lands in the shards ------------------------------------------------
  const auto stored = await_flows_stored(expected.size());
  ASSERT_EQ(stored["flows_stored"], expected.size()) << stored.dump();
  EXPECT_GE(stored["shards"].get<std::uint64_t>(), 1u);

  std::size_t shard_files = 0;
  EXPECT_EQ(rows_in_shard_files(&shard_files), expected.size());
  EXPECT_GE(shard_files, 1u);
  // Read again after counting: near midnight UTC a day merge may have replaced
  // yesterday's hourly files by one day shard since the first reading.
  const auto restated = await_flows_stored(expected.size());
  EXPECT_EQ(shard_files, restated["shards"].get<std::uint64_t>());

  // The operator's view: Prometheus metrics of the capture, by interface (`file` for an
  // offline capture), and `conntrail status`, agree with what was stored.
  {
    std::smatch m;
    const std::string log = slurp(log_);
    ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics on port (\d+))"))) << log;
    const auto metrics = run("curl -s http://127.0.0.1:" + m[1].str() + "/metrics");
    ASSERT_EQ(metrics.exit_code, 0);
    EXPECT_NE(metrics.out.find("conntrail_flows_exported_total{interface=\"file\"} " +
                               std::to_string(expected.size()) + "\n"),
              std::string::npos)
        << metrics.out;
    EXPECT_NE(metrics.out.find("conntrail_capture_decode_errors_total{interface=\"file\",kind="),
              std::string::npos);
    EXPECT_NE(metrics.out.find("conntrail_storage_disk_free_bytes "), std::string::npos);
    const auto status = run(kTool + " status --config " + config_.string());
    EXPECT_EQ(status.exit_code, 0) << status.out;
    EXPECT_NE(status.out.find("agent        running"), std::string::npos) << status.out;
    EXPECT_NE(status.out.find("storage      " + std::to_string(expected.size()) + " flows,"),
              std::string::npos)
        << status.out;
  }

  // The same records, field for field, through the storage query over the whole capture.
  const std::string whole_from = std::to_string(capture_end_ - 24 * 3600);
  const std::string whole_to = std::to_string(std::time(nullptr) + 3600);
  const auto v4 = query("--prefix 0.0.0.0/0", whole_from, whole_to);
  const auto v6 = query("--prefix ::/0", whole_from, whole_to);
  ASSERT_EQ(v4.exit_code, 0);
  ASSERT_EQ(v6.exit_code, 0);
  auto stored_rows = flow_multiset(v4.out);
  for (auto& row : flow_multiset(v6.out)) stored_rows.push_back(std::move(row));
  EXPECT_EQ(sorted(stored_rows), expected);

  // --- the lawful workflow -------------------------------------------------------------
  const std::time_t now = std::time(nullptr);
  const std::string from = rfc3339(now - 3 * 3600);
  const std::string to = rfc3339(now);
  const Json request = {
      {"case_reference", "C-17"},
      {"legal_basis", "Data Retention Act s.5 (integration test)"},
      {"warrant_reference", "W-9"},
      {"justification", "walking skeleton: one subscriber's connections"},
      {"selectors", Json::array({{{"ip", kSelectorIp}}, {{"prefix", kSelectorPrefix}}})},
      {"from", from},
      {"to", to},
      {"categories", Json::array({"flows"})}};
  std::ofstream(dir_ / "request.json") << request.dump();
  const std::string post_json =
      "-H 'content-type: application/json' --data-binary @" + (dir_ / "request.json").string();

  // A certificate of the right CA that is in no officers file: 403, and nothing filed.
  EXPECT_EQ(call("stranger", "/v1/requests", post_json).status, "403");
  EXPECT_EQ(call("stranger", "/v1/requests").status, "403");

  const auto filed = call("officer-a", "/v1/requests", post_json);
  ASSERT_EQ(filed.status, "201") << filed.body;
  const Json created = Json::parse(filed.body, nullptr, false);
  ASSERT_TRUE(created.is_object() && created["id"].is_string()) << filed.body;
  const std::string id = created["id"];
  EXPECT_EQ(created["state"], "awaiting_approval") << filed.body;
  const std::string base = "/v1/requests/" + id;

  EXPECT_EQ(call("officer-a", base + "/results").status, "409") << "results before approval";
  EXPECT_EQ(call("officer-a", base + "/approve", "-X POST").status, "403") << "self-approval";
  EXPECT_EQ(call("officer-a", base + "/results").status, "409") << "self-approval took effect";
  EXPECT_EQ(call("stranger", base + "/approve", "-X POST").status, "403");
  const auto approved = call("officer-b", base + "/approve", "-X POST");
  ASSERT_EQ(approved.status, "200") << approved.body;

  const fs::path headers = dir_ / "results.headers";
  const auto results = call("officer-a", base + "/results", "-D " + headers.string());
  ASSERT_EQ(results.status, "200") << results.body;
  const auto delivered = sorted(lines(results.body));
  // The HTTP/2 trailers (curl writes them after the headers) account for exactly the body.
  std::map<std::string, std::string> fields;
  for (auto line : lines(slurp(headers))) {
    if (line.ends_with('\r')) line.pop_back();
    const auto colon = line.find(": ");
    if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 2);
  }
  std::ofstream(dir_ / "results.ndjson", std::ios::binary) << results.body;
  const auto body_sha = run("sha256sum " + (dir_ / "results.ndjson").string() + " | cut -c1-64");
  EXPECT_EQ(fields["content-type"], "application/x-ndjson");
  EXPECT_EQ(fields["x-conntrail-records"], std::to_string(delivered.size()));
  EXPECT_EQ(fields["x-conntrail-bytes"], std::to_string(results.body.size()));
  EXPECT_EQ(fields["x-conntrail-sha256"] + "\n", body_sha.out);
  // The storage's answer to the same selectors and window: any selector matches, each
  // flow once (storage_flow_query.h), so the union of the two queries without repeats.
  const auto by_ip = query("--ip " + kSelectorIp, from, to, "ndjson");
  const auto by_prefix = query("--prefix " + kSelectorPrefix, from, to, "ndjson");
  ASSERT_EQ(by_ip.exit_code, 0);
  ASSERT_EQ(by_prefix.exit_code, 0);
  auto want = lines(by_ip.out);
  for (auto& l : lines(by_prefix.out)) want.push_back(std::move(l));
  want = sorted(std::move(want));
  want.erase(std::unique(want.begin(), want.end()), want.end());
  EXPECT_FALSE(lines(by_ip.out).empty()) << "the demo subscriber has IPv4 flows";
  EXPECT_FALSE(lines(by_prefix.out).empty()) << "the demo subscriber has IPv6 flows";
  EXPECT_EQ(delivered, want);
  for (const auto& row : delivered) {
    const Json j = Json::parse(row, nullptr, false);
    ASSERT_TRUE(j.is_object()) << row;
    const bool v4_match = j["src_ip"] == kSelectorIp || j["dst_ip"] == kSelectorIp;
    // 2001:db8:100:100::/56 is 2001:db8:100:100:: .. 2001:db8:100:1ff:ffff:...
    static const std::regex kInPrefix(R"(^2001:db8:100:1[0-9a-f]{2}:)");
    const bool v6_match = std::regex_search(j["src_ip"].get<std::string>(), kInPrefix) ||
                          std::regex_search(j["dst_ip"].get<std::string>(), kInPrefix);
    EXPECT_TRUE(v4_match || v6_match) << "a row outside the selectors: " << row;
  }

  // The manifest says what was delivered (journaled before the trailers went out).
  const auto manifest = call("officer-a", base + "/manifest");
  ASSERT_EQ(manifest.status, "200") << manifest.body;
  const Json m = Json::parse(manifest.body, nullptr, false);
  ASSERT_TRUE(m.is_object() && m["last_delivery"].is_object()) << manifest.body;
  EXPECT_EQ(m["last_delivery"]["records"], delivered.size()) << manifest.body;
  EXPECT_EQ(m["last_delivery"]["sha256"], fields["x-conntrail-sha256"]) << manifest.body;
  EXPECT_EQ(m["last_delivery"]["finished"], true) << manifest.body;

  // The auditor verifies the hash chain; officers may not.
  const auto verify = call("auditor", "/v1/audit/verify");
  ASSERT_EQ(verify.status, "200") << verify.body;
  const Json report = Json::parse(verify.body, nullptr, false);
  EXPECT_EQ(report["ok"], true) << verify.body;
  // At least: service started, request filed, approved, result started.
  EXPECT_GE(report["entries"].get<std::uint64_t>(), 4u) << verify.body;
  EXPECT_EQ(call("officer-a", "/v1/audit/verify").status, "403");

  // Still exactly the capture's flows: nothing was stored twice while we looked.
  const auto again = status_json();
  ASSERT_TRUE(again && !again->is_discarded());
  EXPECT_EQ((*again)["flows_stored"], expected.size());

  // A clean stop.
  ASSERT_EQ(::kill(agent_, SIGTERM), 0);
  EXPECT_EQ(await_state("STOPPING=1"), "STOPPING=1");
  EXPECT_EQ(await_exit(agent_), 0) << slurp(log_);
}

TEST_F(WalkingSkeletonTest, OneAgentPerDataDirectoryAndACleanStopOnSigterm) {
  start_agent();
  ASSERT_FALSE(HasFatalFailure());

  // A second agent on the same data directory refuses before it binds or opens anything,
  // says why, exits 1 and never reports READY.
  const fs::path second_log = dir_ / "second.log";
  second_ = spawn(second_log);
  ASSERT_GT(second_, 0);
  EXPECT_EQ(await_exit(second_), 1);
  const std::string said = slurp(second_log);
  EXPECT_NE(said.find("data directory " + data_.string() +
                      " is in use by another conntrail "
                      "process"),
            std::string::npos)
      << said;
  EXPECT_EQ(await_state("READY=1", 1s), "") << "the second agent reported READY=1";

  // The first one is unaffected.
  const auto status = call("officer-b", "/v1/status");
  EXPECT_EQ(status.status, "200") << status.body;

  ASSERT_EQ(::kill(agent_, SIGTERM), 0);
  EXPECT_EQ(await_state("STOPPING=1"), "STOPPING=1");
  EXPECT_EQ(await_exit(agent_), 0) << slurp(log_);
  EXPECT_NE(slurp(log_).find("received SIGTERM; stopping"), std::string::npos) << slurp(log_);
  // Its lock went with it: the directory can be used again.
  agent_ = spawn(log_);
  ASSERT_EQ(await_state("READY=1"), "READY=1") << slurp(log_);
  ASSERT_EQ(::kill(agent_, SIGTERM), 0);
  EXPECT_EQ(await_exit(agent_), 0) << slurp(log_);
}

}  // namespace
}  // namespace conntrail
