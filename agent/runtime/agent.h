// agent/runtime/agent.h — the daemon shell: owns the threads, the signals and the systemd dance.
//
// Lifecycle of Agent::run() (the function that makes each step):
//   1. block SIGTERM/SIGINT/SIGHUP in every thread and read them from a signalfd (no async
//      handlers);                                                          run()
//   2. bind the API server and the metrics listener; a failure is logged once and run()
//      returns 1 without READY=1;                                          start()
//   3. start every registered worker on its own thread, then the API and metrics threads;
//   4. READY=1 and a STATUS= line;
//   5. loop on the signalfd: SIGHUP -> RELOADING=1, re-read the config file, apply what can
//      change at run time (TLS files, log level, reload hooks), say which changed keys need a
//      restart, READY=1;                                                   reload()
//      SIGTERM/SIGINT (or request_stop()) -> STOPPING=1 and leave the loop;
//      every WATCHDOG_USEC/2: WATCHDOG=1 only if every live thread's heartbeat is fresher than
//      heartbeat_timeout (a hung worker makes systemd restart us); STATUS= refresh;
//      metrics textfile;                                                   tick()
//   6. stop the API server, then workers in REVERSE registration order (each joined before the
//      next is stopped: register storage before capture so capture stops first and storage
//      flushes what capture handed it), then the metrics thread; return 0. A worker whose
//      run() fails makes run() stop everything and return 1.
//
// Wiring (for the coordinator): before run(),
//   agent.metrics()                      -> the registry capture/storage/api register into;
//   agent.add_worker({name, run, stop})  -> capture, storage writer, retention...;
//   agent.set_status_provider(fn)        -> numbers for GET /v1/status and STATUS=;
//   agent.set_api_handler(handler)       -> every request except GET /v1/status;
//   agent.on_reload(fn)                  -> officers file, retention... on SIGHUP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/http2/http_types.h"
#include "agent/metrics/registry.h"
#include "core/result.h"

namespace conntrail::agent {

using SteadyClock = std::chrono::steady_clock;

// A worker thread's proof of life. beat() is one relaxed atomic store.
class Heartbeat {
 public:
  void beat() noexcept {
    last_.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  SteadyClock::time_point last() const noexcept {
    return SteadyClock::time_point(SteadyClock::duration(last_.load(std::memory_order_relaxed)));
  }

 private:
  std::atomic<SteadyClock::rep> last_{SteadyClock::now().time_since_epoch().count()};
};

struct WorkerSpec {
  std::string name;
  // Optional, called on the main thread before READY=1 (open the pcap, the data directory):
  // an error here is a start-up error (logged, exit 1, never READY=1).
  std::function<Result<void>()> prepare;
  // Runs on a thread the Agent owns. Must call hb.beat() at least every second or so (the
  // watchdog allows heartbeat_timeout) and return soon after stop(). Returning an error stops
  // the agent (exit 1); returning success means "finished" (e.g. a pcap file consumed): the
  // agent keeps serving and no longer expects heartbeats from it.
  std::function<Result<void>(Heartbeat& hb)> run;
  // Asks run() to return; called from the agent's main thread.
  std::function<void()> stop;
};

// Figures for GET /v1/status and the STATUS= line; unknown ones stay empty.
struct StatusFigures {
  std::optional<std::uint64_t> flows_stored;
  std::optional<std::uint64_t> shards;
  std::string summary;  // e.g. "1234 flows/s, 0 drops, shard 2026-11-29T18, 81% disk free"
};
// Called from the API thread (GET /v1/status) and the main thread (STATUS=): must be
// thread-safe and quick (read atomics or a snapshot, never query the shards synchronously).
using StatusProvider = std::function<StatusFigures()>;

struct AgentOptions {
  // How old a heartbeat may be before the watchdog stops confirming liveness.
  std::chrono::milliseconds heartbeat_timeout{std::chrono::seconds(10)};
  // STATUS= refresh period (also the main loop's longest sleep without a watchdog).
  std::chrono::milliseconds status_interval{std::chrono::seconds(5)};
};

class Agent {
 public:
  explicit Agent(AgentConfig config, AgentOptions options = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  metrics::Registry& metrics() noexcept;
  // The configuration in force (replaced on a successful SIGHUP reload).
  std::shared_ptr<const AgentConfig> config() const;
  void add_worker(WorkerSpec worker);
  void set_status_provider(StatusProvider provider);
  void set_api_handler(http2::Handler handler);
  void on_reload(std::function<void(const AgentConfig&)> hook);

  // Runs until SIGTERM/SIGINT or request_stop(); returns the process exit code.
  int run();
  // Thread-safe equivalents of SIGTERM and SIGHUP (tests, embedding).
  void request_stop();
  void request_reload();

  // Valid once READY=1 was sent (tests bind port 0).
  std::vector<std::uint16_t> api_ports() const;
  std::optional<std::uint16_t> metrics_port() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Builds the JSON of GET /v1/status.
std::string status_json(std::int64_t uptime_seconds, const StatusFigures& figures);

// "key" names whose values differ between two configurations ("api.listen", ...).
std::vector<std::string> changed_keys(const AgentConfig& before, const AgentConfig& after);
// Whether a SIGHUP applies a change of this key without restart.
bool reloadable_key(const std::string& key);

}  // namespace conntrail::agent
