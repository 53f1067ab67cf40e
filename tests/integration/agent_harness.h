// tests/integration/agent_harness.h — driving the real binaries from an integration test.
//
// Shared by the end-to-end suites (walking skeleton, lawful API): run a command
// and read its output, start conntrail-agent with a NOTIFY_SOCKET the test owns,
// wait for its sd_notify states and for its exit. Header-only: each suite is one
// executable, and these are small.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/handle.h"

namespace conntrail::integration {

inline const std::string kAgent = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail-agent";
inline const std::string kTool = std::string(CONNTRAIL_BINARY_DIR) + "/agent/conntrail";

struct Command {
  int exit_code = -1;
  std::string out;  // stdout only; stderr goes to the test log
};

inline Command run(const std::string& cmd) {
  Command r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 8192> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The non-empty lines of `text`.
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

inline std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The datagram socket the agent's sd_notify writes to.
class NotifySocket {
 public:
  // Binds `path`; a failure is a fatal test failure in the caller.
  void open(const std::filesystem::path& path) {
    path_ = path.string();
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd_.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof(addr.sun_path));
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }

  const std::string& path() const { return path_; }

  // The next notify line that starts with `prefix` (others are skipped), or "".
  std::string await_state(std::string_view prefix,
                          std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 200) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) continue;
      // sd_notify may send several assignments in one datagram.
      for (const auto& line : lines(std::string(buf, static_cast<std::size_t>(n)))) {
        if (line.starts_with(prefix)) return line;
      }
    }
    return {};
  }

 private:
  std::string path_;
  UniqueFd fd_;
};

// fork + exec of conntrail-agent on `config`, in `dir`, with NOTIFY_SOCKET set and
// stderr into `log`.
inline pid_t spawn_agent(const std::filesystem::path& config, const std::filesystem::path& dir,
                         const NotifySocket& notify, const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execl(kAgent.c_str(), kAgent.c_str(), "--config", config.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

// Exit code of `pid` once it exits (-1 on a signal, -2 when it has not exited in
// time); `pid` becomes -1 once reaped.
inline int await_exit(pid_t& pid, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -2;
}

}  // namespace conntrail::integration
