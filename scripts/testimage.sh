#!/usr/bin/env bash
# Builds the real Debian test image rootfs used by the integration tests and
# benchmarks: `debootstrap --variant=minbase bookworm`, packed as a layer tar,
# plus a second rootfs with more packages (an "app" layer on top of minbase).
# Output: $OUT/bookworm-minbase.tar (the tests need only this one) and
# $OUT/bookworm-app.tar (the full rootfs with extra packages, for bench/).
# Usage: testimage.sh [OUT] [NAME...]. Cached: existing tars are kept.
set -euo pipefail
OUT=${1:-/var/tmp/bulwark-testdata}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$OUT"
build() { # name, extra debootstrap args...
  local name=$1; shift
  local tar="$OUT/$name.tar"
  [ -s "$tar" ] && { echo "have $tar"; return; }
  local root
  root=$(mktemp -d "$OUT/$name.XXXX")
  echo "building $tar with debootstrap from $MIRROR (a few minutes; log: $OUT/$name.log)"
  if [ -t 1 ]; then
    # On a terminal: debootstrap's phases as they start (retrieving,
    # validating, extracting, installing, configuring), not every package.
    debootstrap --variant=minbase "$@" bookworm "$root" "$MIRROR" 2>&1 | tee "$OUT/$name.log" |
      awk -v start="$(date +%s)" '/^I: / { p = $2; if (p != last) { last = p; sub(/^I: /, ""); printf "  [%ds] %s\n", systime() - start, $0; fflush() } }' ||
      { tail -20 "$OUT/$name.log"; exit 1; }
  else
    debootstrap --variant=minbase "$@" bookworm "$root" "$MIRROR" >"$OUT/$name.log" 2>&1 || { tail -20 "$OUT/$name.log"; exit 1; }
  fi
  # Drop caches that change run to run; they are not part of what we scan.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$root"
  echo "built $tar"
}
shift || true
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(bookworm-minbase bookworm-app)
for n in "${names[@]}"; do
  case $n in
    bookworm-minbase) build bookworm-minbase ;;
    bookworm-app) build bookworm-app --include=openssl,libssl3,ca-certificates,curl,libsqlite3-0,libxml2,python3-minimal ;;
    *) echo "unknown image $n" >&2; exit 2 ;;
  esac
done
