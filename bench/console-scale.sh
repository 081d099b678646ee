#!/usr/bin/env bash
# The web console at the server's scale (issue 13's targets): fills a store
# with bench/serverload's data set (10,000 images with their inventories,
# 1,000,000 findings, 200 Docker hosts, 5,000 workloads, 100,000 alerts),
# starts the real server on it, logs in (replacing the initial password) and
# prints, per page, the HTML's p50/p95 over ROUNDS requests and its size,
# then Chromium's first paint and transfer size (bench/consolescale).
# Targets: p95 < 150 ms, first paint < 1 s, no page > 300 KB.
#   bench/console-scale.sh             SQLite
#   bench/console-scale.sh postgres    PostgreSQL ($BULWARK_TEST_POSTGRES cluster; database bwconsole)
#   KEEP=/var/tmp/dir bench/console-scale.sh   load once into dir, reuse it on the next runs (SQLite)
#   PAGES=/score,/vulnerabilities bench/console-scale.sh   measure more pages
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:-sqlite}
ROUNDS=${ROUNDS:-50}
PORT=${PORT:-18444}
mkdir -p bin
go build -o bin/bulwark ./cmd/bulwark
go build -o bin/serverload ./bench/serverload
go build -o bin/consolescale ./bench/consolescale
if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d /var/tmp/bulwark-consolebench.XXXX); fi
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; [ -z "${KEEP:-}" ] && rm -rf "$WORK"; true; }
trap cleanup EXIT
DBURL=""
if [ "$STORE" = postgres ]; then
  BASE=${BULWARK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable}
  DBURL=${BASE/\/postgres\?/\/bwconsole?}
fi
if [ ! -f "$WORK/loaded" ]; then
  if [ "$STORE" = postgres ]; then psql "$BASE" -qc 'DROP DATABASE IF EXISTS bwconsole WITH (FORCE)' -c 'CREATE DATABASE bwconsole'; fi
  rm -rf "$WORK/data" "$WORK/password-set"
  echo "== load ($STORE)"
  /usr/bin/time -f "load: %e s, max RSS %M KiB" bin/serverload load -data-dir "$WORK/data" ${DBURL:+-database "$DBURL"} | grep -E 'RESULT|load:'
  touch "$WORK/loaded"
fi
ARGS=(--data-dir "$WORK/data" --cache-dir "$WORK/cache" --listen 127.0.0.1:$PORT --db-update-interval 0)
[ -n "$DBURL" ] && ARGS+=(--database "$DBURL")
bin/bulwark server "${ARGS[@]}" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 300); do curl -sf http://127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
# The server's first posture refresh runs at start (about 20 s on this data
# set): measure after it, as a running server is.
sleep "${SETTLE:-30}"
# The first run replaces the initial admin password; later runs (KEEP) use the new one.
PW="console bench password"
if [ ! -f "$WORK/password-set" ]; then
  LOGIN=(-password "$(cat "$WORK/data/initial-admin-password")" -new-password "$PW")
  touch "$WORK/password-set"
else
  LOGIN=(-password "$PW")
fi
echo "== pages ($STORE, $ROUNDS rounds each)"
bin/consolescale -server http://127.0.0.1:$PORT -user admin "${LOGIN[@]}" -rounds "$ROUNDS" ${PAGES:+-pages "$PAGES"}
echo "server RSS: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status), peak $(awk '/VmHWM/{print $2, $3}' /proc/$SERVER/status)"
