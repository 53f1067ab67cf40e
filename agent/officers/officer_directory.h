// agent/officers/officer_directory.h — who the holder of a client certificate is.
//
// The TLS layer proves that a client holds a certificate our CA issued and
// that the CRL does not revoke; this module says which officer that is and
// what they may do. The officers file (JSON, path in the config) maps a
// certificate to an officer:
//
//   {"officers": [{"id": "officer-a", "name": "A. Example", "agency": "demo-police",
//                  "roles": ["requester", "approver"],
//                  "certificate": {"sha256": "ab:cd:…"},          // or
//                  //             {"issuer": "CN=…", "serial": "1A2B"},   or
//                  //             {"subject_cn": "officer-a", "issuer_cn": "conntrail demo CA"}
//                  "expires": "2027-06-30T00:00:00Z", "revoked": false}]}
//
// A certificate that matches no entry, or matches a revoked or expired
// officer, identifies nobody. Matching by subject CN + issuer CN trusts every
// certificate the CA issues under that name; it exists for per-run demo and
// test PKIs and should not be used with a shared CA.
//
// A directory is an immutable snapshot. Reload builds a new one and swaps it
// in (OfficerRegistry), so a request being handled keeps the snapshot it
// started with and a bad file never replaces a good one.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http2/http_types.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace conntrail::agent {

enum class Role : std::uint8_t { kRequester = 1, kApprover = 2, kAuditor = 4 };

std::string_view to_string(Role role) noexcept;

struct Officer {
  std::string id;
  std::string name;
  std::string agency;
  std::uint8_t roles = 0;  // bit set of Role
  std::optional<TimestampNs> expires;
  bool revoked = false;

  bool has(Role r) const noexcept { return (roles & static_cast<std::uint8_t>(r)) != 0; }
  std::vector<std::string> role_names() const;
};

enum class IdentityFailure { kUnknown, kRevoked, kExpired };

std::string_view to_string(IdentityFailure failure) noexcept;

// Limits on the officers file, so a bad file cannot exhaust memory.
inline constexpr std::size_t kMaxOfficersFileBytes = 1 << 20;
inline constexpr std::size_t kMaxOfficers = 10'000;

class OfficerDirectory {
 public:
  // Reads and validates the file. Errors name the officer index and key
  // ("officers[2].roles[0]: unknown role 'admin'").
  static Result<std::shared_ptr<const OfficerDirectory>> load(const std::string& path);
  static Result<std::shared_ptr<const OfficerDirectory>> parse(std::string_view json_text);

  // The officer this certificate identifies at `now`, or why none.
  std::expected<const Officer*, IdentityFailure> identify(const http2::ClientIdentity& client,
                                                          TimestampNs now) const;

  std::size_t size() const noexcept { return officers_.size(); }
  const std::vector<Officer>& officers() const noexcept { return officers_; }
  // SHA-256 of the file's bytes, journaled on every reload.
  const std::string& content_sha256() const noexcept { return sha256_; }

 private:
  std::vector<Officer> officers_;
  std::map<std::string, std::size_t, std::less<>> by_fingerprint_;
  std::map<std::string, std::size_t, std::less<>> by_issuer_serial_;  // issuer + '\n' + serial
  std::map<std::string, std::size_t, std::less<>> by_names_;  // subject CN + '\n' + issuer CN
  std::string sha256_;
};

// The current directory, swapped atomically on reload. Thread-safe.
class OfficerRegistry {
 public:
  explicit OfficerRegistry(std::shared_ptr<const OfficerDirectory> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const OfficerDirectory> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void replace(std::shared_ptr<const OfficerDirectory> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const OfficerDirectory> current_;
};

// Helpers shared with tests: "AB:cd:…" → "abcd…"; "00:1A" → "1A";
// the first CN value of an RFC 2253 name ("" when none).
std::string normalize_fingerprint(std::string_view text);
std::string normalize_serial(std::string_view text);
std::string common_name(std::string_view rfc2253);

}  // namespace conntrail::agent
