// `conntrail status [--config FILE]`: the operator's one-screen picture.
//
// What it shows comes from two places, so it works whether the agent runs
// or not: the data directory (shards by state, flows, bytes, disk free, the
// oldest data against the retention, holds, whether an agent holds the
// directory lock), and — when the agent runs — its own metrics endpoint on
// loopback (packets, drops, flows, queue depth, disk alarm, API requests).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "agent/cli/command.h"
#include "agent/config/agent_config.h"
#include "agent/net/socket_address.h"
#include "core/handle.h"
#include "storage/retention/calendar.h"
#include "storage/retention/retention.h"
#include "storage/store/data_dir_lock.h"
#include "storage/store/store_status.h"

namespace conntrail::cli {
namespace {

namespace po = boost::program_options;

constexpr std::size_t kMaxMetricsBytes = 1 << 20;

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 2000) == 1;  // our own loopback endpoint: 2 s is plenty
}

// GET /metrics from the agent's own exposition endpoint (plain HTTP/1.0 on
// loopback, bounded in size and time). Empty when nothing answers.
std::string scrape(const agent::ListenAddress& at) {
  UniqueFd fd(::socket(at.address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return {};
  sockaddr_storage ss{};
  const socklen_t len = agent::net::to_sockaddr(at.address, at.port, ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return {};
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return {};
  }
  std::string response;
  char buf[16384];
  while (response.size() < kMaxMetricsBytes && wait_for(fd.get(), POLLIN)) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") > 12 || body == std::string::npos) {
    return {};
  }
  return response.substr(body + 4);
}

// Sums every series of each metric name (labels folded).
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> values;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    auto name = line.substr(0, std::min(line.find('{'), space));
    try {
      values[name] += std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
      // a value we do not read (NaN written oddly): leave it out
    }
  }
  return values;
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

int run(std::span<const std::string> args) {
  std::string config_path = "/etc/conntrail/conntrail.conf";
  po::options_description desc("conntrail status [--config FILE]");
  desc.add_options()("help,h", "show this help")(
      "config", po::value(&config_path), "the agent's configuration (default /etc/conntrail/conntrail.conf)");
  po::variables_map vm;
  if (auto done = parse_options("status", desc, args, vm)) return *done;
  auto config = agent::load_config(config_path);
  if (!config) {
    for (const auto& e : config.error()) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  const std::filesystem::path data_dir = config->storage.data_dir;
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();

  // An agent holds the directory lock while it runs; taking it here (and
  // letting it go at once) is harmless when none does.
  const bool agent_running = !storage::DataDirLock::acquire(data_dir).has_value();
  std::printf("agent        %s (data directory %s)\n", agent_running ? "running" : "not running",
              data_dir.c_str());

  auto store = storage::status(data_dir);
  if (!store) {
    std::fprintf(stderr, "conntrail status: %s\n", store.error().message.c_str());
    return 1;
  }
  std::error_code ec;
  const auto space = std::filesystem::space(data_dir, ec);
  std::printf("storage      %llu flows, %llu sessions in %zu open + %zu sealed shards, %s on disk",
              static_cast<unsigned long long>(store->flows_stored),
              static_cast<unsigned long long>(store->sessions_stored), store->shards_open,
              store->shards_sealed, bytes_text(static_cast<double>(store->bytes_on_disk)).c_str());
  if (!ec) {
    std::printf(", %s free (%.0f%%)", bytes_text(static_cast<double>(space.available)).c_str(),
                100.0 * static_cast<double>(space.available) / static_cast<double>(space.capacity));
  }
  std::printf("\n");
  const auto cutoff =
      storage::retention_cutoff(now, static_cast<int>(config->storage.retention_months));
  if (store->oldest_period_start) {
    const double age_days = static_cast<double>(now - *store->oldest_period_start) / 86400e9;
    std::printf("retention    %u months; oldest data %.1f days old (deleted once older than %.1f days); "
                "%zu shards deleted so far\n",
                config->storage.retention_months, age_days,
                static_cast<double>(now - cutoff) / 86400e9, store->shards_expired);
  } else {
    std::printf("retention    %u months; no data stored yet\n", config->storage.retention_months);
  }
  if (auto holds = storage::list_holds(data_dir); holds && !holds->empty()) {
    std::printf("holds        %zu active preservation hold(s): `conntrail shards holds --data-dir %s`\n",
                holds->size(), data_dir.c_str());
  }

  if (!agent_running || !config->metrics.listen_enabled) return 0;
  if (config->metrics.listen.port == 0) {
    std::printf("metrics      the agent chose its metrics port at start (listen = %s): see its log\n",
                config->metrics.listen.to_string().c_str());
    return 0;
  }
  const auto text = scrape(config->metrics.listen);
  if (text.empty()) {
    std::printf("metrics      no answer from %s\n", config->metrics.listen.to_string().c_str());
    return 0;
  }
  auto m = parse_metrics(text);
  std::printf("capture      %.0f packets, %.0f flows exported (%.0f evicted), %.0f decode errors\n",
              m["conntrail_capture_packets_total"], m["conntrail_flows_exported_total"],
              m["conntrail_flows_evicted_total"], m["conntrail_capture_decode_errors_total"]);
  std::printf("drops        kernel %.0f, interface %.0f, storage queue %.0f\n",
              m["conntrail_capture_kernel_drops_total"], m["conntrail_capture_interface_drops_total"],
              m["conntrail_storage_queue_drops_total"]);
  std::printf("writer       %.0f rows written, %.0f failed, queue depth %.0f%s\n",
              m["conntrail_storage_rows_written_total"], m["conntrail_storage_rows_failed_total"],
              m["conntrail_storage_queue_depth"],
              m["conntrail_storage_disk_alarm"] > 0 ? ", DISK ALARM (writes failing)" : "");
  return 0;
}

static RegisterCommand reg({"status", "the agent's and the data directory's state, for a person",
                            &run});

}  // namespace
}  // namespace conntrail::cli
