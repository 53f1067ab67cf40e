// Helpers for the HTTP/2 server and agent tests: a per-process test PKI, running
// commands (curl, python3-h2 client), and a free-port-bound server on its own thread.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace conntrail::testing_support {

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command, capturing stdout (stderr goes to the test log).
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A fresh test PKI for this process (scripts/make-test-pki.sh), removed at exit.
inline const std::string& test_pki() {
  static const std::string dir = [] {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/conntrail-pki-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return std::string();
    const auto r = run_command(std::string(CONNTRAIL_SOURCE_DIR) + "/scripts/make-test-pki.sh " +
                               tmpl + " >&2");
    if (r.exit_code != 0) return std::string();
    static std::string cleanup_dir = tmpl;
    std::atexit([] { std::filesystem::remove_all(cleanup_dir); });
    return tmpl;
  }();
  return dir;
}

inline std::string pki(const std::string& file) { return test_pki() + "/" + file; }

// curl --http2 with the named client certificate ("" = none); returns exit code and
// "<body>\n<http status>".
inline CommandResult curl(int port, const std::string& path, const std::string& client,
                          const std::string& extra = "") {
  std::string cmd = "curl -sS --max-time 15 --http2 --cacert " + pki("ca.crt");
  if (!client.empty()) cmd += " --cert " + pki(client + ".crt") + " --key " + pki(client + ".key");
  cmd += " " + extra + " -w '\\n%{http_code}' https://127.0.0.1:" + std::to_string(port) + path;
  return run_command(cmd + (std::getenv("CONNTRAIL_TEST_VERBOSE") ? " -v 2>&1" : " 2>/dev/null"));
}

// The python3-h2 client (tests/agent/http2_client.py) in `mode` with `args`.
inline CommandResult h2client(const std::string& mode, int port, const std::string& client,
                              const std::string& args = "") {
  std::string cmd = "/usr/bin/python3 " + std::string(CONNTRAIL_SOURCE_DIR) +
                    "/tests/agent/http2_client.py " + mode + " --port " + std::to_string(port) +
                    " --ca " + pki("ca.crt");
  if (!client.empty()) cmd += " --cert " + pki(client + ".crt") + " --key " + pki(client + ".key");
  return run_command(cmd + " " + args);
}

// The last line of curl output is the HTTP status.
inline std::string http_status(const CommandResult& r) {
  const auto nl = r.out.rfind('\n');
  return nl == std::string::npos ? r.out : r.out.substr(nl + 1);
}

}  // namespace conntrail::testing_support
