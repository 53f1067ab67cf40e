#!/usr/bin/env bash
# Builds packaging/rpm/conntrail.spec with rpmbuild on Debian, with Fedora's macros replaced by
# tests/packaging/rpm-macros.fedora and BuildRequires not checked (--nodeps: they name Fedora
# packages), then checks that the native RPM carries the same files, owners, modes and %config
# flags as the CPack RPM, and that the spec's Version is project()'s.
#
#   tests/packaging/check-spec.sh [CPACK_RPM]
# CPACK_RPM: the CPack .rpm to compare with (default: build-pkg/packages/*.rpm if present).
# Compiles the whole project once (tests off): a few minutes on two cores.
# Prints "check-spec: N passed, N failed"; exits non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
top=$(mktemp -d /tmp/conntrail-check-spec.XXXXXX)
trap 'rm -rf "$top"' EXIT

spec=packaging/rpm/conntrail.spec
spec_version=$(sed -n 's/^Version: *//p' "$spec")
project_version=$(sed -n 's/^project(conntrail VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [[ $spec_version == "$project_version" ]]; then
  pass "spec Version $spec_version = project() VERSION"
else
  fail "spec Version $spec_version != project() VERSION $project_version"
fi

lint=$(rpmlint "$spec" 2>&1 | tail -1)
if [[ $lint == *" 0 errors"* ]]; then pass "rpmlint spec: $lint"; else fail "rpmlint spec: $lint"; fi

mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
tar -C "$src" --exclude-vcs --exclude='./build*' --exclude=./var \
  --transform "s,^\.,conntrail-$spec_version," -czf "$top/SOURCES/conntrail-$spec_version.tar.gz" .
if rpmbuild -ba --nodeps --define "_topdir $top" --load tests/packaging/rpm-macros.fedora \
     "$spec" >"$top/rpmbuild.log" 2>&1; then
  pass "rpmbuild -ba $spec"
else
  tail -40 "$top/rpmbuild.log"
  fail "rpmbuild -ba $spec"
  echo "check-spec: $passed passed, $failed failed"
  exit 1
fi
native=$(ls "$top"/RPMS/*/conntrail-*.rpm)
ls "$top"/SRPMS/*.src.rpm >/dev/null 2>&1 && pass "source rpm built" || fail "no source rpm"

attrs() {
  rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$1" |
    grep -v '/usr/lib/.build-id' | sort -k5
}
attrs "$native" >"$top/native.attrs"
for want in '^drwxr-x--- root conntrail +/etc/conntrail$' \
            '^-rw-r----- root conntrail cn /etc/conntrail/conntrail.conf$' \
            '^drwxr-x--- conntrail conntrail +/var/lib/conntrail$' \
            ' /usr/sbin/conntrail-agent$' ' /usr/lib/systemd/system/conntrail-agent.service$'; do
  if grep -Eq "$want" "$top/native.attrs"; then pass "native rpm: $want"; else fail "native rpm: $want"; fi
done

cpack_rpm=${1:-$(ls build-pkg/packages/*.rpm 2>/dev/null | head -1)}
if [[ -n $cpack_rpm && -f $cpack_rpm ]]; then
  # Documentation flags differ by design (%doc/%license vs plain): compare mode, owner, path.
  attrs "$cpack_rpm" | awk '{print $1, $2, $3, $NF}' >"$top/cpack.cmp"
  awk '{print $1, $2, $3, $NF}' "$top/native.attrs" >"$top/native.cmp"
  if diff -u "$top/cpack.cmp" "$top/native.cmp"; then
    pass "native and CPack rpm: same files, owners and modes"
  else
    fail "native and CPack rpm differ (diff above: - CPack, + native)"
  fi
else
  echo "note: no CPack rpm to compare with (run scripts/package.sh first)"
fi
echo "check-spec: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
