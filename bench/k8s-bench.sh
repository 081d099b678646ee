#!/usr/bin/env bash
# Times a full `bulwark bench k8s` run (node checks over a live kube-apiserver,
# etcd and stand-in controller manager and scheduler, plus every API check)
# against a real API server holding about 1,000 objects, and kube-bench on the
# same node when it is available, and prints both and their ratio.
#   KUBE_BENCH=/path/to/kube-bench KUBE_BENCH_CFG=/path/to/its/cfg (optional:
#   build it outside this repository from its source, e.g. the search tool's
#   fetch of aquasecurity/kube-bench, `go build` in a `git archive` of it)
#   KUBE_BENCH_TARGETS (default master,etcd,controlplane: its policies target
#   runs kubectl per object and did not finish in 15 minutes on 1,000 objects)
#   RUNS=3 (runs of each), KUBE_APISERVER (default /var/tmp/bulwark-kube/bin/kube-apiserver)
# Needs root: everything runs in its own PID namespace (unshare --pid
# --mount-proc), so kube-bench's ps sees this node's processes and no other
# API server on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
export BULWARK_BIN=$PWD/$OUT/bulwark
export BULWARK_KUBE_APISERVER=${KUBE_APISERVER:-/var/tmp/bulwark-kube/bin/kube-apiserver}
if [ -n "${KUBE_BENCH:-}" ]; then
  export BULWARK_KUBE_BENCH=$KUBE_BENCH BULWARK_KUBE_BENCH_CFG=${KUBE_BENCH_CFG:?KUBE_BENCH_CFG: kube-bench cfg dir}
  export BULWARK_KUBE_BENCH_TARGETS=${KUBE_BENCH_TARGETS:-master,etcd,controlplane}
fi
echo "== bench k8s on a 1,000-object cluster ($RUNS runs each)"
res=$(cd test && unshare --pid --fork --mount-proc go test -count=1 -run '^$' -bench 'BenchmarkBenchK8s' -benchtime "${RUNS}x" ./e2e 2>&1) || { echo "$res"; exit 1; }
echo "$res" | grep -E '^Benchmark|objects' || true
awk '
  /^BenchmarkBenchK8s\/bulwark/    { bw = $3 / 1e9 }
  /^BenchmarkBenchK8s\/kube-bench/ { kb = $3 / 1e9 }
  END {
    printf "bulwark bench k8s (node + API, every target): %.2f s per run\n", bw
    if (kb > 0) printf "kube-bench (%s): %.2f s per run; ratio %.1fx\n", ENVIRON["BULWARK_KUBE_BENCH_TARGETS"], kb, kb / bw
    else print "kube-bench: not run (set KUBE_BENCH and KUBE_BENCH_CFG)"
  }' <<<"$res"
