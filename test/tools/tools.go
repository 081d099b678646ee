//go:build tools

// Package tools pins the kube-apiserver the e2e tests build and run
// (go build k8s.io/kubernetes/cmd/kube-apiserver), so go mod tidy keeps it.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
)
