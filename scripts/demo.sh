#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, and runs the agent
# on the bundled capture with a local test PKI, API on https://127.0.0.1:8443.
# Everything it writes is under var/demo/ (ignored by git). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target conntrail conntrail-agent

mkdir -p var/demo/data
scripts/make-test-pki.sh var/demo/pki >/dev/null
scripts/make-demo-officers.sh var/demo/pki var/demo/officers.json >/dev/null
# The bundled capture, shifted so that its last packet is a minute ago:
# its flows are then inside retention and in the current shards.
[[ -f var/demo/demo.pcap ]] || scripts/demo-pcap.py retime configs/demo/demo.pcap var/demo/demo.pcap

build/agent/conntrail-agent --config configs/demo.conf &
agent=$!
trap 'kill -TERM $agent 2>/dev/null; wait $agent' INT TERM EXIT

pki=var/demo/pki
curl_a="curl --http2 --cacert $pki/ca.crt --cert $pki/officer-a.crt --key $pki/officer-a.key"
for _ in $(seq 1 100); do
  $curl_a -sf https://127.0.0.1:8443/v1/status >/dev/null 2>&1 && break
  kill -0 $agent 2>/dev/null || { echo "demo: the agent exited; see the messages above" >&2; exit 1; }
  sleep 0.2
done

cat <<EOT

conntrail demo is running: API https://127.0.0.1:8443 (mutual TLS), data in var/demo/data.

  # status (any officer certificate):
  $curl_a https://127.0.0.1:8443/v1/status

  # file a request as officer A, approve it as officer B, fetch the results as A:
  $curl_a -H 'content-type: application/json' -d @configs/demo/request.json https://127.0.0.1:8443/v1/requests
  curl --http2 --cacert $pki/ca.crt --cert $pki/officer-b.crt --key $pki/officer-b.key -X POST https://127.0.0.1:8443/v1/requests/ID/approve
  $curl_a https://127.0.0.1:8443/v1/requests/ID/results

  # the operator's view of the stored data:
  build/agent/conntrail shards list --data-dir var/demo/data

docs/API.md lists every endpoint. Press Ctrl-C to stop the agent.
EOT
wait $agent
