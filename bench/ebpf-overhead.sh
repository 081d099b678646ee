#!/usr/bin/env bash
# Measures the eBPF sensor's overhead (needs root and a BTF kernel):
# fork-exec and open/close rates with no sensor, with the sensor (opens
# filtered in the kernel) and with opens filtered in user space; the
# sensor's event rate and ring-buffer drops. SPAWNS, OPENS, ROUNDS override.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/ebpfoverhead" ./bench/ebpfoverhead
echo "# $(uname -r), $(nproc) cores"
"$OUT/ebpfoverhead" -spawns "${SPAWNS:-1000}" -opens "${OPENS:-200000}" -rounds "${ROUNDS:-9}"
