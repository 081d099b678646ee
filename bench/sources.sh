#!/usr/bin/env bash
# Speed of the run-time event sources: audit event parsing (hand-written
# decoder vs encoding/json), webhook batches and replay of an audit log.
# Prints ns/op, B/op and ns/event; run on an idle machine for figures.
#   bench/sources.sh [count]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
go test -run '^$' -bench 'Parse|DecodeStd|Webhook' -benchmem -count "$count" ./internal/source/k8saudit/
go test -run '^$' -bench 'Read' -benchmem -count "$count" ./internal/source/replay/
