#!/usr/bin/env bash
# Cluster agent figures (issue 14): a real kube-apiserver + etcd (test/,
# kube-apiserver from test/build-kube.sh) holding PODS pods (default 5,000),
# a real server, and `bulwark agent cluster`: prints the informers' initial
# sync time, the time to the first complete report stored on the server,
# the agent's peak RSS (targets: sync < 10 s, memory < 200 MiB) and its RSS
# after IDLE seconds of a quiet cluster (default 20).
#   PODS=5000 IDLE=20 bench/agent-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
BIN=$(cd "$OUT" && pwd)/bulwark
cd test
BULWARK_BIN=$BIN BULWARK_AGENT_PODS=${PODS:-5000} BULWARK_AGENT_IDLE=${IDLE:-20} go test ./e2e -run '^$' -bench BenchmarkAgentClusterSync -benchtime 1x -timeout 15m |
  grep -E 'Benchmark|pods created'
