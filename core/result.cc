#include "core/result.h"

namespace conntrail {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kIo: return "I/O error";
    case ErrorCode::kNoSpace: return "no space left";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kPermission: return "permission denied";
    case ErrorCode::kLimit: return "limit reached";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

}  // namespace conntrail
