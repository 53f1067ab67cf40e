#include "agent/officers/officer_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "core/handle.h"
#include "storage/hash/sha256.h"

namespace conntrail::agent {
namespace {

using Json = nlohmann::json;

bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '@';
  });
}

bool printable(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Result<std::string> read_bounded(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("officers file {}: {}", path, std::strerror(errno)));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, fmt::format("officers file {}: {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxOfficersFileBytes) {
      return fail(ErrorCode::kLimit, fmt::format("officers file {} is larger than {} bytes", path,
                                                 kMaxOfficersFileBytes));
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::kRequester:
      return "requester";
    case Role::kApprover:
      return "approver";
    case Role::kAuditor:
      return "auditor";
  }
  return "unknown";
}

std::string_view to_string(IdentityFailure failure) noexcept {
  switch (failure) {
    case IdentityFailure::kUnknown:
      return "unknown_certificate";
    case IdentityFailure::kRevoked:
      return "revoked_officer";
    case IdentityFailure::kExpired:
      return "expired_officer";
  }
  return "unknown";
}

std::vector<std::string> Officer::role_names() const {
  std::vector<std::string> out;
  for (Role r : {Role::kRequester, Role::kApprover, Role::kAuditor}) {
    if (has(r)) out.emplace_back(to_string(r));
  }
  return out;
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string normalize_serial(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const auto nz = out.find_first_not_of('0');
  if (nz == std::string::npos) return out.empty() ? out : "0";
  return out.substr(nz);
}

std::string common_name(std::string_view name) {
  // RFC 2253: RDNs separated by unescaped ',' (or '+' within one RDN); '\' escapes.
  std::size_t i = 0;
  while (i < name.size()) {
    while (i < name.size() && name[i] == ' ') ++i;
    std::string attr;
    while (i < name.size() && name[i] != '=' && name[i] != ',' && name[i] != '+') attr += name[i++];
    std::string value;
    if (i < name.size() && name[i] == '=') {
      ++i;
      while (i < name.size() && name[i] != ',' && name[i] != '+') {
        if (name[i] == '\\' && i + 1 < name.size()) ++i;
        value += name[i++];
      }
    }
    if (i < name.size()) ++i;  // the separator
    std::string upper;
    for (char c : attr) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "CN") return value;
  }
  return {};
}

Result<std::shared_ptr<const OfficerDirectory>> OfficerDirectory::load(const std::string& path) {
  auto text = read_bounded(path);
  if (!text) return std::unexpected(text.error());
  auto dir = parse(*text);
  if (!dir) {
    return fail(dir.error().code, fmt::format("officers file {}: {}", path, dir.error().message));
  }
  return dir;
}

Result<std::shared_ptr<const OfficerDirectory>> OfficerDirectory::parse(std::string_view text) {
  if (text.size() > kMaxOfficersFileBytes) {
    return fail(ErrorCode::kLimit, "officers file too large");
  }
  auto bad = [](std::string where, std::string why) {
    return fail(ErrorCode::kInvalidArgument, where + ": " + why);
  };
  const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return bad("officers file", "not valid JSON");
  if (!root.is_object()) return bad("officers file", "top level must be an object");
  for (const auto& [key, value] : root.items()) {
    if (key != "officers") return bad(key, "unknown key");
  }
  const auto list = root.find("officers");
  if (list == root.end() || !list->is_array()) return bad("officers", "missing or not an array");
  if (list->size() > kMaxOfficers) return bad("officers", "more than 10000 officers");

  auto dir = std::make_shared<OfficerDirectory>();
  dir->sha256_ = storage::sha256_hex(text);
  std::set<std::string, std::less<>> ids;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& o = (*list)[i];
    const std::string at = fmt::format("officers[{}]", i);
    if (!o.is_object()) return bad(at, "not an object");
    Officer off;
    std::optional<std::string> fp, issuer, serial, subject_cn, issuer_cn;
    bool have_cert = false;
    for (const auto& [key, value] : o.items()) {
      const std::string k = at + "." + key;
      if (key == "id" || key == "name" || key == "agency") {
        if (!value.is_string()) return bad(k, "must be a string");
        const auto& s = value.get_ref<const std::string&>();
        if (key == "id") {
          if (!valid_id(s)) return bad(k, "1-64 characters of [A-Za-z0-9._@-]");
          off.id = s;
        } else {
          if (s.empty() || s.size() > 256 || !printable(s)) {
            return bad(k, "1-256 printable characters");
          }
          (key == "name" ? off.name : off.agency) = s;
        }
      } else if (key == "roles") {
        if (!value.is_array() || value.empty()) return bad(k, "must be a non-empty array");
        for (std::size_t r = 0; r < value.size(); ++r) {
          const std::string rk = fmt::format("{}[{}]", k, r);
          if (!value[r].is_string()) return bad(rk, "must be a string");
          const auto& name = value[r].get_ref<const std::string&>();
          if (name == "requester") {
            off.roles |= static_cast<std::uint8_t>(Role::kRequester);
          } else if (name == "approver") {
            off.roles |= static_cast<std::uint8_t>(Role::kApprover);
          } else if (name == "auditor") {
            off.roles |= static_cast<std::uint8_t>(Role::kAuditor);
          } else {
            return bad(rk, "unknown role '" + name + "' (requester, approver, auditor)");
          }
        }
      } else if (key == "expires") {
        if (!value.is_string()) return bad(k, "must be an RFC 3339 time string");
        auto t = parse_time(value.get_ref<const std::string&>());
        if (!t) return bad(k, t.error().message);
        off.expires = *t;
      } else if (key == "revoked") {
        if (!value.is_boolean()) return bad(k, "must be true or false");
        off.revoked = value.get<bool>();
      } else if (key == "certificate") {
        if (!value.is_object()) return bad(k, "must be an object");
        have_cert = true;
        for (const auto& [ck, cv] : value.items()) {
          const std::string kk = k + "." + ck;
          if (!cv.is_string() || cv.get_ref<const std::string&>().empty()) {
            return bad(kk, "must be a non-empty string");
          }
          const auto& s = cv.get_ref<const std::string&>();
          if (s.size() > 1024) return bad(kk, "longer than 1024 characters");
          if (ck == "sha256") {
            fp = normalize_fingerprint(s);
            if (!storage::is_sha256_hex(*fp)) return bad(kk, "not a SHA-256 fingerprint");
          } else if (ck == "issuer") {
            issuer = s;
          } else if (ck == "serial") {
            serial = normalize_serial(s);
            if (!std::all_of(serial->begin(), serial->end(),
                             [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
              return bad(kk, "not a hexadecimal serial number");
            }
          } else if (ck == "subject_cn") {
            subject_cn = s;
          } else if (ck == "issuer_cn") {
            issuer_cn = s;
          } else {
            return bad(kk, "unknown key");
          }
        }
        const int forms =
            (fp ? 1 : 0) + ((issuer || serial) ? 1 : 0) + ((subject_cn || issuer_cn) ? 1 : 0);
        if (forms != 1 || (issuer.has_value() != serial.has_value()) ||
            (subject_cn.has_value() != issuer_cn.has_value())) {
          return bad(k, "exactly one of {sha256}, {issuer, serial}, {subject_cn, issuer_cn}");
        }
      } else {
        return bad(k, "unknown key");
      }
    }
    if (off.id.empty()) return bad(at + ".id", "missing");
    if (off.name.empty()) return bad(at + ".name", "missing");
    if (off.agency.empty()) return bad(at + ".agency", "missing");
    if (off.roles == 0) return bad(at + ".roles", "missing");
    if (!have_cert) return bad(at + ".certificate", "missing");
    if (!ids.insert(off.id).second) return bad(at + ".id", "duplicate id '" + off.id + "'");
    const std::size_t index = dir->officers_.size();
    bool fresh = true;
    if (fp) fresh = dir->by_fingerprint_.emplace(*fp, index).second;
    if (issuer) fresh = dir->by_issuer_serial_.emplace(*issuer + "\n" + *serial, index).second;
    if (subject_cn) fresh = dir->by_names_.emplace(*subject_cn + "\n" + *issuer_cn, index).second;
    if (!fresh) return bad(at + ".certificate", "already assigned to another officer");
    dir->officers_.push_back(std::move(off));
  }
  return std::shared_ptr<const OfficerDirectory>(std::move(dir));
}

std::expected<const Officer*, IdentityFailure> OfficerDirectory::identify(
    const http2::ClientIdentity& client, TimestampNs now) const {
  const Officer* found = nullptr;
  if (auto it = by_fingerprint_.find(normalize_fingerprint(client.cert_sha256));
      !client.cert_sha256.empty() && it != by_fingerprint_.end()) {
    found = &officers_[it->second];
  } else if (auto is =
                 by_issuer_serial_.find(client.issuer + "\n" + normalize_serial(client.serial));
             !client.serial.empty() && is != by_issuer_serial_.end()) {
    found = &officers_[is->second];
  } else if (const std::string cn = common_name(client.subject); !cn.empty()) {
    if (auto in = by_names_.find(cn + "\n" + common_name(client.issuer)); in != by_names_.end()) {
      found = &officers_[in->second];
    }
  }
  if (found == nullptr) return std::unexpected(IdentityFailure::kUnknown);
  if (found->revoked) return std::unexpected(IdentityFailure::kRevoked);
  if (found->expires && *found->expires <= now) return std::unexpected(IdentityFailure::kExpired);
  return found;
}

}  // namespace conntrail::agent
