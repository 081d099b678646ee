#!/usr/bin/env bash
# Registry watch (issue 15): prints
#  - push notification → stored result for the Debian test image
#    (/var/tmp/bulwark-testdata, scripts/testimage.sh), with a warm
#    vulnerability DB: the real one built from ../shared/vulndata when it is
#    there, else a small test DB; cold-layers = base layer never seen,
#    warm-layers = a rebuilt app on the same base;
#  - throughput of 200 small images with 1 and 2 replicas sharing the queue
#    on PostgreSQL ($BULWARK_TEST_POSTGRES), per replica too (2 cores: do not
#    expect it to double).
# Needs Debian's docker-registry and PostgreSQL, as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5}
TAGS=${TAGS-$(test -e /usr/include/isa-l/igzip_lib.h && echo isal)}
echo "# built with tags '${TAGS}' (gzip: $([ "$TAGS" = isal ] && echo ISA-L || echo klauspost/compress)); $(nproc) cores"
WORK=$(mktemp -d /var/tmp/bulwark-registrybench.XXXX)
trap 'rm -rf "$WORK"' EXIT
export BULWARK_REQUIRE_INTEGRATION=1
if [ -d ../shared/vulndata ]; then
  make -s build >/dev/null
  bin/bulwark --cache-dir "$WORK/cache" db update --source ../shared/vulndata >/dev/null 2>&1
  export BULWARK_BENCH_CACHE="$WORK/cache"
  echo "DB: built from ../shared/vulndata"
else
  echo "DB: small test DB (../shared/vulndata not found)"
fi
echo "== push notification → stored result (Debian bookworm-minbase, $N pushes each)"
go test -tags "$TAGS" ./internal/server -run '^$' -bench 'BenchmarkPushToStored' -benchtime "${N}x" -count=1 2>/dev/null |
  awk '/^Benchmark/ {printf "%-40s %8s ms per image\n", $1, $5}'
echo "== throughput, 200 small images (notifications held back, then delivered at once)"
go test -tags "$TAGS" ./internal/server -run '^$' -bench 'BenchmarkReplicaThroughput' -benchtime 1x -count=1 -timeout 30m 2>/dev/null |
  awk '/^Benchmark/ {printf "%-40s %8.0f images/min  %8.0f images/min per replica  (%s cores)\n", $1, $5, $7, "'"$(nproc)"'"}'
