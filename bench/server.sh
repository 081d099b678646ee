#!/usr/bin/env bash
# Scale of `bulwark server` (issue 11's targets): fills a store with 10,000
# images, 1,000,000 findings, 200 Docker hosts, 5,000 workloads and 100,000
# alerts, starts the real server on it, and prints p50/p95/p99 of every list
# and detail call, the server's RSS, and the ingestion rate of image reports
# the server matches with the real DB built from ../shared/vulndata.
#   bench/server.sh            SQLite
#   bench/server.sh postgres   PostgreSQL ($BULWARK_TEST_POSTGRES cluster; a database bwbench is made)
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:-sqlite}
make -s build >/dev/null
go build -o bin/serverload ./bench/serverload
WORK=$(mktemp -d /var/tmp/bulwark-serverbench.XXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
DBURL=""
if [ "$STORE" = postgres ]; then
  BASE=${BULWARK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable}
  psql "$BASE" -qc 'DROP DATABASE IF EXISTS bwbench WITH (FORCE)' -c 'CREATE DATABASE bwbench'
  DBURL=${BASE/\/postgres\?/\/bwbench?}
fi
bin/bulwark --cache-dir "$WORK/cache" db update --source ../shared/vulndata >/dev/null 2>&1
echo "== load ($STORE)"
/usr/bin/time -f "load: %e s, max RSS %M KiB" bin/serverload load -data-dir "$WORK/data" ${DBURL:+-database "$DBURL"} | grep -E 'RESULT|load:'
ARGS=(--data-dir "$WORK/data" --cache-dir "$WORK/cache" --listen 127.0.0.1:18443 --db-update-interval 0)
[ -n "$DBURL" ] && ARGS+=(--database "$DBURL")
bin/bulwark server "${ARGS[@]}" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18443/readyz >/dev/null && break; sleep 0.2; done
TOKEN=$(bin/bulwark token create --data-dir "$WORK/data" ${DBURL:+--database "$DBURL"} --name bench --scope read,ingest 2>/dev/null)
echo "== queries"
bin/serverload query -server http://127.0.0.1:18443 -token "$TOKEN" -rounds 200
echo "server RSS after queries: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status), peak $(awk '/VmHWM/{print $2, $3}' /proc/$SERVER/status)"
echo "== ingestion (image reports matched by the server)"
bin/serverload ingest -server http://127.0.0.1:18443 -token "$TOKEN" -rootfs "${BULWARK_TESTDATA:-/var/tmp/bulwark-testdata}/bookworm-minbase.tar" -n 100
bin/serverload ingest -server http://127.0.0.1:18443 -token "$TOKEN" -osv-go ../shared/vulndata/osv/go-vulndb-osv.tar.gz -per 200 -n 50 -c 4
echo "server RSS after ingestion: $(awk '/VmRSS/{print $2, $3}' /proc/$SERVER/status), peak $(awk '/VmHWM/{print $2, $3}' /proc/$SERVER/status)"
if [ "$STORE" = sqlite ]; then echo "store file: $(du -h "$WORK/data/bulwark.db" | cut -f1)"; fi
