#!/usr/bin/env bash
# Node agent figures (issue 14): starts a real server (SQLite) and
# `bulwark agent node` as a host process on this machine (no kubelet here:
# the CIS node checks read this host's files and find none of a node),
# once per run-time sensor, and prints
#   - the agent's CPU (share of one core) and RSS over IDLE seconds of an
#     idle host (target < 1 % and < 60 MiB), with the sensor that ran
#     (auto: the eBPF sensor, else /proc; proc: /proc — processes from
#     the kernel's process events connector where it can be used, else
#     polled, and connections polled — every second),
#   - the Go benchmark of one CIS node assessment (collect + evaluate).
#   IDLE=60 bench/agent-node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-60}
WORK=$(mktemp -d /var/tmp/bulwark-nodebench.XXXX)
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
B=$OUT/bulwark
AGENT=
trap 'kill $AGENT $SERVER 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=18461
"$B" server --data-dir "$WORK/data" --cache-dir "$WORK/cache" --listen 127.0.0.1:$PORT --db-update-interval 0 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
ENROL=$("$B" token create --data-dir "$WORK/data" --name enrol --scope enroll --expires 1h 2>/dev/null)
READ=$("$B" token create --data-dir "$WORK/data" --name reader --scope read 2>/dev/null)
CLUSTER=5f0c2c3e-6b1d-4c8e-9a57-2f9e1d7b0a11
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' /proc/$AGENT/stat; }
for SENSOR in ${SENSORS:-auto proc}; do
  NODE=bench-node-$SENSOR
  "$B" --cache-dir "$WORK/agentcache-$SENSOR" agent node --server http://127.0.0.1:$PORT --token "$ENROL" --cluster-id $CLUSTER \
    --node-name $NODE --sensor "$SENSOR" 2>"$WORK/agent-$SENSOR.log" &
  AGENT=$!
  # Warm: the node and its assessment are on the server.
  for _ in $(seq 1 300); do
    curl -sf -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/resources/$CLUSTER%2F$NODE" >/dev/null && break
    sleep 0.2
  done
  sleep 10
  t0=$(ticks); s0=$(date +%s.%N)
  sleep "$IDLE"
  t1=$(ticks); s1=$(date +%s.%N)
  if grep -q "ebpf hook live" "$WORK/agent-$SENSOR.log"; then used="eBPF sensor"
  elif grep -q "processes from the kernel's process events" "$WORK/agent-$SENSOR.log"; then used="/proc: process events, connections polled"
  else used="/proc scanning"; fi
  echo "== idle node agent over ${IDLE}s, --sensor $SENSOR ($used; CIS node checks hourly, heartbeat 60s)"
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$s0" -v e="$s1" 'BEGIN{printf "idle CPU: %.2f %% of one core\n", 100*(b-a)/hz/(e-s)}'
  # RssFile is the executable's pages (shared with the server here, page
  # cache the kernel may reclaim); RssAnon is the agent's own memory.
  echo "idle RSS: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status) (anonymous $(awk '/RssAnon/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status), file-backed $(awk '/RssFile/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status)), peak $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status)"
  kill $AGENT; wait $AGENT 2>/dev/null || true
  AGENT=
  # This host is shared: the events are other processes' execs and
  # connections, evaluated by the rules.
  ev=$(grep -o 'engine_events=[0-9]*' "$WORK/agent-$SENSOR.log" | tail -1 | cut -d= -f2)
  [ -n "$ev" ] && echo "events evaluated since start: $ev (this host is not idle: other processes ran meanwhile)"
done
echo "== Go benchmarks"
go test -run '^$' -bench 'BenchmarkAssessNode' -benchtime 2s ./internal/agent | grep Benchmark
