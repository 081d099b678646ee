#!/usr/bin/env bash
# Builds the real Debian test image rootfs used by the integration tests and
# benchmarks: `debootstrap --variant=minbase bookworm`, packed as a layer tar,
# plus a second rootfs with more packages (an "app" layer on top of minbase).
# Output: $OUT/bookworm-minbase.tar and $OUT/bookworm-app.tar (the full rootfs
# with extra packages). Cached: existing tars are kept.
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
  debootstrap --variant=minbase "$@" bookworm "$root" "$MIRROR" >"$OUT/$name.log" 2>&1 || { tail -20 "$OUT/$name.log"; exit 1; }
  # Drop caches that change run to run; they are not part of what we scan.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
  tar --numeric-owner -C "$root" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$root"
  echo "built $tar"
}
build bookworm-minbase
build bookworm-app --include=openssl,libssl3,ca-certificates,curl,libsqlite3-0,libxml2,python3-minimal
