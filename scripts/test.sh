#!/usr/bin/env bash
# `make test`'s test commands, as `go test -json` for gotestsum to show
# (one line per package, failures in full) and to summarise: every skipped
# test with its reason, then one line of passed, failed and skipped.
#   scripts/test.sh run       the main module's tests, the gzip decoder
#                             without build tags, the e2e tests of test/
#   scripts/test.sh summary   gotestsum's --post-run-command
# Environment (set by the Makefile): GO, TAGS, TESTDATA, KUBE_BIN, BULWARK_BIN.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
case "${1:-run}" in
summary)
  passed=$((TESTS_TOTAL - TESTS_FAILED - TESTS_SKIPPED))
  [ "$passed" -lt 0 ] && passed=0
  line="Tests: $passed passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
  [ "${TESTS_ERRORS:-0}" -gt 0 ] && line="$line, $TESTS_ERRORS package errors"
  [ "$TESTS_SKIPPED" -gt 0 ] && line="$line (each skipped test and why is listed above)"
  echo "$line"
  ;;
run)
  rc=0
  BULWARK_TESTDATA=${TESTDATA:-/var/tmp/bulwark-testdata} \
    $GO test -json -tags "${TAGS:-}" -count=1 -timeout 30m ./... || rc=1
  # The gzip decoder without the isal tag too, so both paths stay correct.
  if [ -n "${TAGS:-}" ]; then
    $GO test -json -count=1 -run 'Gzip|Uncompressed|ReadAhead' ./internal/image || rc=1
  fi
  (cd test && BULWARK_BIN=${BULWARK_BIN:-$PWD/../bin/bulwark} \
    BULWARK_KUBE_APISERVER=${KUBE_BIN:-/var/tmp/bulwark-kube/bin}/kube-apiserver \
    $GO test -json -count=1 -timeout 30m ./...) || rc=1
  exit $rc
  ;;
*)
  echo "usage: $0 run|summary" >&2
  exit 2
  ;;
esac
