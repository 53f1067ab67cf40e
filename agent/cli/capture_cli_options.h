// agent/cli/capture_cli_options.h — the capture flags shared by `conntrail flows` and `ingest`.
//
// Both commands run the same capture pipeline (capture::read_capture_file) and
// must accept the same flags with the same meaning and the same checks, so the
// flags live here once: timeouts, tunnel layer, VLAN key, subscriber prefixes,
// flow table cap, and the attribution settings (subscriber-id order, open
// bound, RADIUS accounting ports, binding cap). add_to() registers them on a
// command's option set; build() turns the parsed values into
// capture::CaptureOptions or a usage message that names the flag.
#pragma once

#include <boost/program_options.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/pipeline/capture_file.h"
#include "core/result.h"

namespace conntrail::cli {

class CaptureCliOptions {
 public:
  void add_to(boost::program_options::options_description& desc);
  // kInvalidArgument with a message naming the offending flag.
  Result<capture::CaptureOptions> build() const;

 private:
  std::string tunnel_text_ = "inner";
  double idle_ = -1, active_ = -1, linger_ = -1;
  double tcp_idle_ = -1, udp_idle_ = -1, icmp_idle_ = -1, other_idle_ = -1;
  std::vector<std::string> prefixes_;
  std::size_t max_flows_ = 0;
  bool key_vlan_ = false;
  // Attribution.
  bool no_attribution_ = false;
  std::string subscriber_id_order_;
  double open_bound_s_ = 24 * 3600;
  std::vector<std::uint16_t> radius_ports_;
  std::size_t max_bindings_ = 1'000'000;
};

}  // namespace conntrail::cli
