// agent/metrics/metrics_server.h — the Prometheus scrape endpoint and the textfile writer.
//
// MetricsServer answers exactly one thing, `GET /metrics` over plain HTTP/1.x, with the
// registry's text exposition, on its own listener (loopback by default: the figures are
// operational, not personal, but nothing outside the host needs them). Anything else gets
// 404/405/400. It is deliberately tiny: one connection at a time, Connection: close,
// request head at most 8 KiB, and a 2-second budget per connection, so a slow or
// malicious client can delay a scrape by two seconds at most and cannot hold memory.
// run() blocks on its own thread until stop() (thread-safe, via eventfd).
//
// write_textfile() is the alternative for node_exporter's textfile collector: it writes
// PATH.tmp and renames it over PATH, so the collector never reads half a file.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "agent/config/agent_config.h"
#include "agent/metrics/registry.h"
#include "core/handle.h"
#include "core/result.h"

namespace conntrail::metrics {

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> create(const agent::ListenAddress& listen,
                                                       Registry& registry);
  void run();
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  std::chrono::steady_clock::time_point heartbeat() const noexcept {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(heartbeat_.load()));
  }

 private:
  MetricsServer(UniqueFd listener, UniqueFd wake, std::uint16_t port, Registry& registry)
      : listener_(std::move(listener)), wake_(std::move(wake)), port_(port), registry_(registry) {}
  void serve_one(int fd);

  UniqueFd listener_;
  UniqueFd wake_;
  std::uint16_t port_;
  Registry& registry_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::chrono::steady_clock::rep> heartbeat_{0};
};

Result<void> write_textfile(const std::string& path, const Registry& registry);

}  // namespace conntrail::metrics
