// agent/metrics/registry.h — counters and gauges every module updates, exposed to Prometheus.
//
// Modules register a metric once at set-up (name, help, labels) and keep the returned
// reference: updates are a relaxed atomic add/store, no lock, no allocation, so the
// packet and request paths can afford them. Registration and exposition take the
// registry's mutex. References stay valid for the registry's lifetime (metrics are never
// removed). Values computed at scrape time (disk free, shard ages) are registered as
// callbacks and called by expose() on the scraping thread; they must be thread-safe.
//
// Names follow Prometheus conventions (https://prometheus.io/docs/practices/naming/):
// `conntrail_` prefix, base units (bytes, seconds), counters end in `_total`.
// Exposition is the text format 0.0.4, families sorted by name.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace conntrail::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Registry {
 public:
  // Same name + labels returns the same metric. Registering a name first as a counter and
  // then as a gauge is a programming error and aborts (it cannot happen after start-up).
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // A gauge whose value is read by calling `fn` at exposition time.
  void gauge_callback(const std::string& name, const std::string& help, const Labels& labels,
                      std::function<double()> fn);
  // A counter whose value is read by calling `fn` at exposition time: for totals another
  // module already keeps (capture's per-interface counters, the writer's statistics).
  void counter_callback(const std::string& name, const std::string& help, const Labels& labels,
                        std::function<double()> fn);

  // Prometheus text exposition format 0.0.4.
  std::string expose() const;

 private:
  enum class Type { kCounter, kGauge };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> callback;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series> series;  // key: rendered label set `{a="x",b="y"}`
  };
  Family& family(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Renders `{k="v",...}` with Prometheus escaping of \ " and newline; "" when empty.
std::string render_labels(const Labels& labels);

}  // namespace conntrail::metrics
