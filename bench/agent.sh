#!/usr/bin/env bash
# Docker host agent figures (issue 14): starts a real server (SQLite, a DB
# with one critical Debian 12 glibc advisory, so the test image has
# findings) and `bulwark agent docker` against this machine's engine with
# the run-time watch on, then prints
#   - the agent's CPU (share of one core) and RSS over IDLE seconds of an
#     idle host (target < 1 % and < 60 MiB; what start-up and each burst of
#     work mapped is given back once the host is quiet: internal/memtrim),
#   - the time from `docker import` of the Debian test image returning to
#     its findings on the server (target < 5 s, warm DB),
#   - the Go benchmarks of the agent's hot paths.
#   - with BUSY=SECONDS, the CPU and RSS of a host that is never quiet (a
#     container started every 2 s).
#   IDLE=60 [BUSY=120] bench/agent.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-60}
TAR=${BULWARK_TESTDATA:-/var/tmp/bulwark-testdata}/bookworm-minbase.tar
[ -s "$TAR" ] || { echo "needs $TAR (scripts/testimage.sh)"; exit 1; }
WORK=$(mktemp -d /var/tmp/bulwark-agentbench.XXXX)
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
B=$OUT/bulwark
TAG=bulwark-agent-bench:$$
trap 'kill $AGENT $SERVER 2>/dev/null || true; wait 2>/dev/null; docker rmi -f $TAG >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/feeds/debian"
cat >"$WORK/feeds/debian/DEBIAN-CVE-2099-0001.json" <<'JSON'
{"schema_version": "1.6.0", "id": "DEBIAN-CVE-2099-0001", "aliases": ["CVE-2099-0001"], "summary": "synthetic glibc overflow",
 "modified": "2099-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u99"}]}]}],
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
JSON
"$B" --cache-dir "$WORK/cache" db update --source "$WORK/feeds" >/dev/null 2>&1
PORT=18460
"$B" server --data-dir "$WORK/data" --cache-dir "$WORK/cache" --listen 127.0.0.1:$PORT --db-update-interval 0 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
ENGINE=$(docker info --format '{{.Name}}')
ENROL=$("$B" token create --data-dir "$WORK/data" --name enrol --scope enroll --expires 1h --resource "docker-host/$ENGINE" 2>/dev/null)
READ=$("$B" token create --data-dir "$WORK/data" --name reader --scope read 2>/dev/null)
"$B" --cache-dir "$WORK/agentcache" agent docker --server http://127.0.0.1:$PORT --token "$ENROL" --name "$ENGINE" 2>"$WORK/agent.log" &
AGENT=$!
# Warm: the start-up resync (assessment + every local image) is done.
for _ in $(seq 1 300); do
  n=$(curl -sf -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/resources?kind=docker-host" | grep -c '"docker-host"' || true)
  [ "$n" -gt 0 ] && break; sleep 0.2
done
sleep 10
ticks() { awk '{print $14+$15}' /proc/$AGENT/stat; }
HZ=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep "$IDLE"
t1=$(ticks); s1=$(date +%s.%N)
echo "== idle agent over ${IDLE}s (docker events + CIS + inventories + run-time watch, heartbeat 60s)"
awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$s0" -v e="$s1" 'BEGIN{printf "idle CPU: %.2f %% of one core\n", 100*(b-a)/hz/(e-s)}'
echo "idle RSS: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status) ($(awk '/RssAnon/{printf "anonymous %.1f MiB", $2/1024}' /proc/$AGENT/status), $(awk '/RssFile/{printf "file-backed %.1f MiB", $2/1024}' /proc/$AGENT/status): the binary's pages), peak $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status)"
echo "== docker import of the Debian test image → its findings on the server"
docker import "$TAR" "$TAG" >/dev/null
start=$(date +%s.%N)
ID=$(docker image inspect --format '{{.Id}}' "$TAG")
for _ in $(seq 1 600); do
  if curl -sf -H "Authorization: Bearer $READ" "http://127.0.0.1:$PORT/api/v1/resources/$ID" | grep -q '"critical":[1-9]'; then break; fi
  sleep 0.05
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN{printf "findings on the server %.2f s after docker import returned\n", e-s}'
echo "agent RSS after the import: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status), peak $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status)"
# The inventory's memory goes back once the host is quiet (5 s), at most
# once a minute: the idle figure again after that.
sleep 65
echo "agent RSS 65 s after the import: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status) ($(awk '/RssAnon/{printf "anonymous %.1f MiB", $2/1024}' /proc/$AGENT/status), $(awk '/RssFile/{printf "file-backed %.1f MiB", $2/1024}' /proc/$AGENT/status))"
if [ "${BUSY:-0}" -gt 0 ]; then
  # A host that is never quiet (a CI runner): a container started every
  # 2 s, each one an engine event and a CIS re-assessment; the memory is
  # still given back a minute after the first burst waiting.
  echo "== busy host: a container every 2 s for ${BUSY}s"
  t0=$(ticks); s0=$(date +%s.%N); max=0
  for _ in $(seq 1 $((BUSY / 2))); do
    docker run --rm --network none "$TAG" /bin/true >/dev/null 2>&1 &
    sleep 2
    r=$(awk '/VmRSS/{print int($2/1024)}' /proc/$AGENT/status); [ "$r" -gt "$max" ] && max=$r
  done
  t1=$(ticks); s1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$s0" -v e="$s1" 'BEGIN{printf "busy CPU: %.2f %% of one core\n", 100*(b-a)/hz/(e-s)}'
  echo "busy RSS: $(awk '/VmRSS/{printf "%.1f MiB", $2/1024}' /proc/$AGENT/status) at the end, at most ${max} MiB sampled every 2 s"
fi
echo "== Go benchmarks"
go test -run '^$' -bench 'BenchmarkConnSend' -benchtime 2s ./internal/agent | grep Benchmark
