#!/usr/bin/env bash
# Builds kube-apiserver from the k8s.io/kubernetes module pinned in go.mod into
# $1 (default /var/tmp/bulwark-kube/bin). The version is stamped in because
# clients refuse a server whose version they cannot parse. Later builds come
# from Go's build cache in seconds; the first takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-/var/tmp/bulwark-kube/bin}
mkdir -p "$out"
ver=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
pkg=k8s.io/component-base/version
ld="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$ver" | cut -d. -f2) -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-01-01T00:00:00Z"
ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$ver"
go build -trimpath -ldflags "$ld" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
echo "$out/kube-apiserver"
