#!/usr/bin/env bash
# Runs conntrail-agent.service under a real systemd: the installed .deb in a booted Debian 12
# container (systemd-nspawn --boot, private network: only the container's own loopback).
#
#   tests/packaging/test-unit-runtime.sh DEB
# Checks:
#   - after boot the service is installed, disabled and not running (nothing captures before an
#     operator configures an interface);
#   - with the shipped configuration `systemctl start` fails (the agent never reports READY) and
#     the agent's reason is in the journal;
#   - the hardening lets a libpcap capture work: a drop-in swaps ExecStart for tcpdump (libpcap,
#     AF_PACKET, promiscuous) on the container's loopback and keeps every sandbox setting; it
#     must capture as user conntrail into /var/lib/conntrail (StateDirectory=, UMask=0077);
#   - `systemd-analyze security conntrail-agent` inside agrees with the offline figure.
# Root needed; uses systemd-nspawn (apt-get install systemd-container) and mmdebstrap.
# The container root (Debian 12 + systemd + tcpdump) is cached in CONNTRAIL_TEST_ROOT_CACHE
# (default /var/cache/conntrail-test-root), used through an overlay so the cache stays clean.
# Prints "test-unit-runtime: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

deb=$(realpath "${1:?usage: test-unit-runtime.sh DEB}")
[[ -f $deb ]] || { echo "test-unit-runtime: no such package: $deb" >&2; exit 1; }
[[ -f $deb ]] || { echo "test-unit-runtime: no such package: $deb" >&2; exit 1; }
cache=${CONNTRAIL_TEST_ROOT_CACHE:-/var/cache/conntrail-test-root}
base=$cache/bookworm-systemd
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
finish() { echo "test-unit-runtime: $passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit; }

for tool in systemd-nspawn mmdebstrap nsenter; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install systemd-container mmdebstrap)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/conntrail-unit-runtime.XXXXXX)
mounts=() nspawn_pid=
cleanup() {
  if [[ -n $nspawn_pid ]]; then
    kill "$nspawn_pid" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$nspawn_pid" 2>/dev/null
  fi
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -x $base/lib/systemd/systemd ]]; then
  sources=/etc/apt/sources.list.d/debian.sources
  [[ -f $sources ]] || sources=/etc/apt/sources.list
  echo "creating the Debian 12 + systemd root in $base (cached for later runs)"
  mkdir -p "$cache"
  rm -rf "$base.tmp"
  if ! mmdebstrap --mode=root --variant=apt --include=systemd,systemd-sysv,dbus,tcpdump \
       bookworm "$base.tmp" "$sources" </dev/null >"$work/mmdebstrap.log" 2>&1; then
    tail -20 "$work/mmdebstrap.log"; fail "mmdebstrap"; finish
  fi
  mv "$base.tmp" "$base"
fi

root=$work/root
mkdir -p "$work/upper" "$work/ovl" "$root" "$cache/archives/partial"
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl" "$root"; then
  mounts+=("$root")
else
  cp -a "$base/." "$root/"
fi

# Install the package with apt in a chroot (dependencies from the Debian registry) ...
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --bind "$cache/archives" "$root/var/cache/apt/archives" && mounts+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
cp "$deb" "$root/tmp/"
if ! chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
     "apt-get update -qq && apt-get install -y -q -o APT::Keep-Downloaded-Packages=true /tmp/$(basename "$deb")" \
     >"$work/install.log" 2>&1; then
  tail -20 "$work/install.log"; fail "install $(basename "$deb")"; finish
fi
pass "install $(basename "$deb")"
umount "$root/var/cache/apt/archives" "$root/proc"
mounts=("${mounts[@]:0:1}")

# ... then boot it.
systemd-nspawn -q -D "$root" --private-network --boot --register=no --keep-unit \
  --machine="conntrail-test-$$" --console=passive </dev/null >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
leader=
for _ in $(seq 60); do
  leader=$(ps -eo pid=,ppid=,comm= | awk -v p="$nspawn_pid" '$2 == p && $3 == "systemd" {print $1}')
  [[ -n $leader ]] && break
  sleep 0.5
done
if [[ -z $leader ]]; then cat "$work/nspawn.log"; fail "container did not boot"; finish; fi
inside() { nsenter -t "$leader" -a "$@"; }
state=$(timeout 120 nsenter -t "$leader" -a systemctl is-system-running --wait 2>&1)
check "container booted ($state)" test "$state" = running -o "$state" = degraded

# 1. Installed, disabled, not started at boot.
check "unit is disabled after install ($(inside systemctl is-enabled conntrail-agent 2>&1))" \
  test "$(inside systemctl is-enabled conntrail-agent 2>&1)" = disabled
check "agent not running after boot" \
  test "$(inside systemctl is-active conntrail-agent 2>&1)" = inactive

# 2. The shipped configuration captures nothing and does not come up.
inside timeout 150 systemctl start conntrail-agent >/dev/null 2>&1
rc=$?
active=$(inside systemctl is-active conntrail-agent 2>&1)
check "systemctl start with the shipped configuration fails (rc=$rc, $active)" \
  test "$rc" -ne 0 -a "$active" != active
# Only the agent's own lines (_SYSTEMD_UNIT=), not systemd's "Starting ..." and "Failed".
reason=$(inside journalctl _SYSTEMD_UNIT=conntrail-agent.service -o cat --no-pager 2>/dev/null | head -1)
check "the journal has the agent's reason: ${reason:-<nothing>}" test -n "$reason"
inside systemctl stop conntrail-agent 2>/dev/null
inside systemctl reset-failed conntrail-agent 2>/dev/null

# 3. The sandbox lets libpcap capture: same unit, ExecStart swapped for tcpdump.
mkdir -p "$root/etc/systemd/system/conntrail-agent.service.d"
cat >"$root/etc/systemd/system/conntrail-agent.service.d/capture-probe.conf" <<'DROPIN'
# tests/packaging/test-unit-runtime.sh: every sandbox setting of the unit, a libpcap capture.
[Service]
Type=exec
ExecStart=
ExecStart=/usr/bin/tcpdump -i lo -c 4 -U -w /var/lib/conntrail/probe.pcap
ExecReload=
WatchdogSec=0
DROPIN
inside systemctl daemon-reload
inside systemctl start conntrail-agent
sleep 1
inside bash -c 'for i in 1 2 3 4; do (echo > /dev/tcp/127.0.0.1/9) 2>/dev/null; done'
for _ in $(seq 20); do
  [[ $(inside systemctl is-active conntrail-agent 2>&1) == active ]] || break
  sleep 0.5
done
result=$(inside systemctl show conntrail-agent -p Result --value)
status=$(inside systemctl show conntrail-agent -p ExecMainStatus --value)
check "libpcap capture under the sandbox exits cleanly (Result=$result, status=$status)" \
  test "$result" = success -a "$status" = 0
packets=$(inside tcpdump -nr /var/lib/conntrail/probe.pcap 2>/dev/null | wc -l)
check "captured $packets packets on the container's loopback" test "$packets" -ge 4
owner=$(inside stat -c '%U:%G %a' /var/lib/conntrail/probe.pcap 2>&1)
check "capture file written as conntrail with UMask=0077 ($owner)" test "$owner" = "conntrail:conntrail 600"
inside journalctl -u conntrail-agent -o cat --no-pager | tail -3 | sed 's/^/  journal: /'
rm -rf "$root/etc/systemd/system/conntrail-agent.service.d"
inside systemctl daemon-reload

# 4. Online and offline analysis agree.
online=$(inside systemd-analyze security --no-pager conntrail-agent 2>&1 |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
offline=$(systemd-analyze security --offline=yes --no-pager packaging/systemd/conntrail-agent.service 2>&1 |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "exposure inside the running systemd: $online (offline $offline)" \
  awk -v e="${online:-99}" 'BEGIN { exit !(e <= 2.0) }'
finish
