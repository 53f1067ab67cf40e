// agent/version.h — the release version, from CMake's project(VERSION).
#pragma once

namespace conntrail {
const char* version() noexcept;
}  // namespace conntrail
