// Integration tests of the real conntrail-agent binary: READY=1 on a NOTIFY_SOCKET the test
// owns, curl --http2 with and without valid client certificates, SIGHUP reload, SIGTERM ->
// STOPPING=1 and exit 0, --check-config errors, and misbehaving python3-h2 clients while a
// well-behaved curl client keeps being served.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/handle.h"
#include "http2_test_support.h"

namespace conntrail {
namespace {

using namespace conntrail::testing_support;
using namespace std::chrono_literals;

const std::string kAgent = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail-agent";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AgentProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(test_pki().empty());
    dir_ = pki("run-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    notify_path_ = dir_ + "/notify.sock";
    notify_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(notify_path_.size(), sizeof(addr.sun_path));
    notify_path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(notify_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    config_ = dir_ + "/agent.conf";
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void write_config(const std::string& api_extra = "", const std::string& log_level = "info") {
    std::ofstream out(config_);
    out << "[storage]\ndata_dir = " << dir_ << "/data\n"
        << "[api]\nlisten = 127.0.0.1:0\n"
        << "tls_cert = " << pki("server.crt") << "\ntls_key = " << pki("server.key")
        << "\nclient_ca = " << pki("ca.crt") << "\ncrl = " << pki("crl.pem")
        << "\nofficers_file = " << dir_ << "/officers.json\n"
        << api_extra << "[log]\nlevel = " << log_level << "\n[metrics]\nlisten = 127.0.0.1:0\n";
    // The lawful API needs an officers file to start; these tests need no officer.
    std::ofstream(dir_ + "/officers.json") << R"({"officers": []})";
  }

  // Starts the agent and waits for READY=1; returns the API port from its start-up line.
  int start() {
    const std::string err = dir_ + "/stderr.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
      const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, STDERR_FILENO);
      ::execl(kAgent.c_str(), kAgent.c_str(), "--config", config_.c_str(), nullptr);
      ::_exit(127);
    }
    if (next_state({"READY=1"}) != "READY=1") {
      ADD_FAILURE() << "no READY=1; stderr:\n" << read_file(err);
      return 0;
    }
    std::smatch m;
    const std::string log = read_file(err);
    static const std::regex kPort(R"(\(port (\d+)\))");
    if (!std::regex_search(log, m, kPort)) {
      ADD_FAILURE() << "no port in start-up line:\n" << log;
      return 0;
    }
    return std::stoi(m[1].str());
  }

  std::string next_state(std::initializer_list<std::string_view> prefixes,
                         std::chrono::milliseconds timeout = 15s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{notify_.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(notify_.get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string s(buf, static_cast<std::size_t>(n));
      for (auto pre : prefixes) {
        if (s.starts_with(pre)) return s;
      }
    }
    return {};
  }

  // Sends `sig` and returns the exit code (or -1 if it did not exit within 15 s).
  int signal_and_wait(int sig) {
    ::kill(pid_, sig);
    for (int i = 0; i < 150; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(100ms);
    }
    return -1;
  }

  std::string stderr_log() { return read_file(dir_ + "/stderr.log"); }

  std::string dir_;
  std::string notify_path_;
  std::string config_;
  UniqueFd notify_;
  pid_t pid_ = -1;
};

TEST_F(AgentProcess, ServesStatusOnlyToValidClientCertificates) {
  write_config();
  const int port = start();
  ASSERT_NE(port, 0);
  auto ok = curl(port, "/v1/status", "officer-a");
  ASSERT_EQ(ok.exit_code, 0);
  ASSERT_EQ(http_status(ok), "200");
  auto j = nlohmann::json::parse(ok.out.substr(0, ok.out.rfind('\n')));
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_TRUE(j.contains("uptime_seconds"));
  EXPECT_TRUE(j.contains("flows_stored"));
  EXPECT_TRUE(j.contains("shards"));
  // No certificate, a revoked one, one from another CA: no answer at all.
  for (const char* client : {"", "revoked", "untrusted"}) {
    auto r = curl(port, "/v1/status", client);
    EXPECT_NE(r.exit_code, 0) << client;
    EXPECT_EQ(r.out.find("version"), std::string::npos) << client;
  }
  EXPECT_EQ(signal_and_wait(SIGTERM), 0);
}

TEST_F(AgentProcess, SigtermSendsStoppingAndExitsZero) {
  write_config();
  ASSERT_NE(start(), 0);
  ::kill(pid_, SIGTERM);
  EXPECT_EQ(next_state({"STOPPING=1"}), "STOPPING=1");
  EXPECT_EQ(signal_and_wait(0), 0);
  EXPECT_NE(stderr_log().find("<5>received SIGTERM; stopping"), std::string::npos);
}

TEST_F(AgentProcess, SighupReloadsAndNamesChangesThatNeedARestart) {
  write_config();
  const int port = start();
  ASSERT_NE(port, 0);
  write_config("max_connections = 70\n", "debug");
  ::kill(pid_, SIGHUP);
  EXPECT_TRUE(next_state({"RELOADING=1"}).starts_with("RELOADING=1\nMONOTONIC_USEC="));
  EXPECT_EQ(next_state({"READY=1"}), "READY=1");
  const std::string log = stderr_log();
  EXPECT_NE(
      log.find("<4>reload: api.max_connections changed; it takes effect only after a restart"),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("log.level changed"), std::string::npos) << "log.level is reloadable";
  // A broken file on reload keeps the running configuration.
  {
    std::ofstream out(config_, std::ios::app);
    out << "bogus = 1\n";
  }
  ::kill(pid_, SIGHUP);
  EXPECT_EQ(next_state({"READY=1"}), "READY=1");
  EXPECT_NE(stderr_log().find("the running configuration stays in force"), std::string::npos);
  EXPECT_EQ(http_status(curl(port, "/v1/status", "officer-b")), "200");
  EXPECT_EQ(signal_and_wait(SIGTERM), 0);
}

TEST_F(AgentProcess, StartupErrorExitsOneWithoutReady) {
  // A missing key file: a start-up error whoever runs the test.
  write_config();
  std::string text = read_file(config_);
  text.replace(text.find(pki("server.key")), pki("server.key").size(), pki("absent.key"));
  std::ofstream(config_) << text;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
    const int fd = ::open((dir_ + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::execl(kAgent.c_str(), kAgent.c_str(), "--config", config_.c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(next_state({"READY=1"}, 300ms), "");
  EXPECT_NE(stderr_log().find("<3>start: api.tls_key"), std::string::npos) << stderr_log();
}

TEST(AgentCommandLine, CheckConfigNamesFileLineKeyAndReason) {
  ASSERT_FALSE(test_pki().empty());
  const std::string bad = pki("bad.conf");
  std::ofstream(bad) << "[api]\ntls_cert = a\ntls_key = b\nclient_ca = c\nofficers_file = d\n"
                        "max_concurrent_streams = 0\n[capture]\nsnaplen = huge\nfrobnicate = 1\n";
  auto r = run_command(kAgent + " --config " + bad + " --check-config 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(bad + ":6: api.max_concurrent_streams: must be an integer from 1 to 1000, "
                             "got \"0\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(bad + ":8: capture.snaplen:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(bad + ":9: capture.frobnicate: unknown key"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 error(s)"), std::string::npos) << r.out;

  auto ok = run_command(kAgent + " --config " + std::string(CONNTRAIL_SOURCE_DIR) +
                        "/configs/conntrail.conf --check-config");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  auto printed = run_command(kAgent + " --config " + std::string(CONNTRAIL_SOURCE_DIR) +
                             "/configs/demo.conf --print-config");
  EXPECT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("pcap_file = var/demo/demo.pcap\n"), std::string::npos);
  EXPECT_NE(printed.out.find("max_concurrent_streams = 100\n"), std::string::npos);
  auto missing = run_command(kAgent + " --config /nonexistent.conf --check-config 2>&1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("/nonexistent.conf: cannot open the file for reading"),
            std::string::npos);
  EXPECT_EQ(run_command(kAgent + " --version").out, "conntrail-agent 0.1.0\n");
  EXPECT_EQ(run_command(kAgent + " 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_command(kAgent + " --bogus 2>/dev/null").exit_code, 2);
}

TEST_F(AgentProcess, MisbehavingClientsDoNotStopAWellBehavedOne) {
  write_config("max_resets_per_window = 100\nmax_request_body = 64KiB\nidle_timeout = 2s\n");
  const int port = start();
  ASSERT_NE(port, 0);
  std::vector<std::future<CommandResult>> attacks;
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("rapid-reset", port, "officer-a", "--count 5000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("header-flood", port, "officer-a", "--count 1000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("post", port, "officer-a", "--path /v1/requests --body-size 4000000");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("slow-reader", port, "officer-a", "--window tiny --seconds 5");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("ping-flood", port, "officer-a", "--count 200000 --seconds 5");
  }));
  attacks.push_back(std::async(std::launch::async, [&] {
    return h2client("continuation-flood", port, "officer-a", "--count 100");
  }));
  // Meanwhile the other officer is served, every time.
  for (int i = 0; i < 10; ++i) {
    auto r = curl(port, "/v1/status", "officer-b");
    EXPECT_EQ(http_status(r), "200") << "request " << i << ": " << r.out;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(attacks[0].get().out, "goaway=11\n");  // ENHANCE_YOUR_CALM
  EXPECT_TRUE(attacks[1].get().out.starts_with("reset=")) << "header flood";
  EXPECT_EQ(attacks[2].get().out, "status=413\n");
  EXPECT_EQ(attacks[3].get().out, "closed\n");
  EXPECT_EQ(attacks[4].get().out, "closed\n");
  const auto cont = attacks[5].get().out;
  EXPECT_TRUE(cont.starts_with("goaway=") || cont == "closed\n") << cont;
  EXPECT_EQ(http_status(curl(port, "/v1/status", "officer-b")), "200");
  // The defences were counted (scrape the metrics endpoint named in the start-up line).
  std::smatch m;
  const std::string log = stderr_log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(metrics on port (\d+))")));
  auto metrics = run_command("curl -sS http://127.0.0.1:" + m[1].str() + "/metrics");
  EXPECT_NE(metrics.out.find("conntrail_api_abuse_total{kind=\"rapid_reset\"} 1"),
            std::string::npos)
      << metrics.out;
  EXPECT_EQ(signal_and_wait(SIGTERM), 0);
}

}  // namespace
}  // namespace conntrail
