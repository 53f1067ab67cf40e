// Tests of agent/metrics: exposition format, the scrape endpoint and the textfile writer.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/metrics/metrics_server.h"
#include "agent/metrics/registry.h"
#include "core/handle.h"
#include "http2_test_support.h"

namespace conntrail::metrics {
namespace {

using conntrail::testing_support::run_command;

TEST(RegistryTest, ExposesCountersAndGaugesInTextFormat) {
  Registry r;
  auto& drops =
      r.counter("conntrail_capture_drops_total", "Packets dropped", {{"interface", "eth0"}});
  drops.inc(3);
  r.counter("conntrail_capture_drops_total", "Packets dropped", {{"interface", "eth0"}}).inc();
  r.gauge("conntrail_flows_active", "Flows in the table").set(12);
  r.gauge_callback("conntrail_disk_free_bytes", "Free bytes", {}, [] { return 1.5e9; });
  r.counter("conntrail_weird_total", "Weird", {{"kind", "a\"b\\c\nd"}}).inc();
  EXPECT_EQ(r.expose(),
            "# HELP conntrail_capture_drops_total Packets dropped\n"
            "# TYPE conntrail_capture_drops_total counter\n"
            "conntrail_capture_drops_total{interface=\"eth0\"} 4\n"
            "# HELP conntrail_disk_free_bytes Free bytes\n"
            "# TYPE conntrail_disk_free_bytes gauge\n"
            "conntrail_disk_free_bytes 1500000000\n"
            "# HELP conntrail_flows_active Flows in the table\n"
            "# TYPE conntrail_flows_active gauge\n"
            "conntrail_flows_active 12\n"
            "# HELP conntrail_weird_total Weird\n"
            "# TYPE conntrail_weird_total counter\n"
            "conntrail_weird_total{kind=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(RegistryTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.counter("conntrail_x_total", "x");
  auto& g = r.gauge("conntrail_y", "y");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      for (int j = 0; j < 10000; ++j) {
        c.inc();
        g.add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(g.value(), 40000.0);
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.counter("conntrail_api_requests_total", "Requests", {{"status", "200"}}).inc(7);
    auto s = MetricsServer::create(agent::ListenAddress{IpAddress::v4(0x7f000001), 0}, registry_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  Registry registry_;
  std::unique_ptr<MetricsServer> server_;
  std::thread thread_;
  std::string base_;
};

TEST_F(MetricsServerTest, ServesMetricsToAPlainHttpGet) {
  auto r = run_command("curl -sS -D - " + base_ + "/metrics");
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(r.out.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.out.find("conntrail_api_requests_total{status=\"200\"} 7\n"), std::string::npos);
}

TEST_F(MetricsServerTest, RefusesEverythingElse) {
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' " + base_ + "/").out, "404");
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' -X POST " + base_ + "/metrics").out,
            "405");
  // A request head over 8 KiB.
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' -H 'x-big: " +
                        std::string(9000, 'a') + "' " + base_ + "/metrics")
                .out,
            "431");
  // A silent client does not block the next scrape for more than the 2-second budget.
  UniqueFd silent(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(server_->port());
  sin.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(::connect(silent.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  EXPECT_EQ(
      run_command("curl -s -o /dev/null -w '%{http_code}' --max-time 5 " + base_ + "/metrics").out,
      "200");
}

TEST(TextfileTest, WritesAtomicallyAndReportsErrors) {
  Registry r;
  r.gauge("conntrail_flows_active", "Flows").set(5);
  const auto dir =
      std::filesystem::temp_directory_path() / ("ct-textfile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "conntrail.prom").string();
  ASSERT_TRUE(write_textfile(path, r).has_value());
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), r.expose());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto bad = write_textfile("/nonexistent-dir/x.prom", r);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("metrics.textfile"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace conntrail::metrics
