// capture_live_probe IFACE [SNAPLEN] — runs the live capture engine on one
// interface until SIGINT/SIGTERM, then prints its counters, for the live
// benchmark in bench/run-capture-bench.sh (replay with tcpreplay --topspeed
// onto a veth and check for kernel drops). Records are counted and dropped.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "capture/source/live_capture.h"

int main(int argc, char** argv) {
  using namespace conntrail::capture;
  if (argc < 2) {
    std::fprintf(stderr, "usage: capture_live_probe IFACE [SNAPLEN]\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // capture threads inherit the mask

  LiveCaptureOptions options;
  InterfaceOptions iface;
  iface.pcap.interface = argv[1];
  if (argc > 2) iface.pcap.snaplen = std::atoi(argv[2]);
  options.interfaces.push_back(iface);
  std::uint64_t records = 0;
  auto capture = LiveCapture::start(options, [&records](conntrail::FlowRecord&&) {
    ++records;  // one interface: one thread calls this
    return true;
  });
  if (!capture) {
    std::fprintf(stderr, "capture_live_probe: %s\n", capture.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "capturing on %s\n", argv[1]);
  int sig = 0;
  sigwait(&signals, &sig);
  (*capture)->stop();
  for (const auto& c : (*capture)->counters()) {
    std::printf(
        "interface=%s packets=%llu bytes=%llu kernel_drops=%llu interface_drops=%llu "
        "decode_errors=%llu flows=%llu records=%llu error=%s\n",
        c.interface.c_str(), static_cast<unsigned long long>(c.counters.packets),
        static_cast<unsigned long long>(c.counters.bytes),
        static_cast<unsigned long long>(c.counters.kernel_drops),
        static_cast<unsigned long long>(c.counters.interface_drops),
        static_cast<unsigned long long>(c.counters.decode_errors),
        static_cast<unsigned long long>(c.counters.flows_exported),
        static_cast<unsigned long long>(records), c.error.c_str());
  }
  return 0;
}
