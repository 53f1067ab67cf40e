#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, and runs the agent
# on the bundled capture with a local test PKI, API on https://127.0.0.1:8443.
# Everything it writes is under var/demo/ (ignored by git). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target conntrail conntrail-agent

# Every run is a fresh demo: an empty store, and the bundled capture shifted so
# that its last packet is a minute ago (its flows are then inside retention, in
# the current shards, and inside request.json's window "the last three hours").
# Replaying the capture into the previous run's store would store the flows of
# its still-open shard a second time, and a capture retimed on an earlier day
# falls outside that window. The PKI and officers file are kept.
mkdir -p var/demo
if [[ -d var/demo/data ]]; then
  if ! flock -n var/demo/data/.lock true; then
    echo "demo: var/demo/data is in use by a running conntrail-agent; stop it first" >&2
    exit 1
  fi
  rm -rf var/demo/data
fi
mkdir -p var/demo/data
scripts/make-test-pki.sh var/demo/pki >/dev/null
scripts/make-demo-officers.sh var/demo/pki var/demo/officers.json >/dev/null
scripts/demo-pcap.py retime configs/demo/demo.pcap var/demo/demo.pcap

# A request for the demo's whole window (the last three hours), ready to file.
cat > var/demo/request.json <<EOT
{"case_reference": "C-17", "legal_basis": "Data Retention Act s.5 (demo)",
 "warrant_reference": "W-9", "justification": "demo: one subscriber's connections",
 "selectors": [{"ip": "100.64.0.10"}, {"prefix": "2001:db8:100:100::/56"}],
 "from": "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)", "to": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "categories": ["flows", "subscriber-sessions"]}
EOT

# An attribution request: who used 100.64.0.26 port 56161 when that flow began?
at=$(build/agent/conntrail flows --pcap var/demo/demo.pcap --time-format rfc3339 |
     awk -F, '!found && $2=="100.64.0.26" && $3=="56161" {print $10; found=1}')  # reads to the end: no SIGPIPE
cat > var/demo/attribution.json <<EOT
{"case_reference": "C-18", "legal_basis": "Data Retention Act s.5 (demo)",
 "justification": "demo: who used this address and port", "categories": ["attribution"],
 "attribution": {"ip": "100.64.0.26", "port": 56161, "at": "$at"}}
EOT

build/agent/conntrail-agent --config configs/demo.conf &
agent=$!
trap 'kill -TERM $agent 2>/dev/null; wait $agent' INT TERM EXIT

pki=var/demo/pki
curl_a="curl -s --http2 --cacert $pki/ca.crt --cert $pki/officer-a.crt --key $pki/officer-a.key"
for _ in $(seq 1 100); do
  $curl_a -sf https://127.0.0.1:8443/v1/status >/dev/null 2>&1 && break
  kill -0 $agent 2>/dev/null || { echo "demo: the agent exited; see the messages above" >&2; exit 1; }
  sleep 0.2
done

cat <<EOT

conntrail demo is running: API https://127.0.0.1:8443 (mutual TLS), data in var/demo/data.
Try it from another terminal in this directory:

  pki=var/demo/pki
  as() { curl -s --http2 --cacert \$pki/ca.crt --cert \$pki/\$1.crt --key \$pki/\$1.key "\${@:2}"; echo; }

  as officer-a https://127.0.0.1:8443/v1/status

  # officer A files a request (var/demo/request.json), officer B approves, A fetches the results:
  id=\$(as officer-a -H 'content-type: application/json' -d @var/demo/request.json \\
        https://127.0.0.1:8443/v1/requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  as officer-a https://127.0.0.1:8443/v1/requests/\$id/results     # 409: not approved yet
  as officer-b -X POST https://127.0.0.1:8443/v1/requests/\$id/approve
  as officer-a https://127.0.0.1:8443/v1/requests/\$id/results | head
  as officer-a -H 'accept: text/csv' https://127.0.0.1:8443/v1/requests/\$id/results | head
  as officer-a https://127.0.0.1:8443/v1/requests/\$id/results/subscriber-sessions   # who held the addresses
  as officer-a https://127.0.0.1:8443/v1/requests/\$id/manifest

  # who used 100.64.0.26 port 56161 at that moment? (the same two officers)
  aid=\$(as officer-a -H 'content-type: application/json' -d @var/demo/attribution.json \\
        https://127.0.0.1:8443/v1/requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  as officer-a https://127.0.0.1:8443/v1/requests/\$aid/results            # 409: not approved yet
  as officer-b -X POST https://127.0.0.1:8443/v1/requests/\$aid/approve
  as officer-a "https://127.0.0.1:8443/v1/requests/\$aid/results/attribution?time_format=rfc3339"

  # the auditor checks the hash-chained journal and the statistics:
  as auditor https://127.0.0.1:8443/v1/audit/verify
  as auditor https://127.0.0.1:8443/v1/statistics

  # the operator's view (while the agent runs, or after):
  build/agent/conntrail shards list --data-dir var/demo/data
  build/agent/conntrail query --data-dir var/demo/data --ip 100.64.0.10 \\
        --from "\$(date -u -d '-3 hours' +%FT%TZ)" --to "\$(date -u +%FT%TZ)"

docs/API.md lists every endpoint. Press Ctrl-C to stop the agent.
EOT
wait $agent
