#!/usr/bin/env bash
# The web console's own cost per page (issue 13): HTML served to a logged-in
# analyst through the server's handler over loopback, on the console test's
# small fixture (3 workloads/images, 1 alert) — NOT yet the issue's data set
# of 10,000 images / 1 M findings / 100,000 alerts. Prints ms per page and
# the HTML size.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'BenchmarkPages' -benchtime "${N:-200}x" ./internal/console |
  awk '/^BenchmarkPages/ { split($1, a, "/"); sub(/-[0-9]+$/, "", a[2]); printf "%-16s %7.2f ms  %7d bytes\n", a[2], $3/1e6, $5 }'
