#include "storage/hash/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/handle.h"

namespace conntrail::storage {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "conntrail: OpenSSL SHA-256 failed in %s\n", what);
  std::abort();
}

}  // namespace

void Sha256::FreeCtx::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) die("init");
}

void Sha256::update(std::string_view bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) die("update");
}

Sha256Digest Sha256::digest() const {
  // Finalise a copy so the running context stays usable.
  Handle<EVP_MD_CTX, EVP_MD_CTX_free> copy(EVP_MD_CTX_new());
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1) die("copy");
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(copy.get(), out.data(), &len) != 1 || len != out.size()) die("final");
  return out;
}

std::string Sha256::hex() const { return to_hex(digest()); }

Sha256Digest sha256(std::span<const std::uint8_t> bytes) {
  return sha256(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Sha256Digest sha256(std::string_view text) {
  Sha256 h;
  h.update(text);
  return h.digest();
}

Result<Sha256Digest> sha256_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "open " + path.string() + ": " + std::strerror(errno));
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, "read " + path.string() + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return h.digest();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string to_hex(const Sha256Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (std::uint8_t b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

bool is_sha256_hex(std::string_view text) noexcept {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace conntrail::storage
