package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPrepareK8sBench: a bench k8s report lands on its cluster and node;
// a node of another cluster is refused.
func TestPrepareK8sBench(t *testing.T) {
	now := func() time.Time { return time.Unix(0, 0) }
	body := `{"schema_version":"1","benchmark":"CIS Kubernetes Benchmark v1.12","resource":{"kind":"cluster","id":"uid","name":"prod"},
	 "results":[{"resource":{"kind":"cluster","id":"uid"},"assessments":[{"rule":"CIS-K8S-5.1.1","status":"unhealthy","severity":"high"}]},
	            {"resource":{"kind":"node","id":"uid/n1","parent":"uid"},"assessments":[{"rule":"CIS-K8S-4.2.1","status":"healthy","severity":"high"}]}]}`
	p, err := Prepare(context.Background(), "", []byte(body), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindK8sBench || p.Target == nil || p.Target.ID != "uid" || len(p.Batch.Resources) != 2 || len(p.Batch.Assessments) != 2 || p.Batch.Source != "cis-k8s" {
		t.Errorf("prepared %+v %+v", p, p.Batch)
	}
	bad := `{"schema_version":"1","benchmark":"CIS Kubernetes Benchmark v1.12","resource":{"kind":"cluster","id":"uid"},
	 "results":[{"resource":{"kind":"node","id":"other/n1","parent":"other"},"assessments":[]}]}`
	if _, err := Prepare(context.Background(), "", []byte(bad), Options{Now: now}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a node of another cluster: %v, want ErrInvalid", err)
	}
	noID := `{"schema_version":"1","benchmark":"CIS Kubernetes Benchmark v1.12","resource":{"kind":"cluster","id":""},"results":[]}`
	if _, err := Prepare(context.Background(), "", []byte(noID), Options{Now: now}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a cluster without identity: %v, want ErrInvalid", err)
	}
}
