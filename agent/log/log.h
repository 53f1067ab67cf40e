// agent/log/log.h — one line per event on stderr, with sd-daemon priority prefixes.
//
// journald reads the "<N>" prefix (SD_ERR = 3 ... SD_DEBUG = 7, <systemd/sd-daemon.h>)
// as the priority of the line, so the agent needs no syslog socket. Each event is one
// write(2) of one line, so lines from different threads never interleave.
//
// Policy (STYLE.md, systemd): log each error once, at the boundary that decides; no
// personal data (addresses, officer names, selectors) below debug level; repeated
// events go through a RateLimit so a misbehaving client cannot flood the journal.
// The level is a process-wide atomic so SIGHUP can change it without locks.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "agent/config/agent_config.h"

namespace conntrail::agent::log {

void set_level(LogLevel level) noexcept;
LogLevel level() noexcept;
bool enabled(LogLevel level) noexcept;

// Writes "<N>message\n" to stderr (newlines inside message are replaced by spaces so
// that one event stays one journal entry).
void write(LogLevel level, std::string_view message) noexcept;

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(LogLevel::kError))
    write(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(LogLevel::kWarning))
    write(LogLevel::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(LogLevel::kNotice))
    write(LogLevel::kNotice, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(LogLevel::kInfo)) write(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(LogLevel::kDebug))
    write(LogLevel::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

// Lets at most `burst` events through per `interval`; counts the rest and reports how
// many were suppressed with the next event let through. One RateLimit per kind of
// event (a static at the call site, or a member). Thread-safe. Time is injected for tests.
class RateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimit(std::uint32_t burst = 5,
                     Clock::duration interval = std::chrono::seconds(10)) noexcept
      : burst_(burst), interval_(interval) {}

  // True when this event may be logged; then *suppressed is the number dropped since
  // the last one that was allowed (0 most of the time).
  bool allow(Clock::time_point now, std::uint64_t* suppressed) noexcept;
  bool allow(std::uint64_t* suppressed) noexcept { return allow(Clock::now(), suppressed); }

 private:
  std::mutex mu_;
  std::uint32_t burst_;
  Clock::duration interval_;
  Clock::time_point window_start_{};
  std::uint32_t in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

// Logs through `limit`; appends " (N similar messages suppressed)" when some were.
template <class... Args>
void limited(RateLimit& limit, LogLevel lvl, fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(lvl)) return;
  std::uint64_t suppressed = 0;
  if (!limit.allow(&suppressed)) return;
  auto line = fmt::format(f, std::forward<Args>(args)...);
  if (suppressed > 0) line += fmt::format(" ({} similar messages suppressed)", suppressed);
  write(lvl, line);
}

}  // namespace conntrail::agent::log
