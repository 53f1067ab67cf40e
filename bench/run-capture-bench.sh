#!/usr/bin/env bash
# run-capture-bench.sh — every capture number in docs/PERFORMANCE.md, in one run.
#
# Offline (same file, same run, page cache warm, RUNS runs each, min/median of
# wall and CPU = user+sys): the libpcap floor (../shared/bench/pcapcount.c
# `pcap_loop`), `conntrail flows --pcap F >/dev/null`, and nfdump's
# `nfpcapd -r` when installed (apt-get install nfdump), Argus `argus -X -r` when
# installed (apt-get install argus-server); then bench/capture_bench
# (pipeline vs floor inside one process, flow table bytes per flow at 1M flows).
# Live (root only): a veth pair in a network namespace made here, the capture
# engine (capture_live_probe) or nfpcapd on one end, `tcpreplay --topspeed` of
# the same file on the other; reports the replay rate and kernel drops.
#
# Environment: BUILD_DIR [build], DATA [/tmp/conntrail-bench], RUNS [5],
# SHARED [../shared relative to the repo], LIVE [1], BENCH [1: run capture_bench].
# The offline rows are also written to $DATA/offline.tsv, and the CPU ratios
# (floor / conntrail, peer / conntrail) are printed at the end of that part.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
DATA=${DATA:-/tmp/conntrail-bench}
RUNS=${RUNS:-5}
SHARED=${SHARED:-$ROOT/../shared}
LIVE=${LIVE:-1}
BENCH=${BENCH:-1}
PCAP=$DATA/1m.pcap
mkdir -p "$DATA/bin"

log() { echo "== $*" >&2; }

ninja -C "$BUILD" conntrail capture_bench capture_live_probe >/dev/null || exit 1
if [ ! -x "$DATA/bin/pcapgen" ]; then gcc -O2 -o "$DATA/bin/pcapgen" "$SHARED/bench/pcapgen.c" -lm || exit 1; fi
if [ ! -x "$DATA/bin/pcapcount" ]; then gcc -O2 -o "$DATA/bin/pcapcount" "$SHARED/bench/pcapcount.c" -lpcap || exit 1; fi
if [ ! -s "$PCAP" ]; then
  log "generating $PCAP"
  "$DATA/bin/pcapgen" -n 1000000 -f 50000 -s 1 -d 360 -o "$PCAP" -j "$DATA/1m.truth.json" -c "$DATA/1m.flows.csv" || exit 1
fi
log "input: $(md5sum "$PCAP" | cut -d' ' -f1) (expected d626902a2c1e96d5b00ee0f9f6a314c7)"
log "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD)"
: >"$DATA/offline.tsv"

# measure LABEL CMD... : RUNS runs; prints "LABEL wall_min wall_median cpu_min cpu_median maxrss_kb"
measure() {
  local label=$1; shift
  local walls=() cpus=() rss=0
  for ((i = 0; i < RUNS; i++)); do
    cat "$PCAP" >/dev/null
    /usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "$@" >/dev/null 2>"$DATA/$label.stderr"
    read -r w u s m <"$DATA/time.txt"
    walls+=("$w"); cpus+=("$(echo "$u + $s" | bc)"); [ "$m" -gt "$rss" ] && rss=$m
  done
  local ws cs
  ws=$(printf '%s\n' "${walls[@]}" | sort -n); cs=$(printf '%s\n' "${cpus[@]}" | sort -n)
  printf '%s %s %s %s %s %s %s\n' "$label" "$(echo "$ws" | head -1)" "$(echo "$ws" | sed -n "$(((RUNS + 1) / 2))p")" \
    "$(echo "$cs" | head -1)" "$(echo "$cs" | sed -n "$(((RUNS + 1) / 2))p")" "$rss" \
    "load1=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$DATA/offline.tsv"
}

log "offline: label wall_min wall_median cpu_min cpu_median maxrss_kb (1,000,000 packets)"
measure floor "$DATA/bin/pcapcount" loop "$PCAP"
measure conntrail-flows "$BUILD/agent/conntrail" flows --pcap "$PCAP"
if command -v nfpcapd >/dev/null; then
  measure nfpcapd sh -c "rm -rf '$DATA/nf' && mkdir -p '$DATA/nf' && nfpcapd -r '$PCAP' -w '$DATA/nf' -t 300"
fi
if command -v argus >/dev/null; then
  # -X: no /etc/argus.conf (it would also write /var/log/argus); as in ../shared/bench/run-peers.sh
  measure argus sh -c "rm -f '$DATA/argus.out' && argus -X -r '$PCAP' -w '$DATA/argus.out'"
fi
"$BUILD/agent/conntrail" flows --pcap "$PCAP" --stats 2>&1 >/dev/null | head -1 >&2
# CPU-median ratios: conntrail flows against the floor and each peer.
awk '{cpu[$1] = $5} END {
  c = cpu["conntrail-flows"]; if (c <= 0) exit
  printf "ratios (CPU medians): conntrail flows = %.0f %% of the libpcap floor", 100 * cpu["floor"] / c
  for (p in cpu) if (p != "floor" && p != "conntrail-flows") printf "; %.2fx %s", cpu[p] / c, p
  printf "\n" }' "$DATA/offline.tsv" >&2
[ "$BENCH" = 1 ] || { [ "$LIVE" = 1 ] || exit 0; }

if [ "$BENCH" = 1 ]; then
log "capture_bench (CPU time is the comparable number on a shared machine)"
"$BUILD/bench/capture_bench" --benchmark_repetitions="$RUNS" --benchmark_report_aggregates_only=true \
  --benchmark_min_time=1 2>/dev/null | grep -E "median|min|BM_Flow" | tee "$DATA/capture_bench.txt"
# The goal ratios for the ingest path: its floor in the same process, and the
# peers' CPU medians from the offline rows above.
# BM_PcapReadFloor is plain libpcap (stdio's default buffer, as pcapcount);
# BM_PcapReadFloorBuffered reads as the ingest path does (256 KiB buffer), so
# ingest - buffered floor is the cost of conntrail's own per-packet work.
awk 'FNR == NR { cpu[$1] = $5; next }
  /BM_PcapReadFloor\/.*_median/ { floor = $4 }
  /BM_PcapReadFloorBuffered.*_median/ { buffered = $4 }
  /BM_OfflinePipeline.*_median/ { ingest = $4 }
  END { if (ingest <= 0) exit
    printf "ratios (CPU medians): ingest path = %.0f %% of the plain libpcap floor (%s / %s ms), %.0f %% of the same reader alone (%s ms: %.0f ns per packet of our own work)", 100 * floor / ingest, floor, ingest, 100 * buffered / ingest, buffered, ingest - buffered
    for (p in cpu) if (p != "floor" && p != "conntrail-flows") printf "; %.2fx %s", 1000 * cpu[p] / ingest, p
    printf "\n" }' "$DATA/offline.tsv" "$DATA/capture_bench.txt" >&2
fi

[ "$LIVE" = 1 ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null; then log "live: needs root and tcpreplay, skipped"; exit 0; fi
NS=conntrail-bench-$$
cleanup() { ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
ip netns add "$NS" || exit 1
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link add va mtu 9000 type veth peer name vb mtu 9000
ip -n "$NS" link set va up && ip -n "$NS" link set vb up

replay() {  # prints tcpreplay's rate line
  ip netns exec "$NS" tcpreplay -i va --topspeed "$PCAP" 2>&1 | grep -E "Rated|Actual" | tr -s ' ' | tr '\n' ' '
  echo
}
log "live: conntrail capture engine on vb, tcpreplay --topspeed on va"
ip netns exec "$NS" "$BUILD/bench/capture_live_probe" vb >"$DATA/live.out" 2>"$DATA/live.err" &
probe=$!
sleep 1
replay
sleep 1
kill -TERM "$probe"; wait "$probe"
cat "$DATA/live.out"
if command -v nfpcapd >/dev/null; then
  log "live: nfpcapd -i vb on the same veth"
  rm -rf "$DATA/nf-live" && mkdir -p "$DATA/nf-live"
  ip netns exec "$NS" nfpcapd -i vb -w "$DATA/nf-live" -t 300 >"$DATA/nf-live.out" 2>&1 &
  nf=$!
  sleep 2
  replay
  sleep 2
  kill -TERM "$nf"; wait "$nf"
  grep -iE "drop|packets|processed" "$DATA/nf-live.out" | tail -5
  nfdump -R "$DATA/nf-live" -I 2>/dev/null | grep -E "^(Flows|Packets|Bytes):" | tr '\n' ' '
  echo
fi
