// Package k8sbench assesses a Kubernetes cluster against every check of the
// CIS Kubernetes Benchmark v1.12 and Bulwark's cluster-level
// recommendations. A collector gathers one Snapshot of facts — on a node the
// live processes' command lines, static pod manifests, the kubelet's
// effective configuration and file owners and modes; from the API the RBAC
// objects, namespaces, pods, services, NetworkPolicies and the version — and
// every control is data plus a pure function over that snapshot, listed in
// one table (registry.go). Run turns the outcomes into the shared result
// model (model.Assessment, rule ids CIS-K8S-<id> and BW-K8S-CLUSTER-<name>).
package k8sbench
