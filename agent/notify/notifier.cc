#include "agent/notify/notifier.h"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <string>

namespace conntrail::agent {

bool Notifier::send(std::string_view state) const {
  const std::string s(state);
  // unset_environment = 0: the agent notifies for its whole life, not once.
  return sd_notify(0, s.c_str()) > 0;
}

bool Notifier::ready() const { return send("READY=1"); }

bool Notifier::status(std::string_view text) const {
  // STATUS is one line; a newline would start a new (bogus) assignment.
  std::string line(text);
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  return send("STATUS=" + line);
}

bool Notifier::watchdog() const { return send("WATCHDOG=1"); }

bool Notifier::reloading() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u +
                             static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  return send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec));
}

bool Notifier::stopping() const { return send("STOPPING=1"); }

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(usec));
}

}  // namespace conntrail::agent
