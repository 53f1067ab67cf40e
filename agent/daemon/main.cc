// conntrail-agent — the daemon's entry point: command line, then the Agent.
//
//   conntrail-agent --config FILE                 run (systemd Type=notify service)
//   conntrail-agent --config FILE --check-config  validate, print every error, exit 1 if any
//   conntrail-agent --config FILE --print-config  print the effective configuration
//   conntrail-agent --version
//
// Exit codes: 0 clean stop, 1 configuration or start-up error, 2 usage error.
#include <boost/program_options.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <iostream>
#include <string>

#include "agent/config/agent_config.h"
#include "agent/log/log.h"
#include "agent/api/lawful_api.h"
#include "agent/runtime/agent.h"
#include "agent/runtime/data_pipeline.h"
#include "agent/runtime/deletion_relay.h"
#include "agent/runtime/module_options.h"
#include "agent/runtime/storage_flow_query.h"
#include "agent/runtime/storage_session_query.h"
#include "agent/version.h"
#include "storage/store/data_dir_lock.h"

namespace po = boost::program_options;
using namespace conntrail;

int main(int argc, char** argv) {
  po::options_description desc("conntrail-agent options");
  desc.add_options()("help,h", "show this help")("version", "print the version and exit")(
      "config,c", po::value<std::string>(), "configuration file (INI)")(
      "check-config", "validate the configuration and exit")(
      "print-config", "print the effective configuration and exit");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conntrail-agent: %s\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: conntrail-agent --config FILE [--check-config | --print-config]\n" << desc;
    return 0;
  }
  if (vm.count("version")) {
    std::printf("conntrail-agent %s\n", version());
    return 0;
  }
  if (!vm.count("config")) {
    std::fprintf(stderr, "conntrail-agent: --config FILE is required (see --help)\n");
    return 2;
  }
  const std::string path = vm["config"].as<std::string>();
  auto config = agent::load_config(path);
  if (!config) {
    for (const auto& e : config.error()) {
      // Checking is interactive: plain lines. Running: journald priority prefix.
      if (vm.count("check-config") || vm.count("print-config")) {
        std::fprintf(stderr, "%s\n", e.to_string().c_str());
      } else {
        agent::log::write(agent::LogLevel::kError, "config: " + e.to_string());
      }
    }
    if (vm.count("check-config")) {
      std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), config.error().size());
    }
    return 1;
  }
  if (vm.count("print-config")) {
    std::fputs(agent::format_config(*config).c_str(), stdout);
    return 0;
  }
  if (vm.count("check-config")) {
    std::printf("%s: OK\n", path.c_str());
    return 0;
  }
  // Before anything opens the shards or the journal: one process per data directory.
  auto lock = storage::DataDirLock::acquire(config->storage.data_dir);
  if (!lock) {
    agent::log::write(agent::LogLevel::kError, "storage: " + lock.error().message);
    return 1;
  }
  agent::Agent daemon(std::move(*config));
  const auto snapshot = daemon.config();

  // Storage is registered before capture: workers stop in reverse order, so
  // capture exports its open flows before the writer commits and stops.
  agent::DataPipeline pipeline(*snapshot, daemon.metrics());
  daemon.add_worker(pipeline.storage_worker());
  daemon.add_worker(pipeline.capture_worker());
  daemon.set_status_provider([&pipeline] { return pipeline.status(); });

  const auto store = agent::store_options(*snapshot);
  auto api = agent::LawfulApi::open(agent::lawful_api_options(*snapshot),
                                    agent::QueryFunctions{agent::make_storage_flow_query(store),
                                                          agent::make_storage_session_query(store)},
                                    agent::Clock{});
  if (!api) {
    agent::log::write(agent::LogLevel::kError, "api: " + api.error().message);
    return 1;
  }
  daemon.metrics().gauge_callback("conntrail_audit_journal_entries",
                                  "Entries in the hash-chained audit journal", {},
                                  [&api] { return static_cast<double>((*api)->journal_length()); });
  daemon.set_api_handler([&api](const http2::HttpRequest& r) { return (*api)->handle(r); });
  daemon.on_reload([&pipeline](const agent::AgentConfig& fresh) {
    pipeline.set_retention_months(static_cast<int>(fresh.storage.retention_months));
  });
  daemon.on_reload([&api](const agent::AgentConfig&) {
    if (auto r = (*api)->reload_officers(); !r) {
      agent::log::write(agent::LogLevel::kError, "officers: reload failed, keeping the old file: " +
                                                     r.error().message);
    }
  });
  // Retention deletes shards on storage's own schedule; each deletion recorded
  // in the manifest is copied into the audit journal within a minute.
  agent::DeletionRelay relay(snapshot->storage.data_dir, [&api](const agent::DataDeletion& d) {
    return (*api)->record_deletion(d);
  });
  std::atomic<bool> relay_stop{false};
  daemon.add_worker({"audit-relay", nullptr,
                     [&relay, &relay_stop](agent::Heartbeat& hb) -> Result<void> {
                       bool failing = false;
                       for (int tick = 0; !relay_stop.load(); ++tick) {
                         hb.beat();
                         if (tick % 240 == 0) {  // every 60 s of 250 ms ticks
                           auto n = relay.relay_new();
                           if (!n != failing) {  // log transitions, not every attempt
                             failing = !n;
                             agent::log::write(
                                 failing ? agent::LogLevel::kError : agent::LogLevel::kNotice,
                                 failing ? "audit: deletions not relayed yet: " + n.error().message
                                         : "audit: deletion relay works again");
                           }
                         }
                         std::this_thread::sleep_for(std::chrono::milliseconds(250));
                       }
                       return {};
                     },
                     [&relay_stop] { relay_stop.store(true); }});
  return daemon.run();
}
