#include "agent/metrics/registry.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace conntrail::metrics {

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help, Type type) {
  auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}});
  if (!inserted && it->second.type != type) {
    std::fprintf(stderr, "<2>metrics: %s registered with two types\n", name.c_str());
    std::abort();
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = family(name, help, Type::kCounter).series[render_labels(labels)];
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = family(name, help, Type::kGauge).series[render_labels(labels)];
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

void Registry::gauge_callback(const std::string& name, const std::string& help,
                              const Labels& labels, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  family(name, help, Type::kGauge).series[render_labels(labels)].callback = std::move(fn);
}

void Registry::counter_callback(const std::string& name, const std::string& help,
                                const Labels& labels, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  family(name, help, Type::kCounter).series[render_labels(labels)].callback = std::move(fn);
}

namespace {
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}
}  // namespace

std::string Registry::expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    std::string help;
    for (char c : f.help) {
      if (c == '\\')
        help += "\\\\";
      else if (c == '\n')
        help += "\\n";
      else
        help += c;
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       f.type == Type::kCounter ? "counter" : "gauge");
    for (const auto& [labels, s] : f.series) {
      std::string value;
      if (s.counter)
        value = std::to_string(s.counter->value());
      else if (s.callback)
        value = format_value(s.callback());
      else if (s.gauge)
        value = format_value(s.gauge->value());
      else
        continue;
      out += fmt::format("{}{} {}\n", name, labels, value);
    }
  }
  return out;
}

}  // namespace conntrail::metrics
