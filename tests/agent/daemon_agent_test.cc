// Tests of agent/runtime: the sd_notify sequence (READY, STATUS, WATCHDOG, RELOADING,
// STOPPING) on a NOTIFY_SOCKET this test owns, a watchdog that stops when a worker hangs,
// worker lifecycle, GET /v1/status, and reload bookkeeping.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/runtime/agent.h"
#include "core/handle.h"
#include "http2_test_support.h"

namespace conntrail::agent {
namespace {

using namespace conntrail::testing_support;
using namespace std::chrono_literals;

class NotifySocket {
 public:
  NotifySocket() {
    path_ = ::testing::TempDir() + "agent-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unlink(path_.c_str());
  }
  // Next datagram whose text starts with one of the prefixes (others skipped), or "" after 10 s.
  std::string next(std::initializer_list<std::string_view> prefixes,
                   std::chrono::milliseconds timeout = 10s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 500) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string s(buf, static_cast<std::size_t>(n));
      for (auto pre : prefixes) {
        if (s.starts_with(pre)) return s;
      }
    }
    return {};
  }
  // Discards datagrams already queued.
  void drain() {
    char buf[4096];
    while (::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
  }
  // Counts WATCHDOG=1 datagrams arriving within `d`.
  int count_watchdogs(std::chrono::milliseconds d) {
    int count = 0;
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)) == "WATCHDOG=1") ++count;
    }
    return count;
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

AgentConfig test_config(const std::string& path = "<test>") {
  AgentConfig c;
  c.source = path;
  c.api.listen.push_back(ListenAddress{IpAddress::v4(0x7f000001), 0});
  c.api.tls_cert = pki("server.crt");
  c.api.tls_key = pki("server.key");
  c.api.client_ca = pki("ca.crt");
  c.api.crl = pki("crl.pem");
  c.api.officers_file = "/dev/null";
  c.metrics.listen = ListenAddress{IpAddress::v4(0x7f000001), 0};
  return c;
}

TEST(AgentTest, NotifiesReadyStatusWatchdogReloadingStoppingInOrder) {
  ASSERT_FALSE(test_pki().empty());
  // A config file on disk, so that the reload re-reads something real.
  const std::string conf = pki("agent.conf");
  {
    std::ofstream out(conf);
    out << "[api]\nlisten = 127.0.0.1:0\ntls_cert = " << pki("server.crt")
        << "\ntls_key = " << pki("server.key") << "\nclient_ca = " << pki("ca.crt")
        << "\nofficers_file = /dev/null\n[metrics]\nlisten = off\n";
  }
  auto cfg = load_config(conf);
  ASSERT_TRUE(cfg.has_value());
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);

  std::atomic<bool> hang{false};
  std::atomic<bool> stop{false};
  std::atomic<int> reloads{0};
  Agent agent(*cfg, AgentOptions{300ms, 100ms});
  agent.add_worker({"capture", nullptr,
                    [&](Heartbeat& hb) -> Result<void> {
                      while (!stop.load()) {
                        if (!hang.load()) hb.beat();  // injected hang: stop beating
                        std::this_thread::sleep_for(20ms);
                      }
                      return {};
                    },
                    [&] { stop.store(true); }});
  agent.on_reload([&](const AgentConfig&) { reloads.fetch_add(1); });
  std::atomic<int> exit_code{-1};
  std::thread t([&] { exit_code.store(agent.run()); });

  EXPECT_EQ(sock.next({"READY=1"}), "READY=1");
  EXPECT_TRUE(sock.next({"STATUS="}).starts_with("STATUS=serving API on 127.0.0.1:0"));
  EXPECT_EQ(sock.next({"WATCHDOG=1"}), "WATCHDOG=1");
  EXPECT_GE(sock.count_watchdogs(600ms), 3);

  // The worker hangs: after heartbeat_timeout the watchdog goes quiet (systemd would kill us).
  hang.store(true);
  std::this_thread::sleep_for(500ms);
  sock.drain();  // datagrams sent before the hang was noticed
  EXPECT_EQ(sock.count_watchdogs(800ms), 0);
  hang.store(false);
  EXPECT_GE(sock.count_watchdogs(600ms), 2);

  agent.request_reload();
  EXPECT_TRUE(sock.next({"RELOADING=1"}).starts_with("RELOADING=1\nMONOTONIC_USEC="));
  EXPECT_EQ(sock.next({"READY=1"}), "READY=1");
  EXPECT_EQ(reloads.load(), 1);

  agent.request_stop();
  EXPECT_EQ(sock.next({"STOPPING=1"}), "STOPPING=1");
  t.join();
  EXPECT_EQ(exit_code.load(), 0);
  EXPECT_TRUE(stop.load()) << "worker was not asked to stop";
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST(AgentTest, ServesStatusFromTheProviderAndDelegatesOtherPaths) {
  ASSERT_FALSE(test_pki().empty());
  NotifySocket sock;
  Agent agent(test_config());
  agent.set_status_provider([] {
    StatusFigures f;
    f.flows_stored = 42;
    f.shards = 3;
    return f;
  });
  agent.set_api_handler([](const http2::HttpRequest& r) {
    return http2::HttpResponse::json(200, R"({"api":")" + r.path + "\"}");
  });
  std::thread t([&] { agent.run(); });
  ASSERT_EQ(sock.next({"READY=1"}), "READY=1");
  const int port = agent.api_ports().at(0);
  auto r = curl(port, "/v1/status", "officer-a");
  ASSERT_EQ(http_status(r), "200") << r.out;
  auto j = nlohmann::json::parse(r.out.substr(0, r.out.rfind('\n')));
  EXPECT_EQ(j["flows_stored"], 42);
  EXPECT_EQ(j["shards"], 3);
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_GE(j["uptime_seconds"].get<int>(), 0);
  EXPECT_EQ(curl(port, "/v1/requests", "officer-a").out, "{\"api\":\"/v1/requests\"}\n200");
  EXPECT_EQ(http_status(curl(port, "/v1/status", "officer-a", "-X DELETE")), "405");
  // The metrics endpoint counts those requests.
  auto m = run_command("curl -sS http://127.0.0.1:" + std::to_string(*agent.metrics_port()) +
                       "/metrics");
  EXPECT_NE(m.out.find("conntrail_api_requests_total{endpoint=\"/v1/status\",status=\"200\"} 1"),
            std::string::npos)
      << m.out;
  agent.request_stop();
  t.join();
}

TEST(AgentTest, StartupErrorNeverSendsReady) {
  ASSERT_FALSE(test_pki().empty());
  NotifySocket sock;
  auto c = test_config();
  c.api.tls_key = pki("missing.key");
  Agent agent(c);
  EXPECT_EQ(agent.run(), 1);
  auto prep_fail = test_config();
  Agent agent2(prep_fail);
  agent2.add_worker({"storage",
                     [] { return Result<void>(fail(ErrorCode::kNotFound, "no data dir")); },
                     [](Heartbeat&) { return Result<void>(); }, [] {}});
  EXPECT_EQ(agent2.run(), 1);
  EXPECT_EQ(sock.count_watchdogs(100ms), 0);
  EXPECT_EQ(sock.next({"READY=1"}, 300ms).size(), 0u) << "READY=1 sent despite a start-up error";
}

TEST(AgentTest, FailingWorkerStopsTheAgentWithExitCode1) {
  ASSERT_FALSE(test_pki().empty());
  NotifySocket sock;
  Agent agent(test_config());
  std::vector<std::string> order;
  std::mutex mu;
  agent.add_worker({"storage", nullptr,
                    [](Heartbeat& hb) {
                      hb.beat();
                      std::this_thread::sleep_for(50ms);
                      return Result<void>();  // finished early: fine
                    },
                    [&] {
                      std::lock_guard lock(mu);
                      order.push_back("storage");
                    }});
  agent.add_worker({"capture", nullptr,
                    [](Heartbeat&) -> Result<void> {
                      std::this_thread::sleep_for(200ms);
                      return fail(ErrorCode::kIo, "interface went away");
                    },
                    [&] {
                      std::lock_guard lock(mu);
                      order.push_back("capture");
                    }});
  EXPECT_EQ(agent.run(), 1);
  // Stopped in reverse registration order: capture before storage.
  EXPECT_EQ(order, (std::vector<std::string>{"capture", "storage"}));
}

TEST(AgentReloadTest, ChangedKeysAndWhichNeedARestart) {
  AgentConfig a = test_config();
  AgentConfig b = a;
  b.log.level = LogLevel::kDebug;
  b.api.max_connections = 7;
  b.capture.interfaces = {"eth0"};
  const auto changed = changed_keys(a, b);
  EXPECT_EQ(changed,
            (std::vector<std::string>{"api.max_connections", "capture.interface", "log.level"}));
  EXPECT_TRUE(reloadable_key("log.level"));
  EXPECT_TRUE(reloadable_key("api.tls_cert"));
  EXPECT_TRUE(reloadable_key("api.officers_file"));
  EXPECT_FALSE(reloadable_key("api.max_connections"));
  EXPECT_FALSE(reloadable_key("capture.interface"));
}

TEST(AgentStatusTest, UnknownFiguresAreNull) {
  EXPECT_EQ(status_json(5, {}),
            R"({"flows_stored":null,"shards":null,"uptime_seconds":5,"version":"0.1.0"})");
}

}  // namespace
}  // namespace conntrail::agent
