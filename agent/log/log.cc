#include "agent/log/log.h"

#include <unistd.h>

#include <string>

namespace conntrail::agent::log {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace

void set_level(LogLevel lvl) noexcept { g_level.store(static_cast<int>(lvl)); }
LogLevel level() noexcept { return static_cast<LogLevel>(g_level.load()); }
bool enabled(LogLevel lvl) noexcept { return static_cast<int>(lvl) <= g_level.load(); }

void write(LogLevel lvl, std::string_view message) noexcept {
  try {
    std::string line = fmt::format("<{}>", static_cast<int>(lvl));
    line.reserve(line.size() + message.size() + 1);
    for (char c : message) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
    line.push_back('\n');
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n <= 0) return;  // stderr gone: nothing sensible left to do with a log line
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  } catch (...) {
    // Out of memory while logging: drop the line rather than take the process down.
  }
}

bool RateLimit::allow(Clock::time_point now, std::uint64_t* suppressed) noexcept {
  std::lock_guard lock(mu_);
  if (in_window_ == 0 || now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace conntrail::agent::log
