package policy

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// realisticDeployment is a typical application Deployment: two containers,
// an init container, probes, env, volumes.
const realisticDeployment = `{
 "apiVersion": "apps/v1", "kind": "Deployment",
 "metadata": {"name": "checkout", "namespace": "shop", "labels": {"app": "checkout", "team": "payments"},
  "annotations": {"deployment.kubernetes.io/revision": "7"}},
 "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "checkout"}},
  "template": {"metadata": {"labels": {"app": "checkout"}, "annotations": {"prometheus.io/scrape": "true"}},
   "spec": {"serviceAccountName": "checkout", "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "initContainers": [{"name": "migrate", "image": "registry.example.com/shop/checkout-migrate:2.4.1",
     "args": ["--up"], "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
     "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}],
    "containers": [
     {"name": "app", "image": "registry.example.com/shop/checkout:2.4.1", "ports": [{"containerPort": 8080, "name": "http"}],
      "env": [{"name": "DB_HOST", "value": "db"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
      "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
      "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}, "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
      "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
      "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}},
     {"name": "proxy", "image": "envoyproxy/envoy:v1.31.0", "ports": [{"containerPort": 9901}],
      "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
      "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "tmp", "emptyDir": {}}]}}}}`

// BenchmarkEvaluate: one query per policy. BenchmarkEvaluateCombined:
// every policy in one query (what the engine uses).
func BenchmarkEvaluate(b *testing.B) { benchmarkEvaluate(b, false) }

func BenchmarkEvaluateCombined(b *testing.B) { benchmarkEvaluate(b, true) }

// BenchmarkEvaluateDocument: the admission webhook's path, the JSON
// decoded straight into Rego values (ParseDocument) and evaluated.
func BenchmarkEvaluateDocument(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Policies = map[string]PolicyConfig{"BW-K8S-ALLOWED-REGISTRIES": {Params: map[string]any{"allowed_registries": []any{"registry.example.com"}}}}
	e, err := New(context.Background(), cfg, WithImageVerdicts(func(string) (model.ImageVerdict, bool) { return critical(0), true }))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := []byte(realisticDeployment)
	var res Result
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime()
	for b.Loop() {
		doc, err := ParseDocument(data)
		if err != nil {
			b.Fatal(err)
		}
		if res, err = e.EvaluateDocument(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(res.Violations)), "violations")
}

// BenchmarkParseDocument: decoding alone.
func BenchmarkParseDocument(b *testing.B) {
	data := []byte(realisticDeployment)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseDocument(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkEvaluate(b *testing.B, combined bool) {
	var obj Object
	if err := json.Unmarshal([]byte(realisticDeployment), &obj); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Policies = map[string]PolicyConfig{"BW-K8S-ALLOWED-REGISTRIES": {Params: map[string]any{"allowed_registries": []any{"registry.example.com"}}}}
	e, err := New(context.Background(), cfg, WithImageVerdicts(func(string) (model.ImageVerdict, bool) { return critical(0), true }))
	if err != nil {
		b.Fatal(err)
	}
	if !combined {
		e.combined = nil
	}
	ctx := context.Background()
	res, err := e.Evaluate(ctx, obj)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, obj); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time (GC included) per evaluation: steadier than ns/op on a
	// shared machine, where wall time includes waiting for a core.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(e.Policies())), "policies")
	b.ReportMetric(float64(len(res.Violations)), "violations")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
