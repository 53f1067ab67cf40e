#!/usr/bin/env bash
# conntrail.conf(5) documents exactly the keys the parser knows: every key that
# `conntrail-agent --print-config` prints (all keys, defaults filled in) has an entry in
# packaging/man/conntrail.conf.5 under its section, and the page names no key the parser lacks.
#
#   tests/packaging/check-conf-manpage.sh [BUILD_DIR]     (default build)
# Skips (exit 77, ctest SKIP_RETURN_CODE) while the agent in BUILD_DIR has no --print-config.
# Prints "check-conf-manpage: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
agent=${1:-build}/agent/conntrail-agent
page=packaging/man/conntrail.conf.5
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -x $agent ]] || ! "$agent" --help 2>&1 | grep -q -- --print-config; then
  echo "SKIP: $agent has no --print-config yet"
  echo "check-conf-manpage: 0 passed, 0 failed, 1 skipped"
  exit 77
fi
# The smallest valid file: the required keys only.
printf '[api]\ntls_cert = a\ntls_key = b\nclient_ca = c\nofficers_file = d\n' >"$tmp/min.conf"
if ! "$agent" --config "$tmp/min.conf" --print-config >"$tmp/effective" 2>"$tmp/err"; then
  cat "$tmp/err"
  echo "FAIL: --print-config on the minimal configuration"
  echo "check-conf-manpage: 0 passed, 1 failed"
  exit 1
fi
awk '/^\[/ { sec = substr($1, 2, length($1) - 2) } /^[a-z_0-9]+ *=/ { print sec "." $1 }' \
  "$tmp/effective" | sort -u >"$tmp/parser"
# Repeatable keys are not printed when left at their default (interface, subscriber_prefix,
# radius_port).
printf 'capture.interface\ncapture.subscriber_prefix\nattribution.radius_port\n' >>"$tmp/parser"
sort -u -o "$tmp/parser" "$tmp/parser"
awk '/^\.SH \[/ { sec = substr($2, 2, length($2) - 2) } /^\.BI [a-z_0-9]+ "/ { print sec "." $2 }' \
  "$page" | sort -u >"$tmp/man"

while read -r key; do
  if grep -qx "$key" "$tmp/man"; then passed=$((passed + 1)); else
    echo "FAIL: $key is not documented in $page"; failed=$((failed + 1)); fi
done <"$tmp/parser"
while read -r key; do
  if ! grep -qx "$key" "$tmp/parser"; then
    echo "FAIL: $page documents $key, which the parser does not know"; failed=$((failed + 1)); fi
done <"$tmp/man"
echo "check-conf-manpage: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
