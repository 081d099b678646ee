#!/usr/bin/env bash
# Re-matching stored inventories after a DB update (issue 12's target:
# 10,000 inventories in under 60 s on this machine). The store holds 10,000
# copies of the real Debian test image's inventory; the DB is built from
# ../shared/vulndata. Prints images/s and the time for 10,000.
#   bench/rematch.sh            SQLite
#   bench/rematch.sh postgres   PostgreSQL ($BULWARK_TEST_POSTGRES cluster; a database bwrematch is made)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
if [ "${1:-sqlite}" = postgres ]; then
  BASE=${BULWARK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable}
  psql "$BASE" -qc 'DROP DATABASE IF EXISTS bwrematch WITH (FORCE)' -c 'CREATE DATABASE bwrematch'
  export BULWARK_BENCH_POSTGRES=${BASE/\/postgres\?/\/bwrematch?}
fi
BULWARK_TESTDATA=${BULWARK_TESTDATA:-/var/tmp/bulwark-testdata} \
  go test -run '^$' -bench 'BenchmarkRematch$' -benchtime "${N}x" -timeout 60m ./internal/rematch | grep -E 'Benchmark|ok|FAIL'
