// Integration: attribution end to end through the real `conntrail` binary —
// `flows` fills the subscriber column from the sessions of the same capture,
// `ingest` stores flows and sessions, `attribute --data-dir` answers from the store
// (unique with a confirmed port, a gap with its edges, ambiguity on overlapping claims).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Output {
  int status = -1;
  std::string out;
};

Output conntrail(const std::string& args) {
  const std::string cmd =
      std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail " + args + " 2>/dev/null";
  Output o;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), n);
  const int rc = pclose(p);
  o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return o;
}

// The test captures are from 2016..2023: keep them past the store's retention sweep.
const std::string kKeep = " --retention-months 120";

std::string data(const std::string& name) {
  return std::string(CONNTRAIL_TEST_DATA) + "/attribution/" + name;
}

std::vector<nlohmann::json> ndjson(const std::string& text) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

// src_ip:src_port → subscriber, from `conntrail flows --format ndjson`.
std::map<std::string, std::string> subscribers(const std::string& pcap,
                                               const std::string& extra = "") {
  const auto o = conntrail("flows --format ndjson --pcap " + pcap + " " + extra);
  EXPECT_EQ(o.status, 0);
  std::map<std::string, std::string> out;
  for (const auto& row : ndjson(o.out)) {
    const auto& s = row["subscriber"];
    out[row["src_ip"].get<std::string>() + ":" + std::to_string(row["src_port"].get<int>())] =
        s.is_string() ? s.get<std::string>() : "";
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("conntrail_pipeline_cli_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(PipelineCliTest, FlowsCarryTheSubscriberOfTheSameCapture) {
  const auto s = subscribers(data("radius-traffic.pcap"));
  EXPECT_EQ(s.at("100.64.1.7:51000"), "alice");
  EXPECT_EQ(s.at("100.64.1.7:53000"), "alice");
  EXPECT_EQ(s.at("100.64.1.7:51001"), "");  // between alice's Stop and bob's Start
  EXPECT_EQ(s.at("100.64.1.7:40000"), "bob");
  EXPECT_EQ(s.at("192.0.2.1:40000"), "");  // the NAS itself holds no session
}

TEST(PipelineCliTest, FlowsCsvSubscriberColumnIsTheLast) {
  const auto o = conntrail("flows --pcap " + data("radius-traffic.pcap"));
  ASSERT_EQ(o.status, 0);
  const auto header = o.out.substr(0, o.out.find('\n'));
  EXPECT_EQ(header.substr(header.rfind(',') + 1), "subscriber");
  EXPECT_NE(o.out.find(",alice\n"), std::string::npos);
  EXPECT_NE(o.out.find(",bob\n"), std::string::npos);
}

TEST(PipelineCliTest, ZeekPppoeDelegatedPrefixAttributesItsAddresses) {
  // DHCPv6 Reply (frame 39) delegates fc00:0:2:100::/56 to DUID-LL cc:05:0e:88:00:00; the
  // ICMPv6 echo from fc00:0:2:100::1:1 (frames 54..) lies inside it.
  const auto s = subscribers(data("zeek-pppoe.pcap"));
  bool seen = false;
  for (const auto& [endpoint, subscriber] : s) {
    if (endpoint.rfind("fc00:0:2:100::1:1:", 0) == 0) {
      EXPECT_EQ(subscriber, "cc:05:0e:88:00:00") << endpoint;
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

TEST(PipelineCliTest, NoAttributionLeavesTheColumnEmpty) {
  for (const auto& [endpoint, subscriber] :
       subscribers(data("radius-traffic.pcap"), "--no-attribution")) {
    EXPECT_EQ(subscriber, "") << endpoint;
  }
}

TEST(PipelineCliTest, OverlappingClaimsShowEverySubscriber) {
  // frank (NAS 1) and grace (NAS 2) both hold 100.64.9.9 from T0+60: a flow there would show
  // "frank|grace". The capture has no traffic of that address, so check the answer instead.
  TempDir dir;
  ASSERT_EQ(
      conntrail("ingest --pcap " + data("radius-overlap.pcap") + " --data-dir " + dir.str() + kKeep)
          .status,
      0);
  const auto o = conntrail("attribute --format ndjson --ip 100.64.9.9 --at 1700000090 --data-dir " +
                           dir.str());
  ASSERT_EQ(o.status, 0);
  const auto a = nlohmann::json::parse(o.out);
  EXPECT_EQ(a["status"], "ambiguous");
  EXPECT_EQ(a["subscriber"], "frank|grace");
  EXPECT_EQ(a["sessions"].size(), 2u);
}

TEST(PipelineCliTest, IngestThenAttributeFromTheStore) {
  TempDir dir;
  const auto ingest = conntrail("ingest --pcap " + data("radius-traffic.pcap") + " --data-dir " +
                                dir.str() + kKeep);
  ASSERT_EQ(ingest.status, 0);

  auto ask = [&](const std::string& args) {
    const auto o = conntrail("attribute --format ndjson --data-dir " + dir.str() + " " + args);
    EXPECT_EQ(o.status, 0) << args;
    return o.status == 0 ? nlohmann::json::parse(o.out) : nlohmann::json();
  };
  // During alice's session, the port confirmed by the stored TCP flow.
  auto a = ask("--ip 100.64.1.7 --port 51000 --at 1700000005.5");
  EXPECT_EQ(a["status"], "unique");
  EXPECT_EQ(a["subscriber"], "alice");
  EXPECT_EQ(a["port_check"], "confirmed");
  EXPECT_EQ(a["flows"].size(), 1u);
  // The stored flow carries the subscriber too.
  EXPECT_EQ(a["flows"][0]["subscriber"], "alice");

  // A port that matches no flow of the address at that time.
  a = ask("--ip 100.64.1.7 --port 9999 --at 1700000005.5");
  EXPECT_EQ(a["status"], "unique");
  EXPECT_EQ(a["port_check"], "no-flow");

  // The gap between alice's Stop (T0+100) and bob's Start (T0+200): none, with both edges.
  a = ask("--ip 100.64.1.7 --at 1700000150");
  EXPECT_EQ(a["status"], "none");
  EXPECT_EQ(a["previous"]["subscriber"], "alice");
  EXPECT_EQ(a["next"]["subscriber"], "bob");

  // bob's session is still open at the end of the capture: stored open, found.
  a = ask("--ip 100.64.1.7 --at 1700000250");
  EXPECT_EQ(a["status"], "unique");
  EXPECT_EQ(a["subscriber"], "bob");
  EXPECT_TRUE(a["sessions"][0]["end_ts"].is_null());

  // Text output for people.
  const auto text = conntrail("attribute --data-dir " + dir.str() +
                              " --ip 100.64.1.7 --at 1700000005.5 --port 51000");
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("unique — subscriber alice"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("port: confirmed"), std::string::npos) << text.out;
}

TEST(PipelineCliTest, AttributeOnAMissingDataDirIsAnError) {
  EXPECT_EQ(conntrail("attribute --ip 100.64.1.7 --at 1700000000 --data-dir /nonexistent/x").status,
            1);
}

TEST(PipelineCliTest, IngestUsageErrors) {
  EXPECT_EQ(conntrail("ingest --pcap " + data("radius-traffic.pcap")).status, 2);  // no --data-dir
  EXPECT_EQ(conntrail("ingest --pcap x --data-dir /tmp/x --idle-timeout -5").status, 2);
  EXPECT_EQ(conntrail("ingest --pcap x --data-dir /tmp/x --subscriber-id nonsense").status, 2);
}

TEST(PipelineCliTest, IngestOfAMissingCaptureFails) {
  TempDir dir;
  EXPECT_EQ(conntrail("ingest --pcap /nonexistent.pcap --data-dir " + dir.str()).status, 1);
}

}  // namespace
