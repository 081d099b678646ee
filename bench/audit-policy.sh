#!/usr/bin/env bash
# Audit log volume of `bulwark runtime audit-policy` against an all-
# RequestResponse and an all-Metadata policy on the same traffic: the attack
# steps of the run-time e2e tests against a real kube-apiserver (test/e2e
# TestRuntimeAuditPolicy, which also checks the generated policy loses no
# alert). Needs kube-apiserver (make kube) and etcd (Debian's etcd-server).
#   bench/audit-policy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KUBE_BIN=${KUBE_BIN:-/var/tmp/bulwark-kube/bin}
make -s build kube KUBE_BIN="$KUBE_BIN" >/dev/null
cd test
BULWARK_BIN=$PWD/../bin/bulwark BULWARK_KUBE_APISERVER=$KUBE_BIN/kube-apiserver \
  go test -count=1 -run '^TestRuntimeAuditPolicy$' -v ./e2e 2>&1 | grep -E 'audit log volume|^(--- |ok|FAIL)'
