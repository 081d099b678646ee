#!/usr/bin/env bash
# The quick start: build the vulnerability DB from the feeds beside the clone
# (../shared/vulndata; without it, from the public upstreams), assemble a
# real Debian image (debootstrap bookworm + an app layer) and scan it.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTDATA=${BULWARK_TESTDATA:-/var/tmp/bulwark-testdata}
SHARED=${BULWARK_SHARED:-../shared}
export BULWARK_CACHE_DIR=${BULWARK_CACHE_DIR:-$PWD/.cache/bulwark}
BW=bin/bulwark
[ -x $BW ] || go build -o $BW ./cmd/bulwark
if [ -d "$SHARED/vulndata" ]; then
  $BW db update --source "$SHARED/vulndata" | tail -1
else
  $BW db update | tail -1
fi
img=$TESTDATA/demo.img.tar
[ -s "$img" ] || go run ./bench/mkimage -rootfs "$TESTDATA/bookworm-minbase.tar" -app -o "$img"
$BW scan image --input "$img" "$@"
