#!/usr/bin/env bash
# Installs every build, test and demo dependency of conntrail from Debian 12 packages.
# Idempotent: packages already present are left alone; safe to run on every build.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries (README "Dependencies" says why each is here)
  libpcap-dev libnghttp2-dev libssl-dev libsqlite3-dev libsystemd-dev
  libboost-program-options-dev nlohmann-json3-dev libfmt-dev libzstd-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  curl nghttp2-client python3 python3-h2 sqlite3 openssl iproute2 tcpreplay
  # fuzzing (libFuzzer needs clang >= 16 with GCC 12's libstdc++)
  clang-16 libclang-rt-16-dev
  # packaging checks: lintian, rpm, rpmlint, a clean Debian root, systemd-analyze
  lintian rpm rpmlint mmdebstrap dpkg-dev fakeroot man-db file systemd systemd-container
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
