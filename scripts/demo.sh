#!/usr/bin/env bash
# The quick start: build the vulnerability DB from the feeds beside the clone
# (../shared/vulndata; without it, from the public upstreams), assemble a
# real Debian image (debootstrap bookworm + an app layer) and scan it.
set -euo pipefail
cd "$(dirname "$0")/.."
# `make demo TESTDATA=DIR` passes BULWARK_TESTDATA.
TESTDATA=${BULWARK_TESTDATA:-${TESTDATA:-/var/tmp/bulwark-testdata}}
SHARED=${BULWARK_SHARED:-../shared}
# The DB goes where `bulwark db status` and `bulwark scan` look by default
# (the user cache directory, or $BULWARK_CACHE_DIR when set).
DB_DIR=${BULWARK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bulwark}/db
BW=bin/bulwark
[ -x $BW ] || go build -o $BW ./cmd/bulwark
echo "== vulnerability DB in $DB_DIR"
if [ -d "$SHARED/vulndata" ]; then
  $BW db update --source "$SHARED/vulndata" | tail -1
else
  echo "(no $SHARED/vulndata: downloading the public feeds)"
  $BW db update | tail -1
fi
img=$TESTDATA/demo.img.tar
if [ ! -s "$img" ]; then
  echo "== assembling $img"
  go run ./bench/mkimage -rootfs "$TESTDATA/bookworm-minbase.tar" -app -o "$img"
fi
echo "== scan image --input $img"
rc=0
$BW scan image --input "$img" "$@" || rc=$?
echo
echo "The DB is in $DB_DIR: \`$BW db status\` describes it, \`$BW scan image …\` uses it."
exit $rc
