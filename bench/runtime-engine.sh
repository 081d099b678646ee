#!/usr/bin/env bash
# Speed and memory of the run-time detection engine (internal/runtime), over
# the full built-in rule set:
#  - BenchmarkProcessAudit: a realistic API-server audit mix (mostly
#    metadata-level get/list/watch, pod/deployment creations with request
#    objects, secrets reads, role bindings); target ≥ 100,000 events/s/core
#  - BenchmarkProcessExec: process executions in containers and on hosts
#  - BenchmarkCorrelationMemory: MILLIONS (default 5) million exec events
#    over an unbounded number of correlation keys; live heap must stay flat
# cpu-ns/event is process CPU time (GC included) per event: the figure that
# compares to "per core" on a shared machine; ns/op is wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
MILLIONS=${MILLIONS:-5}
echo "# $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench 'BenchmarkProcess(Audit|Exec)$' -benchtime 2s -count "$COUNT" ./internal/runtime/
for n in 1 "$MILLIONS"; do
  go test -run '^$' -bench 'BenchmarkCorrelationMemory$' -benchtime "${n}000000x" ./internal/runtime/ | grep Benchmark
done
