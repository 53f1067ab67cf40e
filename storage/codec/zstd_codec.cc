// storage/codec/zstd_codec.cc — see zstd_codec.h.
#include "storage/codec/zstd_codec.h"

#include <zstd.h>

#include <string>

namespace conntrail::storage::codec {

struct Compressor::Impl {
  struct Free {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
  };
  std::unique_ptr<ZSTD_CCtx, Free> ctx{ZSTD_createCCtx()};
  int level = 3;
};

struct Decompressor::Impl {
  struct Free {
    void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
  };
  std::unique_ptr<ZSTD_DCtx, Free> ctx{ZSTD_createDCtx()};
};

Compressor::Compressor(int level) : impl_(std::make_unique<Impl>()) { impl_->level = level; }
Compressor::~Compressor() = default;
Compressor::Compressor(Compressor&&) noexcept = default;
Compressor& Compressor::operator=(Compressor&&) noexcept = default;

Result<void> Compressor::compress(std::span<const std::uint8_t> in,
                                  std::vector<std::uint8_t>& out) {
  if (!impl_->ctx) return fail(ErrorCode::kInternal, "zstd: no compression context");
  const std::size_t bound = ZSTD_compressBound(in.size());
  const std::size_t old = out.size();
  out.resize(old + bound);
  const std::size_t n = ZSTD_compressCCtx(impl_->ctx.get(), out.data() + old, bound, in.data(),
                                          in.size(), impl_->level);
  if (ZSTD_isError(n)) {
    out.resize(old);
    return fail(ErrorCode::kInternal, std::string("zstd compress: ") + ZSTD_getErrorName(n));
  }
  out.resize(old + n);
  return {};
}

Decompressor::Decompressor() : impl_(std::make_unique<Impl>()) {}
Decompressor::~Decompressor() = default;
Decompressor::Decompressor(Decompressor&&) noexcept = default;
Decompressor& Decompressor::operator=(Decompressor&&) noexcept = default;

Result<void> Decompressor::decompress(std::span<const std::uint8_t> in,
                                      std::vector<std::uint8_t>& out, std::size_t max_size) {
  if (!impl_->ctx) return fail(ErrorCode::kInternal, "zstd: no decompression context");
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return fail(ErrorCode::kCorrupt, "zstd: not a sized frame");
  }
  if (size > max_size) return fail(ErrorCode::kLimit, "zstd: frame larger than allowed");
  out.resize(static_cast<std::size_t>(size));
  const std::size_t n =
      ZSTD_decompressDCtx(impl_->ctx.get(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != size) {
    out.clear();
    return fail(ErrorCode::kCorrupt, std::string("zstd decompress: ") +
                                         (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  return {};
}

}  // namespace conntrail::storage::codec
