// Package policyreport is the report of a Kubernetes policy evaluation —
// `bulwark scan k8s` over manifests and `bulwark audit k8s` over a live
// cluster — and its renderers (table, json, sarif). Each evaluated object is
// one policy.Result (the engine's verdict, kept for the JSON shape `scan k8s`
// has always had) plus the shared result model: a model.Resource with a
// stable id and one model.Assessment per reported policy.
package policyreport
