#!/usr/bin/env bash
# run-storage-vs-nfdump.sh — conntrail's store against nfdump's on the SAME flows (issue 4).
#
# 1. pcapgen (../shared/bench/pcapgen.c) writes one capture spanning DAYS days at
#    FLOWS_PER_HOUR bidirectional flows per hour (PKTS_PER_FLOW packets each on
#    average, snaplen 128 to keep the file small; timestamps from 2026-09-01 so
#    the data sits inside conntrail's 12-month retention).
# 2. conntrail stores it: build/bench/storage/pcap_to_store = the capture
#    pipeline of `conntrail flows` feeding the real FlowWriter (hourly shards);
#    once with sealing (the sealed store that is queried) and once without (the
#    open-shard size).
# 3. nfdump stores it: `nfpcapd -r` on the same file, 5-minute files,
#    uncompressed, LZO (-z), LZ4 (-y) and BZ2 (-j).
# 4. Bytes per flow (whole store directory / ground-truth bidirectional flows).
# 5. Single-address query latency over 1 hour, 1 day and the whole span (30 days),
#    warm (after one unmeasured run) and cold (`echo 3 > /proc/sys/vm/drop_caches`
#    before each query; needs root), QRUNS queries per cell, rotating over the
#    five busiest subscribers 10.0.0.1..5: `conntrail query --ip X` against
#    `nfdump -R first:last 'host X'` over the files of the window (what an nfdump
#    operator does; nfdump has no index), uncompressed and LZ4. Wall p50/p99/max
#    and CPU (user+sys of the process, from wait4) per query, load recorded.
#
# Environment: BUILD_DIR [build], DATA [/tmp/conntrail-storage-vs-nfdump],
# SHARED [../shared], DAYS [30], FLOWS_PER_HOUR [2000], PKTS_PER_FLOW [6],
# QRUNS [7], NF_COMP [plain lzo lz4 bz2: nfpcapd variants stored; the queries use
# plain and lz4 when present], KEEP [0: delete DATA at the end], CHUNK_DAYS [DAYS:
# generate and store that many days at a time], COLD_EXEC
# [resident: after dropping the page cache both tools' executables are loaded
# again before the timed query, so "cold" means cold data; dropped: they stay
# cold too], MERGE [1: finished days merged into day shards (the default
# configuration); 0: hourly shards kept].
# Everything goes to $DATA; the summary is printed and kept in $DATA/summary.md.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
DATA=${DATA:-/tmp/conntrail-storage-vs-nfdump}
SHARED=${SHARED:-$ROOT/../shared}
DAYS=${DAYS:-30}
FLOWS_PER_HOUR=${FLOWS_PER_HOUR:-2000}
PKTS_PER_FLOW=${PKTS_PER_FLOW:-6}
QRUNS=${QRUNS:-7}
KEEP=${KEEP:-0}
NF_COMP=${NF_COMP:-plain lzo lz4 bz2}
T0=1788220800  # 2026-09-01T00:00:00Z
FLOWS=$((DAYS * 24 * FLOWS_PER_HOUR))
PKTS=$((FLOWS * PKTS_PER_FLOW))
PCAP=$DATA/in.pcap

log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
command -v nfpcapd >/dev/null || { echo "needs nfdump: apt-get install -y nfdump" >&2; exit 1; }
rm -rf "$DATA" && mkdir -p "$DATA/bin" "$DATA/nf" || exit 1
ninja -C "$BUILD" conntrail pcap_to_store query_latency >/dev/null || exit 1
gcc -O2 -o "$DATA/bin/pcapgen" "$SHARED/bench/pcapgen.c" -lm || exit 1
SUMMARY=$DATA/summary.md
: >"$SUMMARY"
out() { echo "$*" | tee -a "$SUMMARY"; }

out "# conntrail vs nfdump, same flows — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
out ""
if [ "${CHUNK_DAYS:-$DAYS}" = "$DAYS" ]; then
  out "- input: \`pcapgen -n $PKTS -f $FLOWS -s 1 -d $((DAYS * 86400)) -t $T0 -S 128\` ($DAYS days, $FLOWS_PER_HOUR flows/hour = $((FLOWS_PER_HOUR * 24)) flows/day)"
else
  out "- input: $DAYS days, $FLOWS_PER_HOUR flows/hour = $((FLOWS_PER_HOUR * 24)) flows/day, generated ${CHUNK_DAYS} day(s) at a time: \`pcapgen -n <flows×$PKTS_PER_FLOW> -f <flows> -s <chunk+1> -d <chunk s> -t <chunk start> -S 128\` from $T0"
fi
out "- conntrail: finished days merged into day shards: $([ "${MERGE:-1}" = 1 ] && echo yes || echo no); cold queries: executables ${COLD_EXEC:-resident}"
out "- load at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); $(nfdump -V 2>&1 | head -1); commit $(git -C "$ROOT" rev-parse --short HEAD)"
# timed LABEL CMD... : runs CMD once (stdout appended to LABEL.out), appends "LABEL wall cpu maxrss_kb load1".
timed() {
  local label=$1; shift
  cat "$PCAP" >/dev/null
  /usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "$@" >>"$DATA/$label.out" 2>"$DATA/$label.err" ||
    { log "$label failed: $(tail -3 "$DATA/$label.err")"; }
  read -r w u s m < <(tail -1 "$DATA/time.txt")  # time prefixes a line on a non-zero exit
  echo "$label $w $(echo "$u + $s" | bc) $m $(cut -d' ' -f1 /proc/loadavg)" >>"$DATA/ingest.tsv"
}
MERGE=${MERGE:-1}
merge_flag=$([ "$MERGE" = 1 ] || echo --no-merge)
# CHUNK_DAYS: the capture is generated and stored that many days at a time (each
# chunk its own pcapgen seed), so a dense month never needs one huge pcap on disk.
CHUNK_DAYS=${CHUNK_DAYS:-$DAYS}
CHUNKS=$(((DAYS + CHUNK_DAYS - 1) / CHUNK_DAYS))
TRUTH=0
for ((chunk = 0; chunk < CHUNKS; chunk++)); do
  cdays=$((chunk == CHUNKS - 1 ? DAYS - chunk * CHUNK_DAYS : CHUNK_DAYS))
  cflows=$((cdays * 24 * FLOWS_PER_HOUR))
  log "chunk $((chunk + 1))/$CHUNKS: generating $PCAP ($((cflows * PKTS_PER_FLOW)) packets, $cflows flows)"
  "$DATA/bin/pcapgen" -n $((cflows * PKTS_PER_FLOW)) -f "$cflows" -s $((1 + chunk)) \
    -d $((cdays * 86400)) -t $((T0 + chunk * CHUNK_DAYS * 86400)) -S 128 \
    -o "$PCAP" -j "$DATA/truth.json" >/dev/null || exit 1
  TRUTH=$((TRUTH + $(python3 -c "import json;print(json.load(open('$DATA/truth.json'))['flows_bidirectional'])")))
  log "conntrail: ingest + seal, and ingest only (open shards)"
  # shellcheck disable=SC2086
  timed conntrail-sealed "$BUILD/bench/storage/pcap_to_store" "$PCAP" "$DATA/ct" $merge_flag
  timed conntrail-open "$BUILD/bench/storage/pcap_to_store" "$PCAP" "$DATA/ct-open" --no-seal
  log "nfpcapd: $NF_COMP"
  for v in plain:"" lzo:-z lz4:-y bz2:"-j bz2"; do
    name=${v%%:*}; flag=${v#*:}
    case " $NF_COMP " in *" $name "*) ;; *) continue ;; esac
    mkdir -p "$DATA/nf/$name"
    # shellcheck disable=SC2086
    timed "nfpcapd-$name" nfpcapd -r "$PCAP" -w "$DATA/nf/$name" -t 300 $flag
  done
  rm -f "$PCAP"
done

out ""
out "## Size ($TRUTH ground-truth bidirectional flows)"
out ""
out "| store | files | bytes | bytes per flow | ingest CPU s (wall s, load1) | records |"
out "|---|---|---|---|---|---|"
size_row() {  # NAME DIR LABEL RECORDS
  local files bytes
  files=$(find "$2" -type f | wc -l)
  bytes=$(du -sb "$2" | cut -f1)
  # summed over the chunks; the load of the last one
  read -r w c l < <(awk -v k="$3" '$1 == k {w += $2; c += $3; l = $5} END {print w, c, l}' "$DATA/ingest.tsv")
  out "| $1 | $files | $bytes | $(echo "scale=1; $bytes / $TRUTH" | bc) | $c ($w, $l) | $4 |"
}
ct_rows=$(grep -o 'written=[0-9]*' "$DATA/conntrail-sealed.out" | cut -d= -f2 | awk '{s += $1} END {print s}')
size_row "conntrail open shards (blocks + Bloom filters + SQLite)" "$DATA/ct-open" conntrail-open "$ct_rows"
size_row "**conntrail sealed shards, all indexes**" "$DATA/ct" conntrail-sealed "$ct_rows"
for name in $NF_COMP; do
  recs=$(nfdump -R "$DATA/nf/$name" -I 2>/dev/null | awk '/^Flows:/ {print $2}')
  size_row "nfcapd 5-min files, $name" "$DATA/nf/$name" "nfpcapd-$name" "$recs (one-way)"
done

log "queries"
python3 - "$DATA" "$BUILD/agent/conntrail" "$T0" "$DAYS" "$QRUNS" <<'EOF' | tee -a "$SUMMARY"
import calendar, os, subprocess, sys, time, statistics
data, conntrail, t0, days, qruns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
hosts = [f"10.0.0.{i}" for i in range(1, 6)]
mid = t0 + (days // 2) * 86400  # the windows sit in the middle of the data
windows = [("1 hour", mid + 12 * 3600, mid + 13 * 3600), ("1 day", mid, mid + 86400),
           (f"{days} days", t0, t0 + days * 86400)]
def nf_range(d, a, b):
    names = sorted(f for f in os.listdir(d) if f.startswith("nfcapd.2"))
    keep = [f for f in names if a <= calendar.timegm(time.strptime(f[7:], "%Y%m%d%H%M")) < b]
    return f"{d}/{keep[0]}:{keep[-1]}", len(keep)
cold_exec = os.environ.get("COLD_EXEC", "resident")
def drop():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f: f.write("3\n")
    if cold_exec == "resident":
        # The data is cold, the programs are not: on the appliance the agent
        # that answers lawful queries is resident, and an nfdump operator's
        # binary is small. Without this, conntrail's cold figure is mostly the
        # dynamic loader paging in libcrypto, libsystemd and SQLite (~30 ms).
        subprocess.run([conntrail, "--version"], stdout=subprocess.DEVNULL)
        subprocess.run(["nfdump", "-V"], stdout=subprocess.DEVNULL)
def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = sum(1 for _ in p.stdout)
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter() - t) * 1000
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, lines, status
def load(): return open("/proc/loadavg").read().split()[0]
def pct(v, q): v = sorted(v); return v[min(len(v) - 1, int(q * len(v)))]
print("\n## Single-address query latency (ms; %d queries per cell over hosts %s)\n" % (qruns, ", ".join(hosts)))
print("| window | cache | tool / store | files read | p50 wall | p99 wall | max wall | median CPU | records out, median (conntrail bidirectional, nfdump one-way) | load1 | ratio nfdump / conntrail (p50 wall; CPU) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for wname, a, b in windows:
    tools = [("conntrail sealed", lambda h: [conntrail, "query", "--data-dir", f"{data}/ct", "--ip", h, "--from", str(a), "--to", str(b)], "-")]
    for name in [n for n in ("plain", "lz4") if os.path.isdir(f"{data}/nf/{n}")]:
        rng, n = nf_range(f"{data}/nf/{name}", a, b)
        tools.append((f"nfdump -R ({name})", (lambda rng: lambda h: ["nfdump", "-R", rng, "-q", "-o", "csv", f"host {h}"])(rng), n))
    for cache in ("warm", "cold"):
        base = None
        for tname, mk, nfiles in tools:
            walls, cpus, rows, loads = [], [], [], []
            for i in range(qruns + (1 if cache == "warm" else 0)):
                h = hosts[i % len(hosts)]
                if cache == "cold": drop()
                w, c, l, st = run(mk(h))
                if tname.startswith("conntrail"): l -= 1  # its CSV header line
                if st != 0: print(f"<!-- {tname} {h} exit status {st} -->")
                if cache == "warm" and i == 0: continue
                walls.append(w); cpus.append(c); rows.append(l); loads.append(float(load()))
            p50, cpu = pct(walls, .5), statistics.median(cpus)
            ratio = "1" if base is None else "%.0f× ; %.0f×" % (p50 / base[0], cpu / base[1])
            if base is None: base = (p50, cpu)
            print(f"| {wname} | {cache} | {tname} | {nfiles} | {p50:.1f} | {pct(walls, .99):.1f} | {max(walls):.1f} | {cpu:.1f} | {int(statistics.median(rows))} | {max(loads):.2f} | {ratio} |", flush=True)
EOF
out ""
out "## Single-address query latency inside one process (ms; \`bench/storage/query_latency\`, what the agent's API pays: no process start; 2 queries per host per cell, same hosts)"
out ""
out "| window | warm p50 | warm max | cold p50 | cold max | load1 |"
out "|---|---|---|---|---|---|"
mid=$((T0 + (DAYS / 2) * 86400))
for w in "1 hour:$((mid + 43200)):$((mid + 46800))" "1 day:$mid:$((mid + 86400))" "$DAYS days:$T0:$((T0 + DAYS * 86400))"; do
  IFS=: read -r wname a b <<<"$w"
  lat=$(RUNS=2 "$BUILD/bench/storage/query_latency" "$DATA/ct" "$a" "$b" 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5)
  warm=$(echo "$lat" | awk '/^warm p50/ {print $3 " | " $6}')
  cold=$(echo "$lat" | awk '/^cold p50/ {print $3 " | " $6}')
  out "| $wname | ${warm//,/} | ${cold//,/} | $(cut -d' ' -f1 /proc/loadavg) |"
done
out ""
out "- load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
log "done; summary in $DATA/summary.md"
[ "$KEEP" = 1 ] || { cp "$SUMMARY" "/tmp/storage-vs-nfdump-$(date -u +%Y%m%dT%H%M%SZ).md"; rm -rf "$DATA"; }
