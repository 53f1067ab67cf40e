// storage/codec/zstd_codec.h — zstd frames for stored blocks (the only includer of <zstd.h>).
//
// compress() writes a standard zstd frame with its content size; decompress()
// refuses frames that do not declare a size or declare more than `max_size`,
// so a corrupt or hostile block can never make the reader allocate unbounded
// memory. A Compressor/Decompressor keeps its zstd context for re-use on one
// thread (creating a context per block costs more than compressing it).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/result.h"

namespace conntrail::storage::codec {

class Compressor {
 public:
  explicit Compressor(int level);
  ~Compressor();
  Compressor(Compressor&&) noexcept;
  Compressor& operator=(Compressor&&) noexcept;
  // Appends the frame to `out`.
  Result<void> compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(Decompressor&&) noexcept;
  Decompressor& operator=(Decompressor&&) noexcept;
  // Replaces `out` with the content; kCorrupt for a bad frame, kLimit above max_size.
  Result<void> decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                          std::size_t max_size);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace conntrail::storage::codec
