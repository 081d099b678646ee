package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzPrepare: any body gets a batch or an ErrInvalid, never a panic or a
// server error, and a batch always names what it writes.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		`{"schema_version":"1","image":{"source":"registry","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","reference":"r.example/a:1","repo_tags":["a:1"]},"packages":[{"name":"openssl","version":"3.0.1","type":"deb"}],"distro":{"id":"debian","version_id":"12"}}`,
		`{"schema_version":"1","benchmark":"CIS Docker Benchmark v1.6.0","host":{"id":"E","name":"n"},"resource":{"kind":"docker-host","id":"E"},"assessments":[{"rule":"CIS-DOCKER-1.1","status":"healthy","severity":"high"}],"containers":[{"id":"c","image_id":"sha256:x"}],"images":[{"id":"sha256:x"}]}`,
		`{"schema_version":"1","cluster":"prod","cluster_id":"u","policies":[],"results":[{"kind":"Pod","name":"p","resource":{"kind":"workload","id":"u/ns/Pod/p","parent":"u/ns"},"assessments":[]}]}`,
		`{"schema_version":"1","id":"a","type":"T","first_seen":"2026-12-01T00:00:00Z","resource":{"kind":"container","id":"h/c"},"count":2}`,
		`[{"id":"a","type":"T","first_seen":"2026-12-01T00:00:00Z","resource":{"kind":"workload","id":"u/ns/Pod/p"}}]`,
		`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}`,
		`{"schema_version":"1","benchmark":"CIS Kubernetes Benchmark v1.12","resource":{"kind":"cluster","id":"uid","name":"prod"},"results":[{"resource":{"kind":"cluster","id":"uid"},"assessments":[{"rule":"CIS-K8S-5.1.1","status":"unhealthy","severity":"high"}]},{"resource":{"kind":"node","id":"uid/n1","parent":"uid"},"assessments":[]}]}`,
		`{"schema_version":"1","delta":"k8s","cluster_id":"u","resync":"r","resync_begin":true,"upserts":[{"resource":{"kind":"workload","id":"u/ns/Pod/p","parent":"u/ns","facts":{"images":"a:1"}},"assessments":[],"running":[{"container":"c","image":"a:1","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","repository":"r.example/a"}]}],"deletes":["u/ns/Pod/q"]}`,
		`{"schema_version":"1","image":{"source":"host","reference":"/"},"resource":{"kind":"docker-host","id":"E","name":"n"},"packages":[{"name":"libc6","version":"2.36-9","type":"deb"}],"distro":{"id":"debian","version_id":"12"}}`,
		`{"schema_version":"1","image":{"source":"host"},"resource":{"kind":"node","id":"uid/n1"},"packages":[]}`,
		`{}`, `[]`, `null`, `{"schema_version":"2","image":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Prepare(context.Background(), "", body, Options{Now: func() time.Time { return time.Unix(0, 0) }})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("not ErrInvalid: %v", err)
			}
			return
		}
		if p.Kind != KindAlerts && p.Batch.Subject == "" {
			t.Fatalf("%s batch without a subject", p.Kind)
		}
		for _, r := range p.Batch.Resources {
			if r.ID == "" || r.Kind == "" {
				t.Fatalf("resource without id or kind: %+v", r)
			}
		}
	})
}
