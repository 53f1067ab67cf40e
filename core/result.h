// core/result.h — the one error vocabulary every layer returns.
//
// Library code never throws across a module edge: a fallible function returns
// Result<T> (std::expected<T, Error>). The Error carries a machine-readable
// code, so callers can decide (retry, count, abort), and a human message that
// names what failed and why, so the boundary that logs it needs no more context.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace conntrail {

enum class ErrorCode {
  kInvalidArgument,  // caller passed something malformed (bad address, bad key)
  kNotFound,         // a file, record or key that must exist does not
  kIo,               // the OS refused a read or write
  kNoSpace,          // disk full (ENOSPC / SQLITE_FULL): retry when space returns
  kCorrupt,          // stored data failed an integrity or hash check
  kUnsupported,      // well-formed input we deliberately do not handle
  kPermission,       // authorisation or file-mode refusal
  kLimit,            // a configured bound was reached
  kInternal,         // a library call failed in a way that is our bug
};

const char* to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for returning a failure: `return fail(ErrorCode::kIo, "open " + path);`
inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace conntrail
