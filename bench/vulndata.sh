#!/usr/bin/env bash
# Prints, per vulnerability data source added for the vendor distributions,
# NVD and EPSS: the DB build time, peak memory and DB size of
# `bulwark db update --source` over synthetic feeds in the upstream's own
# format at the real feeds' record counts (bench/feedgen; no upstream is
# reached), then all of them together (NVD, EPSS and KEV records of CVEs no
# package advisory names are read but left out of the DB), then the DB lookup
# benchmark.
# Counts: REDHAT OSV UPDATEINFO PHOTON EPSS NVD (see bench/feedgen -h).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
mkdir -p "$OUT"
go build -o "$OUT/bulwark" ./cmd/bulwark
FEEDS="$OUT/feeds"
rm -rf "$FEEDS"
go run ./bench/feedgen -o "$FEEDS" -redhat "${REDHAT:-30000}" -osv "${OSV:-20000}" -updateinfo "${UPDATEINFO:-5000}" \
  -photon "${PHOTON:-20000}" -epss "${EPSS:-280000}" -nvd "${NVD:-300000}"
echo "# $(nproc) cores; synthetic feeds in $FEEDS"
printf '%-12s %9s %10s %9s %10s %9s\n' source records "build s" "peak MiB" "DB MiB" "feed MiB"
build() {
  local label=$1; shift
  local cache="$OUT/cache-$label"
  rm -rf "$cache"
  local srcs; srcs=$(IFS=,; echo "$*")
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$OUT/bulwark" --cache-dir "$cache" db update --source "$srcs" >"$OUT/update-$label.txt" 2>&1 \
    || { echo "$label: failed: $(tail -3 "$OUT/update-$label.txt")"; return; }
  read -r wall rss <"$OUT/time.txt"
  local recs; recs=$(awk '/^imported/ {n+=$3} END {print n+0}' "$OUT/update-$label.txt")
  local db; db=$(stat -c %s "$cache/db/bulwark.db")
  local feed; feed=$(du -cb "$@" | tail -1 | cut -f1)
  printf '%-12s %9d %10s %9d %10.1f %9.1f\n' "$label" "$recs" "$wall" $((rss / 1024)) "$(echo "$db/1048576" | bc -l)" "$(echo "$feed/1048576" | bc -l)"
}
for s in redhat osv updateinfo photon epss nvd; do
  build "$s" "$FEEDS/$s"
done
build all "$FEEDS/redhat" "$FEEDS/osv" "$FEEDS/updateinfo" "$FEEDS/photon" "$FEEDS/epss" "$FEEDS/nvd"
echo
echo "# DB lookups (go test -bench BenchmarkAffected ./internal/vulndb)"
go test -run '^$' -bench 'BenchmarkAffected' -benchmem -count "${COUNT:-3}" ./internal/vulndb | grep -E '^Benchmark'
