// storage/manifest/sha256.h — SHA-256 of bytes and of files (OpenSSL EVP behind a small API).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace conntrail::storage {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::span<const std::uint8_t> bytes);
Sha256Digest sha256(std::string_view text);
// Streams the file in 1 MiB pieces: bounded memory for any size.
Result<Sha256Digest> sha256_file(const std::filesystem::path& path);
std::string to_hex(const Sha256Digest& d);

}  // namespace conntrail::storage
