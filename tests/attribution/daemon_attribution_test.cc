// Integration: the real conntrail-agent with an offline capture (pcap_file) stores the
// flows with their subscriber and the attribution sessions, through the daemon's data
// pipeline; `conntrail attribute --data-dir` then answers from what the agent stored.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/agent/http2_test_support.h"

namespace {

using namespace conntrail::testing_support;
using namespace std::chrono_literals;

const std::string kBin = std::string(CONNTRAIL_BINARY_DIR) + "/agent/";

nlohmann::json attribute(const std::string& data_dir, const std::string& args) {
  const auto r = run_command(kBin + "conntrail attribute --format ndjson --data-dir " + data_dir +
                             " " + args + " 2>/dev/null");
  if (r.exit_code != 0 || r.out.empty()) return {};
  return nlohmann::json::parse(r.out, nullptr, false);
}

// The demo's officers file (the agent needs one to start) at dir/officers.json.
void write_demo_officers(const std::string& dir) {
  ASSERT_EQ(run_command(std::string(CONNTRAIL_SOURCE_DIR) + "/scripts/make-demo-officers.sh " +
                        test_pki() + " " + dir + "/officers.json >&2")
                .exit_code,
            0);
}

// The [api] (test PKI, port 0) and [metrics] (port 0) sections of an agent config.
std::string api_and_metrics_sections(const std::string& dir) {
  return "[api]\nlisten = 127.0.0.1:0\ntls_cert = " + pki("server.crt") +
         "\ntls_key = " + pki("server.key") + "\nclient_ca = " + pki("ca.crt") +
         "\ncrl = " + pki("crl.pem") + "\nofficers_file = " + dir + "/officers.json\n" +
         "[metrics]\nlisten = 127.0.0.1:0\n";
}

// conntrail-agent --config `config`, its stderr in dir/stderr.log.
pid_t spawn_agent(const std::string& config, const std::string& dir) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open((dir + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::execl((kBin + "conntrail-agent").c_str(), "conntrail-agent", "--config", config.c_str(),
            nullptr);
    ::_exit(127);
  }
  return pid;
}

TEST(DaemonAttributionTest, OfflineCaptureStoresAttributedFlowsAndSessions) {
  ASSERT_FALSE(test_pki().empty());
  const std::string dir = pki("attribution-run-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data_dir = dir + "/data";
  const std::string config = dir + "/agent.conf";
  ASSERT_NO_FATAL_FAILURE(write_demo_officers(dir));
  std::ofstream(config) << "[capture]\npcap_file = " << CONNTRAIL_TEST_DATA
                        << "/attribution/radius-traffic.pcap\n"
                        << "[storage]\ndata_dir = " << data_dir << "\nretention_months = 120\n"
                        << api_and_metrics_sections(dir);
  const pid_t pid = spawn_agent(config, dir);
  ASSERT_GT(pid, 0);
  // The agent consumes the file and commits within a batch delay; wait (bounded) for it.
  nlohmann::json a;
  for (int i = 0; i < 100; ++i) {
    a = attribute(data_dir, "--ip 100.64.1.7 --port 51000 --at 1700000005.5");
    if (a.is_object() && a["port_check"] == "confirmed") break;
    std::this_thread::sleep_for(200ms);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  ASSERT_TRUE(a.is_object()) << run_command("cat " + dir + "/stderr.log").out;
  EXPECT_EQ(a["status"], "unique");
  EXPECT_EQ(a["subscriber"], "alice");
  EXPECT_EQ(a["port_check"], "confirmed");
  ASSERT_EQ(a["flows"].size(), 1u);
  EXPECT_EQ(a["flows"][0]["subscriber"], "alice");  // the stored flow carries it

  // After the stop: bob's session, open at the end of the file, was stored too.
  const auto b = attribute(data_dir, "--ip 100.64.1.7 --at 1700000250");
  EXPECT_EQ(b["status"], "unique");
  EXPECT_EQ(b["subscriber"], "bob");
  const auto gap = attribute(data_dir, "--ip 100.64.1.7 --at 1700000150");
  EXPECT_EQ(gap["status"], "none");
  std::filesystem::remove_all(dir);
}

// Live: the agent captures lo (where RADIUS accounting arrives) and a veth (where the
// subscriber's traffic leaves) inside a network namespace of this test; the flow stored
// from the veth carries the subscriber from the RADIUS seen on lo.
TEST(DaemonAttributionTest, LiveCaptureOnTwoInterfacesStoresAttributedFlows) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to capture in a private network namespace";
  ASSERT_FALSE(test_pki().empty());
  if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot create a network namespace here";
  if (std::system("ip link set lo up && ip link add va type veth peer name vb && "
                  "ip addr add 100.64.1.7/24 dev va && ip link set va up && ip link set vb up && "
                  "ip neigh add 100.64.1.99 lladdr 02:00:00:00:00:99 dev va >/dev/null 2>&1") !=
      0) {
    GTEST_SKIP() << "cannot create a veth pair here";
  }
  const std::string dir = pki("attribution-live-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data_dir = dir + "/data";
  const std::string config = dir + "/agent.conf";
  ASSERT_NO_FATAL_FAILURE(write_demo_officers(dir));
  std::ofstream(config) << "[capture]\ninterface = lo\ninterface = va\n"
                        << "[storage]\ndata_dir = " << data_dir << "\n"
                        << api_and_metrics_sections(dir);
  const pid_t pid = spawn_agent(config, dir);
  ASSERT_GT(pid, 0);
  // A RADIUS Start for alice to 127.0.0.1:1813, resent for a few seconds (the agent may
  // still be opening its handles), then the subscriber's datagram out of va.
  const std::string start_radius =
      "/usr/bin/python3 -c \"import socket,struct;"
      "a=lambda t,v:struct.pack('!BB',t,2+len(v))+v;"
      "b=a(1,b'alice')+a(4,bytes([127,0,0,1]))+a(8,bytes([100,64,1,7]))+a(44,b'D-1')"
      "+a(40,struct.pack('!I',1));"
      "p=struct.pack('!BBH16s',4,1,20+len(b),bytes(16))+b;"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.sendto(p,('127.0.0.1',1813))\"";
  for (int i = 0; i < 30; ++i) {
    run_command(start_radius);
    std::this_thread::sleep_for(200ms);
  }
  run_command(
      "/usr/bin/python3 -c \"import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
      "s.bind(('100.64.1.7',0));s.sendto(bytes(20),('100.64.1.99',9999))\"");
  std::this_thread::sleep_for(1s);
  ::kill(pid, SIGTERM);  // capture stops first, exports every flow; storage commits them
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << run_command("cat " + dir + "/stderr.log").out;

  const auto flows = run_command(kBin + "conntrail query --data-dir " + data_dir +
                                 " --ip 100.64.1.7 --from 2020-01-01T00:00:00Z "
                                 "--to 2100-01-01T00:00:00Z 2>&1");
  EXPECT_NE(flows.out.find(",alice"), std::string::npos) << flows.out;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto a = attribute(data_dir, "--ip 100.64.1.7 --at " + std::to_string(now - 1));
  EXPECT_EQ(a["status"], "unique") << a.dump();
  EXPECT_EQ(a["subscriber"], "alice");
  std::filesystem::remove_all(dir);
}

}  // namespace
