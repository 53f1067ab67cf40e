#include "core/session_record.h"

namespace conntrail {

std::string_view to_string(SessionSource source) noexcept {
  switch (source) {
    case SessionSource::kRadius: return "radius";
    case SessionSource::kDhcp: return "dhcp";
    case SessionSource::kImport: return "import";
  }
  return "import";
}

std::optional<SessionSource> session_source_from_string(std::string_view text) noexcept {
  for (auto s : {SessionSource::kRadius, SessionSource::kDhcp, SessionSource::kImport}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

}  // namespace conntrail
