// storage/journal/sha256.h — SHA-256 as a small value type over OpenSSL's EVP.
//
// The audit journal chains entries by SHA-256, and the lawful API hashes every
// result body it delivers; both use this one incremental hasher so the digest
// text form (64 lowercase hex digits) is the same everywhere. The EVP context
// has one owner (ctx_) and is freed in its deleter.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

// OpenSSL's EVP_MD_CTX, declared here so that only sha256.cc includes <openssl/evp.h>.
struct evp_md_ctx_st;

namespace conntrail::storage {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  // Never fails in practice; an allocation failure inside OpenSSL aborts
  // ("cannot happen after start-up"), because a silently wrong digest would
  // break the audit chain.
  Sha256();
  void update(std::string_view bytes);
  // The digest of everything fed so far; the hasher may keep being updated.
  Sha256Digest digest() const;
  std::string hex() const;

 private:
  struct FreeCtx {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<evp_md_ctx_st, FreeCtx> ctx_;
};

std::string sha256_hex(std::string_view bytes);
std::string to_hex(const Sha256Digest& digest);
// True for exactly 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text) noexcept;

}  // namespace conntrail::storage
