#!/usr/bin/env bash
# Replay speed of `bulwark runtime replay` on a large recorded audit log
# through the full built-in rule set, on one core. bench/auditgen writes N
# (default 1,000,000) realistic audit.k8s.io/v1 events (mostly metadata-level
# get/list/watch and lease updates; pod and deployment creations with request
# objects, a few privileged or mounting the Docker socket; secret reads; role
# bindings, some to cluster-admin; exec; event deletions), then the replay
# runs pinned to CPU 0 with GOMAXPROCS=1 and /usr/bin/time -v reports wall
# time and peak RSS. Target: >= 100,000 events/s per core, memory bounded
# (peak RSS must not grow with N: compare N=1000000 and N=3000000).
#   N=1000000 RUNS=3 bench/runtime.sh
#   BULWARK_CPUPROFILE=/tmp/replay.pprof bench/runtime.sh   # profile the replay
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
OUT=${BENCH_OUT:-bench/out}
LOG=${AUDIT_LOG:-$OUT/audit-$N.log}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
go build -o "$OUT/auditgen" ./bench/auditgen
if [ ! -s "$LOG" ]; then
  "$OUT/auditgen" -n "$N" -o "$LOG"
fi
echo "# $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg); $(du -h "$LOG" | cut -f1) of audit log, $N events"
cat "$LOG" >/dev/null # warm the page cache: measure the replay, not the disk
best=""
for i in $(seq 1 "$RUNS"); do
  GOMAXPROCS=1 /usr/bin/time -v -o "$OUT/replay-time.txt" taskset -c 0 \
    "$OUT/bulwark" --log-level error runtime replay --format json --output "$OUT/replay-alerts.jsonl" "$LOG" 2>"$OUT/replay-stderr.txt"
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/replay-time.txt")
  secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  user=$(awk -F': ' '/User time/ {print $2}' "$OUT/replay-time.txt")
  sys=$(awk -F': ' '/System time/ {print $2}' "$OUT/replay-time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/replay-time.txt")
  rate=$(echo "$N / $secs" | bc)
  cpurate=$(echo "$N / ($user + $sys)" | bc)
  printf 'run %d: %.2f s wall, %s s user + %s s sys: %s events/s (wall), %s events/s per CPU-second; peak RSS %.1f MiB\n' \
    "$i" "$secs" "$user" "$sys" "$rate" "$cpurate" "$(echo "$rss/1024" | bc -l)"
  if [ -z "$best" ] || [ "$rate" -gt "$best" ]; then best=$rate; fi
done
tail -n1 "$OUT/replay-stderr.txt"
echo "best: $best events/s on one core (target 100000)"
