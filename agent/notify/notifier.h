// agent/notify/notifier.h — the systemd readiness protocol (sd_notify), one place.
//
// Type=notify services tell systemd their state by datagrams to $NOTIFY_SOCKET:
// READY=1 once serving, STATUS=<text> for `systemctl status`, WATCHDOG=1 at least
// every WATCHDOG_USEC/2, RELOADING=1 (with MONOTONIC_USEC, systemd >= 253 requires it
// for Type=notify-reload) while re-reading configuration, then READY=1 again, and
// STOPPING=1 at the start of shutdown. Outside systemd ($NOTIFY_SOCKET unset) every
// call is a no-op that returns false, so the agent runs the same way by hand.
// Thread-safe: sd_notify() opens its own socket per call.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace conntrail::agent {

class Notifier {
 public:
  // Each returns true when a datagram was sent, false when not under systemd or on error.
  bool ready() const;
  bool status(std::string_view text) const;
  bool watchdog() const;
  bool reloading() const;  // RELOADING=1 + MONOTONIC_USEC=<CLOCK_MONOTONIC now>
  bool stopping() const;
  // Raw state string, e.g. "READY=1\nSTATUS=serving" (for combined updates).
  bool send(std::string_view state) const;

  // The watchdog period systemd expects (WATCHDOG_USEC for this PID), if enabled.
  static std::optional<std::chrono::microseconds> watchdog_interval();
};

}  // namespace conntrail::agent
