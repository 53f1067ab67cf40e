#!/usr/bin/env bash
# bench/api/run-api-bench.sh — the lawful API numbers of docs/PERFORMANCE.md ("Lawful API"),
# measured through the real conntrail-agent with real clients:
#   (a) requests/s of GET /v1/requests/{id} with 100 concurrent streams: h2load (Debian 12's
#       has no client-certificate option) → nghttpx (nghttp2-proxy) as the mTLS client,
#       backend `;tls;proto=h2` with officer-b's certificate → the agent;
#   (b) rows/s streamed for one approved request of FLOWS (default 10 M) rows, NDJSON and CSV,
#       with curl --http2 to /dev/null, and the agent's RSS before / peak (VmHWM) after;
#   (c) time to first result byte for a single-address 30-day query (720 hourly shards).
# Usage: bench/api/run-api-bench.sh [BUILD_DIR=build] [WORK_DIR=/tmp/ct-apibench] [FLOWS=10000000]
# Needs: the agent and api_bench_store built (ninja -C build conntrail-agent api_bench_store),
# openssl, curl, h2load (nghttp2-client), nghttpx (nghttp2-proxy). Keeps everything in WORK_DIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
work=${2:-/tmp/ct-apibench}
flows=${3:-10000000}
per_hour_30d=${PER_HOUR_30D:-5000}
agent=$build/agent/conntrail-agent
store=$build/bench/api/api_bench_store

rm -rf "$work"
mkdir -p "$work"
cd "$work"
pki=$work/pki
"$src/scripts/make-test-pki.sh" "$pki" >/dev/null 2>&1
"$src/scripts/make-demo-officers.sh" "$pki" "$work/officers.json" 2>/dev/null

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== building the stores"
t0=$(date +%s.%N)
"$store" month "$work/month" "$per_hour_30d" > "$work/month.out"
"$store" bulk "$work/data" "$flows" 10 > "$work/bulk.out"
# The month's 720 hours end where the bulk's 10 begin: one data directory holds both.
(cd "$work/month" && find . -name '*.sqlite') | while read -r f; do
  mkdir -p "$(dirname "$work/data/$f")"
  mv "$work/month/$f" "$work/data/$f"
done
echo "stores built in $(echo "$(date +%s.%N) - $t0" | bc) s: $(grep flows= "$work/bulk.out") (bulk), $(grep flows= "$work/month.out") (30 days)"
bulk_from=$(sed -n 's/^from=//p' "$work/bulk.out")
bulk_to=$(sed -n 's/^to=//p' "$work/bulk.out")
month_from=$(sed -n 's/^from=//p' "$work/month.out")
sample_ip=$(sed -n 's/^sample_ip=//p' "$work/month.out")

cat > "$work/agent.conf" <<CONF
[storage]
data_dir = $work/data
shard_period = hour
retention_months = 12
[api]
listen = 127.0.0.1:0
tls_cert = $pki/server.crt
tls_key = $pki/server.key
client_ca = $pki/ca.crt
crl = $pki/crl.pem
officers_file = $work/officers.json
requests_per_minute = 100000
min_prefix_v4 = 16
[log]
level = info
[metrics]
listen = 127.0.0.1:0
CONF
"$agent" --config "$work/agent.conf" 2> "$work/agent.log" &
agent_pid=$!
cleanup() {
  kill "$agent_pid" 2>/dev/null || true
  [[ -n ${proxy_pid:-} ]] && kill "$proxy_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do
  grep -q 'ready: API on' "$work/agent.log" && break
  sleep 0.1
done
port=$(sed -n 's/.*ready: API on [^ ]* (port \([0-9]*\)).*/\1/p' "$work/agent.log")
[[ -n $port ]] || { cat "$work/agent.log"; exit 1; }
api=https://127.0.0.1:$port
A="--cacert $pki/ca.crt --cert $pki/officer-a.crt --key $pki/officer-a.key"
B="--cacert $pki/ca.crt --cert $pki/officer-b.crt --key $pki/officer-b.key"
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

new_request() {  # SELECTORS_JSON FROM TO → id, approved by officer-b
  local id
  id=$(curl -s --http2 $A -H 'content-type: application/json' "$api/v1/requests" -d '{
    "case_reference":"BENCH","legal_basis":"benchmark","selectors":'"$1"',
    "from":"'"$(iso "$2")"'","to":"'"$(iso "$3")"'","categories":["flows"],"justification":"bench"}' |
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [[ -n $id ]] || { echo "request not created" >&2; exit 1; }
  curl -s --http2 $B -X POST "$api/v1/requests/$id/approve" > /dev/null
  echo "$id"
}

cpu_s() {  # user+system CPU seconds of the agent so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$agent_pid/stat"
}
rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$agent_pid/status"; }

echo "== (b) rows/s streamed, one request of every bulk row"
bulk_id=$(new_request '[{"prefix":"100.64.0.0/16"},{"prefix":"2001:db8::/48"}]' "$bulk_from" "$bulk_to")
for fmt in ndjson csv; do
  accept=application/x-ndjson
  [[ $fmt == csv ]] && accept=text/csv
  before=$(rss_kb VmRSS)
  cpu0=$(cpu_s)
  # curl's own CPU too (it decrypts the stream): on a shared machine the
  # CPU per row (agent + client) says more than the wall-clock rate.
  out=$(/usr/bin/time -f '%U %S' -o "$work/curl-cpu-$fmt" \
    curl -s --http2 $A -H "accept: $accept" -D "$work/h-$fmt" -o /dev/null \
    -w '%{time_total} %{size_download} %{time_starttransfer}' "$api/v1/requests/$bulk_id/results")
  read -r total bytes ttfb <<<"$out"
  rows=$(sed -n 's/^x-conntrail-records: \([0-9]*\).*/\1/p' "$work/h-$fmt")
  hwm=$(rss_kb VmHWM)
  cpu=$(echo "$(cpu_s) - $cpu0" | bc)
  curl_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/curl-cpu-$fmt")
  echo "$fmt: agent_cpu_s=$cpu agent_ns/row=$(echo "$cpu * 1000000000 / $rows" | bc) curl_cpu_s=$curl_cpu curl_ns/row=$(echo "$curl_cpu * 1000000000 / $rows" | bc) rows_per_agent_cpu_s=$(echo "$rows / $cpu" | bc) rows=$rows bytes=$bytes seconds=$total first_byte=${ttfb}s rows/s=$(echo "$rows / $total" | bc) MB/s=$(echo "$bytes / $total / 1000000" | bc) rss_before_kB=$before peak_rss_kB=$hwm growth_MB=$(echo "($hwm - $before) / 1024" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
done

echo "== (c) time to first result byte, one address over 30 days (720 shards)"
month_to=$(sed -n 's/^to=//p' "$work/month.out")
one_id=$(new_request '[{"ip":"'"$sample_ip"'"}]' "$month_from" "$month_to")
for i in 1 2 3; do
  curl -s --http2 $A -D "$work/h-one" -o /dev/null \
    -w "run $i: first_byte=%{time_starttransfer}s after_tls=%{time_pretransfer}s total=%{time_total}s bytes=%{size_download}" \
    "$api/v1/requests/$one_id/results"
  echo " rows=$(sed -n 's/^x-conntrail-records: \([0-9]*\).*/\1/p' "$work/h-one")"
done

echo "== (a) GET /v1/requests/{id}, 100 concurrent streams: h2load → nghttpx (mTLS) → agent"
proxy_port=$((20000 + RANDOM % 20000))
nghttpx --frontend="127.0.0.1,$proxy_port;no-tls" \
  --backend="127.0.0.1,$port;;tls;proto=h2" --backend-tls-sni-field=localhost \
  --client-private-key-file="$pki/officer-b.key" --client-cert-file="$pki/officer-b.crt" \
  --cacert="$pki/ca.crt" --workers=1 --backend-connections-per-host=1 \
  --frontend-http2-max-concurrent-streams=100 --log-level=WARN \
  --errorlog-file="$work/nghttpx.log" --accesslog-file=/dev/null &
proxy_pid=$!
sleep 1
curl -s --http2-prior-knowledge "http://127.0.0.1:$proxy_port/v1/requests/$bulk_id" | head -c 120
echo
cpu0=$(cpu_s)
h2load -n 50000 -c 1 -m 100 "http://127.0.0.1:$proxy_port/v1/requests/$bulk_id" |
  grep -E 'finished in|requests:|status codes|time for request'
echo "agent CPU for the 50000 requests: $(echo "$(cpu_s) - $cpu0" | bc) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
