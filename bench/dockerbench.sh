#!/usr/bin/env bash
# Times `bulwark bench docker` on this host with N running containers (default
# 50) and, when docker-bench-security is present, runs it on the same host and
# prints where the two verdicts differ.
#   DOCKER_BENCH=/path/to/docker-bench-security (default /var/tmp/peers/docker-bench;
#   get it with the search tool's fetch of docker/docker-bench-security)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
RUNS=${RUNS:-5}
OUT=${BENCH_OUT:-bench/out}
DB=${DOCKER_BENCH:-/var/tmp/peers/docker-bench}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
CGO_ENABLED=0 go build -o "$OUT/sleeper" ./bench/sleeper
img=bulwark-bench/sleeper:latest
tar -C "$OUT" -cf "$OUT/sleeper.tar" --transform 's,^sleeper$,sleeper,' sleeper
docker import --change 'CMD ["/sleeper"]' "$OUT/sleeper.tar" "$img" >/dev/null
label=bulwark-bench-$$
cleanup() { docker ps -aq --filter "label=$label" | xargs -r docker rm -f >/dev/null; docker rmi -f "$img" >/dev/null 2>&1 || true; }
trap cleanup EXIT
echo "== starting $N containers (a mix of hardened and misconfigured)"
for i in $(seq 1 "$N"); do
  case $((i % 5)) in
    0) args=(--privileged --user 1000 --cap-drop ALL) ;; # root + every cap cannot start in a nested sandbox
    1) args=(--read-only --memory 64m --cpu-shares 512 --pids-limit 64 --security-opt no-new-privileges --cap-drop ALL --user 1000 --restart on-failure:3) ;;
    2) args=(--network host) ;;
    3) args=(-v /etc:/host-etc:ro --cap-add NET_ADMIN) ;;
    4) args=(--pid host --security-opt seccomp=unconfined) ;;
  esac
  docker run -d --label "$label" --name "bb-$$-$i" "${args[@]}" "$img" >/dev/null
done
echo "== bulwark bench docker (median of $RUNS)"
walls=()
for _ in $(seq 1 "$RUNS"); do
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$OUT/bulwark" bench docker -f json -o "$OUT/bulwark-bench.json"
  read -r w m <"$OUT/time.txt"; walls+=("$w")
done
printf 'bulwark bench docker: %s s (median), %.1f MiB peak; %s controls\n' \
  "$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" "$(echo "$m/1024" | bc -l)" \
  "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$OUT/bulwark-bench.json")"
if [ -x "$DB/docker-bench-security.sh" ]; then
  echo "== docker-bench-security (one run)"
  rm -rf "$OUT/dbs-log"; mkdir -p "$OUT/dbs-log"
  start=$(date +%s.%N)
  abs=$(cd "$OUT/dbs-log" && pwd)
  (cd "$DB" && sh ./docker-bench-security.sh -l "$abs/dbs.log" -c cis >"$abs/stdout.txt" 2>&1 || true)
  end=$(date +%s.%N)
  printf 'docker-bench-security: %.1f s\n' "$(echo "$end - $start" | bc -l)"
  if [ -s "$OUT/dbs-log/dbs.log.json" ]; then
    go run ./bench/comparebench "$OUT/bulwark-bench.json" "$OUT/dbs-log/dbs.log.json"
  else
    echo "(no docker-bench-security JSON log found in $OUT/dbs-log)"
  fi
else
  echo "docker-bench-security: not found at $DB (skipped)"
fi
