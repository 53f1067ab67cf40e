// tests/integration/demo_agent_fixture.h — the demo's agent, in a temporary directory.
//
// Both end-to-end suites (walking skeleton, lawful API) run the real
// conntrail-agent as scripts/demo.sh does: the test PKI, the bundled capture
// retimed to end a minute ago, configs/demo.conf with the temporary paths and
// port 0. This fixture does those steps; each suite adds its officers and
// what it tests. Steps are separate calls so a suite can put its own between.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <string_view>

#include "tests/integration/agent_harness.h"

namespace conntrail::integration {

inline const std::string kSource = CONNTRAIL_SOURCE_DIR;
inline const std::string kPython = "/usr/bin/python3";  // Debian's: the demo scripts' modules

class DemoAgentTest : public ::testing::Test {
 protected:
  // A short temporary directory (the notify socket's name must fit
  // sockaddr_un) named from `prefix`, and the test PKI in it.
  void make_dir_and_pki(const std::string& prefix) {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/" + prefix + "-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    pki_ = dir_ / "pki";
    data_ = dir_ / "data";
    pcap_ = dir_ / "demo.pcap";
    ASSERT_EQ(run(kSource + "/scripts/make-test-pki.sh " + pki_.string() + " >&2").exit_code, 0);
  }

  // The bundled capture with its last packet a minute ago, as the demo does:
  // inside retention, and a request window ending now covers it whole.
  void retime_capture() {
    capture_end_ = std::time(nullptr) - 60;
    ASSERT_EQ(run(kPython + " " + kSource + "/scripts/demo-pcap.py retime " + kSource +
                  "/configs/demo/demo.pcap " + pcap_.string() + " --end " +
                  std::to_string(capture_end_) + " >&2")
                  .exit_code,
              0);
  }

  // configs/demo.conf with the temporary paths and port 0 for the API and
  // metrics; `api_extra` (lines) follows the API's listen line. The derived
  // file must name no demo path and pass --check-config.
  void write_config(const std::string& api_extra = "") {
    std::string text = slurp(kSource + "/configs/demo.conf");
    ASSERT_FALSE(text.empty());
    auto replace = [&](const std::string& from, const std::string& to) {
      const auto at = text.find(from);
      ASSERT_NE(at, std::string::npos) << "configs/demo.conf no longer has " << from;
      text.replace(at, from.size(), to);
    };
    replace("pcap_file = var/demo/demo.pcap", "pcap_file = " + pcap_.string());
    replace("data_dir = var/demo/data", "data_dir = " + data_.string());
    replace("listen = 127.0.0.1:8443",
            "listen = 127.0.0.1:0" + (api_extra.empty() ? "" : "\n" + api_extra));
    replace("listen = 127.0.0.1:9469", "listen = 127.0.0.1:0");
    replace("officers_file = var/demo/officers.json",
            "officers_file = " + (dir_ / "officers.json").string());
    for (const char* file : {"server.crt", "server.key", "ca.crt", "crl.pem"}) {
      replace(std::string("var/demo/pki/") + file, (pki_ / file).string());
    }
    for (const auto& line : lines(text)) {
      if (line.starts_with("#")) continue;
      ASSERT_EQ(line.find("var/demo"), std::string::npos)
          << "a demo path was not replaced: " << line;
    }
    config_ = dir_ / "agent.conf";
    std::ofstream(config_) << text;
    const auto check = run(kAgent + " --config " + config_.string() + " --check-config 2>&1");
    ASSERT_EQ(check.exit_code, 0) << check.out;
  }

  void open_notify_socket() { notify_.open(dir_ / "notify.sock"); }

  pid_t spawn(const std::filesystem::path& log) { return spawn_agent(config_, dir_, notify_, log); }

  std::string await_state(std::string_view prefix,
                          std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return notify_.await_state(prefix, timeout);
  }

  // Starts the agent and waits for READY=1; reads the API port from its start-up line
  // ("conntrail-agent VERSION ready: API on 127.0.0.1:0 (port N), ...").
  void start_agent() {
    log_ = dir_ / "agent.log";
    agent_ = spawn(log_);
    ASSERT_GT(agent_, 0);
    ASSERT_EQ(await_state("READY=1"), "READY=1") << "no READY=1; agent log:\n" << slurp(log_);
    std::smatch m;
    const std::string log = slurp(log_);
    ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(ready: API on \S+ \(port (\d+)\))")))
        << log;
    port_ = std::stoi(m[1].str());
    ASSERT_GT(port_, 0);
  }

  // Kills what still runs; keeps the directory of a failed test for inspection.
  void TearDown() override {
    for (pid_t pid : {agent_, second_}) {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    if (HasFailure()) {
      std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  std::filesystem::path dir_, pki_, data_, pcap_, config_, log_;
  NotifySocket notify_;
  std::time_t capture_end_ = 0;
  pid_t agent_ = -1;
  pid_t second_ = -1;
  int port_ = 0;
};

}  // namespace conntrail::integration
