#!/usr/bin/env bash
# What a caller of notify.Dispatcher.Notify pays per event, per kind of sink
# (events/s: Notify returning), and how fast events reach the sink's disk
# queue or syslog socket (flushed/s). Loopback receivers, nothing external.
#   bench/notify.sh [N]      (N events per sink, default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
go test -count=1 -run '^$' -bench '^BenchmarkNotify$' -benchtime "${N}x" ./internal/notify |
  awk '/^Benchmark/ {
    name=$1; sub(/^BenchmarkNotify\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) { if ($(i+1) == "ns/op") ns=$i; if ($(i+1) == "events/s") ev=$i; if ($(i+1) == "flushed/s") fl=$i }
    printf "%-20s %10.0f ns/Notify %12.0f events/s %10.0f flushed/s\n", name, ns, ev, fl
  }'
