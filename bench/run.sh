#!/usr/bin/env bash
# Prints Bulwark's speed figures beside the fastest peers, in one run:
#  - `bulwark sbom` of the debootstrap image (minbase, and app = more packages
#    + an app layer): wall time and peak memory, vs trivy and syft when found
#  - warm-DB scan of the minbase image (cold and warm layer cache)
#  - DB import of everything in ../shared/vulndata: time and size
#  - Go benchmarks of the hot paths (DB lookup, layer walk, matching)
# Peers: set TRIVY=/path/to/trivy SYFT=/path/to/syft, or put them in
# /var/tmp/peers (go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0,
# github.com/anchore/syft/cmd/syft@v1.57.1 with GOBIN=/var/tmp/peers).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
TESTDATA=${BULWARK_TESTDATA:-/var/tmp/bulwark-testdata}
SHARED=${BULWARK_SHARED:-../shared}
OUT=${BENCH_OUT:-bench/out}
TRIVY=${TRIVY:-/var/tmp/peers/trivy}
SYFT=${SYFT:-/var/tmp/peers/syft}
mkdir -p "$OUT"
TAGS=${TAGS-$(test -e /usr/include/isa-l/igzip_lib.h && echo isal)}
go build -tags "$TAGS" -o "$OUT/bulwark" ./cmd/bulwark
echo "# bulwark built with tags '${TAGS}' (gzip: $([ "$TAGS" = isal ] && echo ISA-L || echo klauspost/compress)); $(nproc) cores"
BW="$OUT/bulwark"
for n in minbase app; do
  [ -s "$OUT/$n.img.tar" ] && continue
  extra=""; [ $n = app ] && extra="-app"
  go run ./bench/mkimage -rootfs "$TESTDATA/bookworm-$n.tar" $extra -o "$OUT/$n.img.tar"
done

# measure LABEL CMD...: median wall seconds and max peak RSS (MiB) over RUNS.
measure() {
  local label=$1; shift
  local walls=() rss=0
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || { echo "$label: failed: $(tail -3 "$OUT/stderr.txt")"; return; }
    read -r w m <"$OUT/time.txt"
    walls+=("$w"); [ "$m" -gt "$rss" ] && rss=$m
  done
  local med
  med=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%-44s %8.2f s %8.1f MiB\n' "$label" "$med" "$(echo "$rss/1024" | bc -l)"
}

echo "== SBOM of the debootstrap image (median of $RUNS, cold caches)"
for n in minbase app; do
  img="$OUT/$n.img.tar"
  printf '# %s: %s packages (dpkg)\n' "$n" "$("$BW" sbom --no-cache --input "$img" -f json --cache-dir "$OUT/cache" | grep -c '"type": "deb"' || true)"
  measure "bulwark sbom ($n)" "$BW" --cache-dir "$OUT/cache" sbom --no-cache --input "$img" -f cyclonedx
  if [ -x "$TRIVY" ]; then
    measure "${TRIVY_LABEL:-trivy v0.74.0} ($n, memory cache)" "$TRIVY" image --input "$img" --format cyclonedx --cache-backend memory --offline-scan --cache-dir "$OUT/trivy-cache" --quiet
  else echo "trivy: not found at $TRIVY (skipped)"; fi
  if [ -x "$SYFT" ]; then
    measure "${SYFT_LABEL:-syft v1.57.1} ($n)" env SYFT_CHECK_FOR_APP_UPDATE=false "$SYFT" "docker-archive:$img" -o cyclonedx-json -q
  else echo "syft: not found at $SYFT (skipped)"; fi
done

if [ -d "$SHARED/vulndata" ]; then
  echo "== DB import of $SHARED/vulndata"
  rm -rf "$OUT/dbcache"
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$BW" --cache-dir "$OUT/dbcache" db update --source "$SHARED/vulndata" >"$OUT/import.txt"
  read -r w m <"$OUT/time.txt"
  printf '%-44s %8.2f s %8.1f MiB   DB size %s\n' "db update --source vulndata" "$w" "$(echo "$m/1024" | bc -l)" "$(du -h "$OUT/dbcache/db/bulwark.db" | cut -f1)"
  grep -E '^DB built' "$OUT/import.txt" || true
  echo "== warm-DB scan of the minbase image"
  rm -rf "$OUT/dbcache/layers"
  measure "bulwark scan image (cold layer cache)" "$BW" --cache-dir "$OUT/dbcache" scan image --no-cache --input "$OUT/minbase.img.tar" -f json
  "$BW" --cache-dir "$OUT/dbcache" scan image --input "$OUT/minbase.img.tar" -f json >/dev/null
  measure "bulwark scan image (warm layer cache)" "$BW" --cache-dir "$OUT/dbcache" scan image --input "$OUT/minbase.img.tar" -f json
  measure "bulwark scan image app (cold layer cache)" "$BW" --cache-dir "$OUT/dbcache" scan image --no-cache --input "$OUT/app.img.tar" -f json
else
  echo "(no $SHARED/vulndata: DB import and scan figures skipped)"
fi

echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 2s ./internal/vulndb ./internal/match ./internal/layer 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
