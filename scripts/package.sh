#!/usr/bin/env bash
# Builds the conntrail .deb and .rpm with CPack, in a build directory of their own.
#   scripts/package.sh [BUILD_DIR]          default: build-pkg
# Environment:
#   PACKAGE_RELEASE   Debian revision / RPM Release (default 1); bump it to rebuild a version
#   GENERATORS        CPack generators (default "DEB RPM")
#   JOBS              parallel compile jobs (default 2)
#   CMAKE_ARGS        extra cmake arguments (e.g. -DCONNTRAIL_PACKAGE_CONFIG=/path/conntrail.conf)
# Prints the paths of the packages it made, one a line, on stdout (logs go to stderr).
#
# The binaries are built like Debian builds them: dpkg-buildflags with every hardening
# feature (PIE, relro + bindnow, fortify, stack protector), CMAKE_BUILD_TYPE=None so those
# flags are the only ones, tests and benchmarks off, and CPack strips them.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-pkg}
release=${PACKAGE_RELEASE:-1}
generators=${GENERATORS:-DEB RPM}

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

# shellcheck disable=SC2086  # CMAKE_ARGS is a list of arguments
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
  -DCONNTRAIL_BUILD_TESTS=OFF -DCONNTRAIL_BUILD_BENCH=OFF \
  -DCONNTRAIL_PACKAGE_RELEASE="$release" \
  ${CMAKE_ARGS:-} >&2
cmake --build "$build_dir" -j"${JOBS:-2}" >&2

out="$build_dir/packages"
mkdir -p "$out"
for g in $generators; do
  rm -f "$out"/*."${g,,}"
  (cd "$build_dir" && cpack -G "$g" -B "$PWD/packages" >&2)
  ls "$out"/*."${g,,}"
done
