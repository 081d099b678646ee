#!/usr/bin/env bash
# Runs every fuzz target for a short time (default 15s each). New crashers
# land in the package's testdata/fuzz/ and become regression seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-15s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | awk '{print $2}'); do
    echo "== $pkg $f"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$T" "$pkg"
  done
done
