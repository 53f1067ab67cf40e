// agent/runtime/agent.cc — see agent.h for the lifecycle.
#include "agent/runtime/agent.h"

#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "agent/http2/server.h"
#include "agent/log/log.h"
#include "agent/metrics/metrics_server.h"
#include "agent/notify/notifier.h"
#include "agent/version.h"
#include "core/handle.h"

namespace conntrail::agent {

namespace {

// Keys a SIGHUP applies (issue 7: officers, TLS certificates, log level, retention).
const std::set<std::string>& reloadable_set() {
  static const std::set<std::string> kReloadable = {
      "api.tls_cert",      "api.tls_key", "api.client_ca",           "api.crl",
      "api.officers_file", "log.level",   "storage.retention_months"};
  return kReloadable;
}

std::map<std::string, std::string> key_values(const AgentConfig& c) {
  std::map<std::string, std::string> out;
  std::istringstream in(format_config(c));
  std::string line;
  std::string section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find(" = ");
    const std::string key =
        section + "." + line.substr(0, eq == std::string::npos ? line.size() - 2 : eq);
    auto& v = out[key];
    const std::string value = eq == std::string::npos ? std::string() : line.substr(eq + 3);
    v += (v.empty() ? "" : ", ") + value;
  }
  return out;
}

http2::HttpResponse problem(int status, const char* title) {
  auto r = http2::HttpResponse::json(
      status, fmt::format(R"({{"type":"about:blank","title":"{}","status":{}}})", title, status));
  r.headers[0].second = "application/problem+json";
  return r;
}

}  // namespace

std::vector<std::string> changed_keys(const AgentConfig& before, const AgentConfig& after) {
  const auto a = key_values(before);
  const auto b = key_values(after);
  std::vector<std::string> out;
  for (const auto& [k, v] : b) {
    auto it = a.find(k);
    if (it == a.end() || it->second != v) out.push_back(k);
  }
  return out;
}

bool reloadable_key(const std::string& key) { return reloadable_set().contains(key); }

std::string status_json(std::int64_t uptime_seconds, const StatusFigures& f) {
  nlohmann::json j = {{"version", version()}, {"uptime_seconds", uptime_seconds}};
  j["flows_stored"] = f.flows_stored ? nlohmann::json(*f.flows_stored) : nlohmann::json(nullptr);
  j["shards"] = f.shards ? nlohmann::json(*f.shards) : nlohmann::json(nullptr);
  return j.dump();
}

struct WorkerSlot {
  WorkerSpec spec;
  Heartbeat heartbeat;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::atomic<bool> failed{false};
  std::string error;  // written by the worker thread before `failed`, read after
};

class Agent::Impl {
 public:
  Impl(AgentConfig config, AgentOptions opts)
      : config_(std::make_shared<const AgentConfig>(std::move(config))), options_(opts) {}

  int run();
  void reload();
  void tick(SteadyClock::time_point now);
  std::string status_line();
  http2::HttpResponse handle(const http2::HttpRequest& request);
  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(control_.get(), &one, sizeof(one));
  }

  mutable std::mutex config_mu_;
  std::shared_ptr<const AgentConfig> config_;
  AgentOptions options_;
  metrics::Registry registry_;
  std::vector<std::unique_ptr<WorkerSlot>> workers_;
  StatusProvider status_provider_;
  http2::Handler api_handler_;
  std::vector<std::function<void(const AgentConfig&)>> reload_hooks_;
  UniqueFd control_{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reload_requested_{false};

  Notifier notifier_;
  std::unique_ptr<http2::Server> server_;
  std::thread server_thread_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::thread metrics_thread_;
  SteadyClock::time_point started_ = SteadyClock::now();
  std::optional<std::chrono::microseconds> watchdog_;
  SteadyClock::time_point next_watchdog_{};
  SteadyClock::time_point next_status_{};
  SteadyClock::time_point next_textfile_{};
  bool watchdog_withheld_ = false;
  mutable std::mutex ports_mu_;
  std::vector<std::uint16_t> api_ports_;
  std::optional<std::uint16_t> metrics_port_;
};

http2::HttpResponse Agent::Impl::handle(const http2::HttpRequest& request) {
  if (request.path == "/v1/status") {
    if (request.method != "GET" && request.method != "HEAD") {
      auto r = problem(405, "Method not allowed");
      r.headers.emplace_back("allow", "GET");
      return r;
    }
    StatusFigures figures;
    if (status_provider_) figures = status_provider_();
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - started_).count();
    return http2::HttpResponse::json(200, status_json(uptime, figures));
  }
  if (api_handler_) return api_handler_(request);
  return problem(404, "Not found");
}

std::string Agent::Impl::status_line() {
  std::string listen;
  {
    std::lock_guard lock(config_mu_);
    for (const auto& a : config_->api.listen)
      listen += (listen.empty() ? "" : ", ") + a.to_string();
  }
  std::string line = fmt::format("serving API on {}; {} connection(s)", listen,
                                 server_ ? server_->connection_count() : 0);
  if (status_provider_) {
    const auto f = status_provider_();
    if (f.flows_stored) line += fmt::format("; {} flows stored", *f.flows_stored);
    if (f.shards) line += fmt::format("; {} shards", *f.shards);
    if (!f.summary.empty()) line += "; " + f.summary;
  }
  return line;
}

void Agent::Impl::tick(SteadyClock::time_point now) {
  if (watchdog_ && now >= next_watchdog_) {
    next_watchdog_ = now + *watchdog_ / 2;
    // Every live thread must have shown life within heartbeat_timeout.
    std::string stale;
    auto check = [&](const std::string& name, SteadyClock::time_point last) {
      if (now - last > options_.heartbeat_timeout) stale += (stale.empty() ? "" : ", ") + name;
    };
    if (server_) check("api", server_->heartbeat());
    if (metrics_server_) check("metrics", metrics_server_->heartbeat());
    for (const auto& w : workers_) {
      if (!w->finished.load()) check(w->spec.name, w->heartbeat.last());
    }
    if (stale.empty()) {
      notifier_.watchdog();
      if (watchdog_withheld_) log::notice("watchdog: all threads alive again");
      watchdog_withheld_ = false;
    } else if (!watchdog_withheld_) {
      watchdog_withheld_ = true;
      log::error("watchdog: thread(s) not responding: {}; withholding WATCHDOG=1", stale);
      notifier_.status("thread(s) not responding: " + stale);
    }
  }
  if (now >= next_status_) {
    next_status_ = now + options_.status_interval;
    if (!watchdog_withheld_) notifier_.status(status_line());
  }
  std::shared_ptr<const AgentConfig> cfg;
  {
    std::lock_guard lock(config_mu_);
    cfg = config_;
  }
  if (!cfg->metrics.textfile.empty() && now >= next_textfile_) {
    next_textfile_ = now + cfg->metrics.textfile_interval;
    if (auto r = metrics::write_textfile(cfg->metrics.textfile, registry_); !r) {
      static log::RateLimit limit(1, std::chrono::minutes(10));
      log::limited(limit, LogLevel::kWarning, "metrics: {}", r.error().message);
    }
  }
}

void Agent::Impl::reload() {
  notifier_.reloading();
  std::shared_ptr<const AgentConfig> old;
  {
    std::lock_guard lock(config_mu_);
    old = config_;
  }
  log::notice("reload: re-reading {}", old->source);
  auto fresh = load_config(old->source);
  if (!fresh) {
    for (const auto& e : fresh.error()) log::error("reload: {}", e.to_string());
    log::warning("reload: configuration has errors; the running configuration stays in force");
    notifier_.ready();
    return;
  }
  AgentConfig applied = *old;
  int applied_count = 0;
  for (const auto& key : changed_keys(*old, *fresh)) {
    if (!reloadable_key(key)) {
      log::warning("reload: {} changed; it takes effect only after a restart", key);
    } else {
      ++applied_count;
    }
  }
  applied.api.tls_cert = fresh->api.tls_cert;
  applied.api.tls_key = fresh->api.tls_key;
  applied.api.client_ca = fresh->api.client_ca;
  applied.api.crl = fresh->api.crl;
  applied.api.officers_file = fresh->api.officers_file;
  applied.log = fresh->log;
  applied.storage.retention_months = fresh->storage.retention_months;
  // TLS files are re-read even when their names did not change: that is how a renewed
  // certificate or a new CRL is picked up.
  if (auto r = server_->reload_tls(applied.api); !r) {
    log::error("reload: {}; new connections keep the previous TLS settings", r.error().message);
    applied.api.tls_cert = old->api.tls_cert;
    applied.api.tls_key = old->api.tls_key;
    applied.api.client_ca = old->api.client_ca;
    applied.api.crl = old->api.crl;
  }
  log::set_level(applied.log.level);
  auto snapshot = std::make_shared<const AgentConfig>(std::move(applied));
  {
    std::lock_guard lock(config_mu_);
    config_ = snapshot;
  }
  for (const auto& hook : reload_hooks_) hook(*snapshot);
  log::notice("reload: done ({} reloadable change(s) applied; TLS files re-read)", applied_count);
  notifier_.ready();
  notifier_.status(status_line());
}

int Agent::Impl::run() {
  // 1. Signals are read synchronously; block them before any thread exists so every thread
  //    inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sfd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sfd.valid() || !control_.valid()) {
    log::error("start: signalfd/eventfd: {}", std::strerror(errno));
    return 1;
  }
  const auto cfg = config_;
  log::set_level(cfg->log.level);

  // 2. Everything that can fail on configuration happens before READY=1.
  auto server = http2::Server::create(
      cfg->api, [this](const http2::HttpRequest& r) { return handle(r); }, &registry_);
  if (!server) {
    log::error("start: {}", server.error().message);
    return 1;
  }
  server_ = std::move(*server);
  if (cfg->metrics.listen_enabled) {
    auto ms = metrics::MetricsServer::create(cfg->metrics.listen, registry_);
    if (!ms) {
      log::error("start: {}", ms.error().message);
      return 1;
    }
    metrics_server_ = std::move(*ms);
  }
  {
    std::lock_guard lock(ports_mu_);
    api_ports_ = server_->ports();
    if (metrics_server_) metrics_port_ = metrics_server_->port();
  }
  registry_.gauge_callback(
      "conntrail_agent_uptime_seconds", "Seconds since the agent started", {},
      [started = started_] {
        return std::chrono::duration<double>(SteadyClock::now() - started).count();
      });
  registry_.gauge("conntrail_agent_info", "Version of the running agent", {{"version", version()}})
      .set(1);

  for (auto& w : workers_) {
    if (!w->spec.prepare) continue;
    if (auto r = w->spec.prepare(); !r) {
      log::error("start: {}: {}", w->spec.name, r.error().message);
      return 1;
    }
  }

  // 3. Threads.
  for (auto& w : workers_) {
    WorkerSlot* slot = w.get();
    slot->thread = std::thread([this, slot] {
      auto r = slot->spec.run(slot->heartbeat);
      if (!r) {
        slot->error = r.error().message;
        slot->failed.store(true);
        wake();
      }
      slot->finished.store(true);
    });
  }
  server_thread_ = std::thread([this] { server_->run(); });
  if (metrics_server_) metrics_thread_ = std::thread([this] { metrics_server_->run(); });

  // 4. Serving.
  watchdog_ = Notifier::watchdog_interval();
  std::string ports;
  for (auto p : server_->ports()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  log::notice("conntrail-agent {} ready: API on {} (port {}), {} worker(s){}", version(),
              cfg->api.listen.front().to_string(), ports, workers_.size(),
              metrics_server_ ? fmt::format(", metrics on port {}", metrics_server_->port()) : "");
  notifier_.ready();  // after the start-up line, so whoever waits for READY can read it
  const auto now0 = SteadyClock::now();
  next_watchdog_ = now0;
  next_status_ = now0;
  next_textfile_ = now0;
  tick(now0);

  // 5. Main loop.
  int exit_code = 0;
  bool stopping = false;
  while (!stopping) {
    auto wait = options_.status_interval;
    if (watchdog_) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog_ / 2));
    }
    wait = std::clamp(wait, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    pollfd p[2] = {{sfd.get(), POLLIN, 0}, {control_.get(), POLLIN, 0}};
    ::poll(p, 2, static_cast<int>(wait.count()));
    if ((p[0].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      while (::read(sfd.get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
        if (si.ssi_signo == SIGHUP) {
          reload_requested_.store(true);
        } else {
          log::notice("received {}; stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
          stop_requested_.store(true);
        }
      }
    }
    if ((p[1].revents & POLLIN) != 0) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto n = ::read(control_.get(), &v, sizeof(v));
    }
    for (const auto& w : workers_) {
      if (w->failed.load()) {
        log::error("{}: {}; stopping the agent", w->spec.name, w->error);
        exit_code = 1;
        stop_requested_.store(true);
        w->failed.store(false);
      }
    }
    if (stop_requested_.load()) {
      stopping = true;
      break;
    }
    if (reload_requested_.exchange(false)) reload();
    tick(SteadyClock::now());
  }

  // 6. Shutdown.
  notifier_.stopping();
  notifier_.status("stopping");
  server_->stop();
  server_thread_.join();
  for (auto it = workers_.rbegin(); it != workers_.rend(); ++it) {
    if ((*it)->spec.stop) (*it)->spec.stop();
    if ((*it)->thread.joinable()) (*it)->thread.join();
  }
  if (metrics_server_) {
    metrics_server_->stop();
    metrics_thread_.join();
  }
  if (!config_->metrics.textfile.empty()) {
    (void)metrics::write_textfile(config_->metrics.textfile, registry_);
  }
  log::notice("stopped (exit code {})", exit_code);
  return exit_code;
}

Agent::Agent(AgentConfig config, AgentOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), options)) {}

Agent::~Agent() {
  // run() joins everything it started; threads still joinable here mean run() never ran.
  for (auto& w : impl_->workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

metrics::Registry& Agent::metrics() noexcept { return impl_->registry_; }

std::shared_ptr<const AgentConfig> Agent::config() const {
  std::lock_guard lock(impl_->config_mu_);
  return impl_->config_;
}

void Agent::add_worker(WorkerSpec worker) {
  auto slot = std::make_unique<WorkerSlot>();
  slot->spec = std::move(worker);
  impl_->workers_.push_back(std::move(slot));
}

void Agent::set_status_provider(StatusProvider provider) {
  impl_->status_provider_ = std::move(provider);
}
void Agent::set_api_handler(http2::Handler handler) { impl_->api_handler_ = std::move(handler); }
void Agent::on_reload(std::function<void(const AgentConfig&)> hook) {
  impl_->reload_hooks_.push_back(std::move(hook));
}

int Agent::run() { return impl_->run(); }

void Agent::request_stop() {
  impl_->stop_requested_.store(true);
  impl_->wake();
}
void Agent::request_reload() {
  impl_->reload_requested_.store(true);
  impl_->wake();
}

std::vector<std::uint16_t> Agent::api_ports() const {
  std::lock_guard lock(impl_->ports_mu_);
  return impl_->api_ports_;
}
std::optional<std::uint16_t> Agent::metrics_port() const {
  std::lock_guard lock(impl_->ports_mu_);
  return impl_->metrics_port_;
}

}  // namespace conntrail::agent
