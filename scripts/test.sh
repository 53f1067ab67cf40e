#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test.
#   scripts/test.sh            # build in ./build, run the whole suite
# Environment: BUILD_DIR (default build), CONNTRAIL_WERROR=ON to fail on warnings,
# CTEST_ARGS for extra ctest arguments (e.g. "-L unit").
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja \
  -DCONNTRAIL_WERROR="${CONNTRAIL_WERROR:-OFF}" \
  ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir"
# shellcheck disable=SC2086  # CTEST_ARGS is a list of arguments
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}
