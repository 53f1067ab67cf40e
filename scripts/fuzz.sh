#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 16 (ASan+UBSan) and runs each for a
# bounded time, seeded from the test captures. CI runs it; so can you:
#   scripts/fuzz.sh            # 60 s per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh
# A crash, a leak or an RSS above the limit fails the run and leaves the
# reproducer (crash-*, leak-*, oom-*) in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
scripts/install-deps.sh

# libstdc++ 12 shows std::expected only when __cpp_concepts >= 202002L; clang 16
# implements what that gate protects (P0848R3) but reports 201907L.
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCONNTRAIL_BUILD_FUZZ=ON \
  -DCONNTRAIL_BUILD_TESTS=OFF -DCONNTRAIL_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-U__cpp_concepts -D__cpp_concepts=202002L -Wno-macro-redefined" \
  -DCONNTRAIL_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build-fuzz --target capture_fuzzer capture_fuzz_seeds attribution_fuzzer \
  attribution_fuzz_seeds

echo "== capture fuzzer, ${seconds} s"
cmake --build build-fuzz --target run_capture_fuzzer
echo "== attribution fuzzer, ${seconds} s"
cmake --build build-fuzz --target run_attribution_fuzzer
