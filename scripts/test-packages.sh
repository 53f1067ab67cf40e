#!/usr/bin/env bash
# Builds the conntrail packages and tests them end to end (issue 7):
#   1. scripts/package.sh twice: release 1, and release 2 of the same version (the upgrade);
#   2. lintian on the .deb (no error, no warning; overrides in packaging/debian/lintian-overrides),
#      rpmlint on the .rpm (no error; packaging/rpm/rpmlint.toml), `man --warnings` on the pages;
#   3. rpm -qpl / rpm -qpR / file modes and %config flags of the .rpm;
#   4. tests/packaging/check-unit.sh (systemd-analyze security <= 2.0, verify clean);
#   5. in a clean Debian 12 root (mmdebstrap, cached; an overlay per run so the cache stays
#      clean): install the .deb with apt (dependencies from the Debian registry), check user,
#      modes, that nothing is enabled; `conntrail-agent --version` and `--check-config` on the
#      shipped configuration as the conntrail user; upgrade to release 2 keeping a locally
#      modified conffile; remove; purge — configuration gone, retained data kept;
#   6. tests/packaging/test-unit-runtime.sh: the unit under a booted systemd (systemd-nspawn).
#
#   scripts/test-packages.sh [BUILD_DIR]        default build-pkg; run as root
# Environment:
#   CONNTRAIL_TEST_ROOT_CACHE  where the Debian 12 root and the .deb download cache are kept
#                              (default /var/cache/conntrail-test-root); delete it to rebuild
#   SKIP_CHROOT=1              stop after step 4
#   SKIP_RUNTIME=1             skip step 6
# Needs: lintian rpm rpmlint mmdebstrap dpkg-dev systemd man-db systemd-container.
# Prints PASS/FAIL/SKIP lines, the time of each phase, and "test-packages: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=$(realpath -m "${1:-build-pkg}")
cache=${CONNTRAIL_TEST_ROOT_CACHE:-/var/cache/conntrail-test-root}
passed=0 failed=0 skipped=0
start=$SECONDS
phase_start=$SECONDS

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
check() { # check DESCRIPTION COMMAND...: PASS when the command succeeds
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
phase_name=
phase() { # phase NAME: ends the running phase (printing its time) and starts NAME
  [[ -n $phase_name ]] && echo "--- $phase_name: $((SECONDS - phase_start)) s"
  phase_name=$1 phase_start=$SECONDS
  [[ $1 != done ]] && echo "=== $1"
}
finish() {
  phase done
  echo "test-packages: total $((SECONDS - start)) s"
  echo "test-packages: $passed passed, $failed failed, $skipped skipped"
  [[ $failed -eq 0 ]]
  exit
}

for tool in lintian rpm rpmlint rpmbuild dpkg-shlibdeps systemd-analyze man; do
  if ! command -v "$tool" >/dev/null; then
    echo "test-packages: $tool is missing: apt-get install lintian rpm rpmlint mmdebstrap" \
         "dpkg-dev systemd man-db" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/conntrail-test-packages.XXXXXX)
mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- 1. build both releases
phase "build"
cmake_args=${CMAKE_ARGS:-}
if [[ ! -f configs/conntrail.conf ]]; then
  # Only in a tree where the configuration module has not landed yet: a stand-in with the
  # same sections, so that the packaging itself can be tested. Never committed.
  mkdir -p "$build_dir"
  cat >"$build_dir/conntrail.conf.standin" <<'CONF'
# stand-in for configs/conntrail.conf (scripts/test-packages.sh)
[capture]
[storage]
[api]
tls_cert = /etc/conntrail/tls/server.crt
tls_key = /etc/conntrail/tls/server.key
client_ca = /etc/conntrail/tls/client-ca.crt
officers_file = /etc/conntrail/officers.json
[log]
[metrics]
CONF
  cmake_args+=" -DCONNTRAIL_PACKAGE_CONFIG=$build_dir/conntrail.conf.standin"
  echo "NOTE: configs/conntrail.conf is missing; packaging a stand-in configuration"
fi
mkdir -p "$work/r1" "$work/r2"
if ! CMAKE_ARGS=$cmake_args PACKAGE_RELEASE=1 scripts/package.sh "$build_dir" >"$work/r1.list" \
     2>"$work/build1.log"; then
  tail -40 "$work/build1.log"
  fail "build release 1"
  finish
fi
xargs -a "$work/r1.list" cp -t "$work/r1"
if ! CMAKE_ARGS=$cmake_args PACKAGE_RELEASE=2 scripts/package.sh "$build_dir" >"$work/r2.list" \
     2>"$work/build2.log"; then
  tail -40 "$work/build2.log"
  fail "build release 2"
  finish
fi
xargs -a "$work/r2.list" cp -t "$work/r2"
# Leave the build directory configured for release 1, as a plain scripts/package.sh would.
cmake -DCONNTRAIL_PACKAGE_RELEASE=1 "$build_dir" >/dev/null
deb1=$(ls "$work"/r1/*.deb) deb2=$(ls "$work"/r2/*.deb)
rpm1=$(ls "$work"/r1/*.rpm)
version=$(dpkg-deb -f "$deb1" Version)
check "built $(basename "$deb1") $(basename "$deb2") $(basename "$rpm1")" \
  test "$version" != "$(dpkg-deb -f "$deb2" Version)"

# ---------------------------------------------------------------- 2. lintian, rpmlint, man
phase "lint"
lintian --fail-on error,warning --info "$deb1" >"$work/lintian.out" 2>&1
rc=$?
grep -E '^[EW]:' "$work/lintian.out"
check "lintian: no error or warning" test "$rc" -eq 0
check "lintian: manual pages (manpage-has-errors-from-man, no-manual-page)" \
  bash -c "! grep -E 'manpage-|no-manual-page' '$work/lintian.out'"
rpmlint -c packaging/rpm/rpmlint.toml "$rpm1" >"$work/rpmlint.out" 2>&1
grep -E ': [EW]: ' "$work/rpmlint.out"
check "rpmlint: no error" grep -Eq '^ *1 packages and 0 specfiles checked; 0 errors' "$work/rpmlint.out"
mkdir -p "$work/deb-tree"
dpkg-deb -x "$deb1" "$work/deb-tree"
for page in "$work"/deb-tree/usr/share/man/man*/*.gz; do
  out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  check "man --warnings $(basename "$page")${out:+: $out}" test -z "$out"
done

# ---------------------------------------------------------------- 3. the .rpm's metadata
phase "rpm"
rpm -qpl "$rpm1" >"$work/rpm.list"
rpm -qpR "$rpm1" >"$work/rpm.requires"
echo "rpm -qpl:"; sed 's/^/  /' "$work/rpm.list"
echo "rpm -qpR:"; sed 's/^/  /' "$work/rpm.requires"
for f in /usr/bin/conntrail /usr/sbin/conntrail-agent /etc/conntrail/conntrail.conf \
         /usr/lib/systemd/system/conntrail-agent.service /usr/lib/sysusers.d/conntrail.conf \
         /var/lib/conntrail /usr/share/man/man8/conntrail-agent.8.gz \
         /usr/share/man/man8/conntrail.8.gz /usr/share/man/man5/conntrail.conf.5.gz; do
  check "rpm contains $f" grep -qx "$f" "$work/rpm.list"
done
check "rpm requires come from autoreq (libc.so.6)" grep -q '^libc.so.6' "$work/rpm.requires"
check "rpm has no lintian override file" bash -c "! grep -q lintian '$work/rpm.list'"
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
  "$rpm1" >"$work/rpm.attrs"
check "rpm: /etc/conntrail drwxr-x--- root conntrail" \
  grep -Eq '^drwxr-x--- root conntrail +/etc/conntrail$' "$work/rpm.attrs"
check "rpm: conntrail.conf -rw-r----- root conntrail %config(noreplace)" \
  grep -Eq '^-rw-r----- root conntrail cn /etc/conntrail/conntrail.conf$' "$work/rpm.attrs"
check "rpm: /var/lib/conntrail drwxr-x--- conntrail conntrail" \
  grep -Eq '^drwxr-x--- conntrail conntrail +/var/lib/conntrail$' "$work/rpm.attrs"
for s in preinstall postinstall preuninstall postuninstall; do
  check "rpm has a $s scriptlet" bash -c "rpm -qp --scripts '$rpm1' | grep -q '^$s scriptlet'"
done

# ---------------------------------------------------------------- 4. the unit
phase "unit"
if tests/packaging/check-unit.sh "$build_dir" >"$work/unit.out" 2>&1; then
  pass "check-unit.sh: $(tail -1 "$work/unit.out")"
else
  cat "$work/unit.out"
  fail "check-unit.sh"
fi
grep -E 'exposure' "$work/unit.out"

if [[ ${SKIP_CHROOT:-0} == 1 ]]; then
  skip "Debian 12 root install/upgrade/remove/purge (SKIP_CHROOT=1)"
  finish
fi
if [[ $(id -u) -ne 0 ]] || ! command -v mmdebstrap >/dev/null; then
  skip "Debian 12 root test needs root and mmdebstrap"
  finish
fi

# ---------------------------------------------------------------- 5. clean Debian 12 root
phase "root"
base=$cache/bookworm-apt
if [[ ! -x $base/usr/bin/apt-get ]]; then
  sources=/etc/apt/sources.list.d/debian.sources
  [[ -f $sources ]] || sources=/etc/apt/sources.list
  echo "creating the Debian 12 root in $base from $sources (cached for later runs)"
  rm -rf "$base.tmp"
  mkdir -p "$cache"
  if ! mmdebstrap --mode=root --variant=apt bookworm "$base.tmp" "$sources" \
       </dev/null >"$work/mmdebstrap.log" 2>&1; then
    tail -20 "$work/mmdebstrap.log"
    fail "mmdebstrap bookworm"
    finish
  fi
  mv "$base.tmp" "$base"
fi
mkdir -p "$cache/archives/partial" "$work/upper" "$work/ovl-work" "$work/root"
root=$work/root
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl-work" "$root"; then
  mounts+=("$root")
else
  echo "overlayfs unavailable: copying the root"
  cp -a "$base/." "$root/"
fi
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --bind /dev "$root/dev" && mounts+=("$root/dev")
# Downloaded .debs survive the run, so a second run fetches nothing.
mount --bind "$cache/archives" "$root/var/cache/apt/archives" && mounts+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
mkdir -p "$root/tmp/pkgs"
cp "$deb1" "$deb2" "$root/tmp/pkgs/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
apt_in_root() { in_root apt-get -y -q -o Dpkg::Use-Pty=0 -o APT::Keep-Downloaded-Packages=true "$@"; }
stat_of() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null; }
check "root: no systemd running in it (unit must stay untouched)" test ! -d "$root/run/systemd/system"
if ! apt_in_root update -qq >"$work/apt-update.log" 2>&1; then
  cat "$work/apt-update.log"
  fail "apt-get update in the root"
  finish
fi

phase "install"
apt_in_root install "/tmp/pkgs/$(basename "$deb1")" >"$work/install.log" 2>&1
rc=$?
[[ $rc -eq 0 ]] || tail -30 "$work/install.log"
check "install $(basename "$deb1") with apt (dependencies from the registry)" test "$rc" -eq 0
grep -E '^conntrail: ' "$work/install.log"
check "postinst tells how to enable the service" \
  grep -q 'systemctl enable --now conntrail-agent' "$work/install.log"
entry=$(in_root getent passwd conntrail)
check "user conntrail: system account, nologin, home /var/lib/conntrail ($entry)" \
  awk -F: -v e="$entry" 'BEGIN { split(e, f, ":");
    exit !(f[3] < 1000 && f[6] == "/var/lib/conntrail" && f[7] == "/usr/sbin/nologin") }'
check "group conntrail exists" in_root sh -c "getent group conntrail >/dev/null"
check "/etc/conntrail is root:conntrail 750 ($(stat_of /etc/conntrail))" \
  test "$(stat_of /etc/conntrail)" = "root:conntrail 750"
check "/etc/conntrail/tls is root:conntrail 750" test "$(stat_of /etc/conntrail/tls)" = "root:conntrail 750"
check "conntrail.conf is root:conntrail 640 ($(stat_of /etc/conntrail/conntrail.conf))" \
  test "$(stat_of /etc/conntrail/conntrail.conf)" = "root:conntrail 640"
check "/var/lib/conntrail is conntrail:conntrail 750" \
  test "$(stat_of /var/lib/conntrail)" = "conntrail:conntrail 750"
check "conntrail.conf is a conffile" \
  bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}' conntrail | grep -q /etc/conntrail/conntrail.conf"
check "the unit is installed" test -f "$root/usr/lib/systemd/system/conntrail-agent.service"
check "the service is not enabled" \
  bash -c "! ls '$root'/etc/systemd/system/*.wants/conntrail-agent.service 2>/dev/null"
check "manual pages installed" test -f "$root/usr/share/man/man5/conntrail.conf.5.gz"

out=$(in_root /usr/sbin/conntrail-agent --version 2>&1)
check "conntrail-agent --version: $out" test "$out" = "conntrail-agent ${version%-*}"
out=$(in_root /usr/bin/conntrail --version 2>&1)
check "conntrail --version: $out" test "$out" = "conntrail ${version%-*}"
# --check-config as the service user proves the group permissions let the agent read it.
as_agent=(setpriv --reuid=conntrail --regid=conntrail --init-groups)
if in_root /usr/sbin/conntrail-agent --help 2>&1 | grep -q -- --check-config; then
  out=$(in_root "${as_agent[@]}" /usr/sbin/conntrail-agent \
        --config /etc/conntrail/conntrail.conf --check-config 2>&1)
  check "conntrail-agent --check-config on the shipped config, as conntrail: $out" test $? -eq 0
  out=$(in_root setpriv --reuid=nobody --regid=nogroup --clear-groups \
        cat /etc/conntrail/conntrail.conf 2>&1)
  check "other users cannot read the configuration" test -z "${out##*Permission denied*}"
else
  skip "conntrail-agent --check-config (not in this build of the agent yet)"
fi

phase "upgrade"
echo "# local edit kept across upgrades (test-packages.sh)" >>"$root/etc/conntrail/conntrail.conf"
in_root "${as_agent[@]}" sh -c 'echo shard > /var/lib/conntrail/retained-test.sqlite'
apt_in_root install "/tmp/pkgs/$(basename "$deb2")" </dev/null >"$work/upgrade.log" 2>&1
rc=$?
[[ $rc -eq 0 ]] || tail -30 "$work/upgrade.log"
check "upgrade to $(dpkg-deb -f "$deb2" Version) without a prompt" test "$rc" -eq 0
check "installed version is now $(dpkg-deb -f "$deb2" Version)" \
  test "$(in_root dpkg-query -W -f='${Version}' conntrail)" = "$(dpkg-deb -f "$deb2" Version)"
check "the modified conffile was kept" grep -q 'local edit kept' "$root/etc/conntrail/conntrail.conf"
check "conntrail.conf still root:conntrail 640 after the upgrade" \
  test "$(stat_of /etc/conntrail/conntrail.conf)" = "root:conntrail 640"
check "data kept across the upgrade" test -f "$root/var/lib/conntrail/retained-test.sqlite"

phase "remove"
apt_in_root remove conntrail >"$work/remove.log" 2>&1
check "remove" test $? -eq 0
check "binaries gone after remove" test ! -e "$root/usr/sbin/conntrail-agent"
check "configuration kept after remove" test -f "$root/etc/conntrail/conntrail.conf"
check "data kept after remove" test -f "$root/var/lib/conntrail/retained-test.sqlite"
apt_in_root purge conntrail >"$work/purge.log" 2>&1
rc=$?
[[ $rc -eq 0 ]] || tail -30 "$work/purge.log"
check "purge" test "$rc" -eq 0
check "purge removed /etc/conntrail" test ! -e "$root/etc/conntrail"
check "purge removed the dpkg-statoverride entries" \
  bash -c "! chroot '$root' dpkg-statoverride --list | grep -q conntrail"
check "purge kept the retained data in /var/lib/conntrail" \
  test -f "$root/var/lib/conntrail/retained-test.sqlite"
check "purge says where the retained data is" grep -q 'retained records kept' "$work/purge.log"
check "package fully gone from dpkg" \
  bash -c "! chroot '$root' dpkg-query -W -f='\${Status}' conntrail 2>/dev/null | grep -q installed"
phase "runtime"
# The unit under a real systemd (booted container); needs systemd-nspawn.
if [[ ${SKIP_RUNTIME:-0} == 1 ]] || ! command -v systemd-nspawn >/dev/null; then
  skip "unit under a booted systemd (SKIP_RUNTIME=1 or no systemd-nspawn: apt-get install systemd-container)"
elif tests/packaging/test-unit-runtime.sh "$deb1" >"$work/runtime.out" 2>&1; then
  grep -E '^(PASS|SKIP)' "$work/runtime.out"
  pass "test-unit-runtime.sh: $(tail -1 "$work/runtime.out")"
else
  cat "$work/runtime.out"
  fail "test-unit-runtime.sh"
fi
finish
