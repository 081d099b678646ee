#!/usr/bin/env bash
# Webhook latency under load: builds bulwark and bench/admissionload, which
# starts `bulwark admission serve` (self-signed certificate, every built-in
# policy, PSS ones enforced and Defender ones audited) and sends RATE
# realistic AdmissionReviews per second (Pods and Deployments, compliant and
# violating, 5–10 KB) over loopback TLS for DURATION, open-loop, then prints
# the achieved rate, errors and p50/p90/p99/max latency. Target on the 2-core
# development machine: p99 <= 5 ms at 500/s.
#   RATE=500 DURATION=20s bench/admission.sh
#   HTTP2=1 bench/admission.sh   # the webhook started with --http2 (HTTP/1.1 otherwise)
#   BULWARK_CPUPROFILE=/tmp/webhook.pprof bench/admission.sh   # profile the server
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
go build -o "$OUT/admissionload" ./bench/admissionload
echo "== Go benchmarks: one evaluation, one combined query vs one query per policy; one review through the handler"
go test -run '^$' -bench 'BenchmarkEvaluate' -benchtime 2s ./internal/policy | grep Benchmark
go test -run '^$' -bench 'BenchmarkServeHTTP/engine' -benchtime 2s ./internal/admission | grep Benchmark
echo "== admission serve${HTTP2:+ --http2} under ${RATE:-500}/s for ${DURATION:-20s}"
h2=()
if [ -n "${HTTP2:-}" ]; then h2=(-http2); fi
"$OUT/admissionload" -bin "$OUT/bulwark" "${h2[@]}" -rate "${RATE:-500}" -duration "${DURATION:-20s}" -warmup "${WARMUP:-3s}"
