package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
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

// fixedMatcher judges every package vulnerable, as the server's matcher
// would write it: findings and a VULN-image assessment.
type fixedMatcher struct{}

func (fixedMatcher) Match(_ context.Context, rep *model.Report) (string, error) {
	for _, p := range rep.Packages {
		rep.Findings = append(rep.Findings, model.Finding{ID: "CVE-2099-1", Severity: model.SeverityHigh, Package: p, InstalledVersion: p.Version})
	}
	rep.Summary.Verdict = model.VerdictUnhealthy
	rep.Summary.Counts.High = len(rep.Findings)
	rep.Assessments = []model.Assessment{{Rule: "VULN-image", Status: model.AssessUnhealthy, Severity: model.SeverityHigh}}
	return "db1", nil
}

// TestPrepareHostInventory: a host's own packages are stored under the
// host (its inventory, findings, verdict and a VULN-host result), for the
// host's binding; a node's must name its cluster; other kinds are images.
func TestPrepareHostInventory(t *testing.T) {
	now := func() time.Time { return time.Unix(0, 0) }
	body := `{"schema_version":"1","image":{"source":"host","reference":"/"},"distro":{"id":"debian","version_id":"12"},
	 "resource":{"kind":"docker-host","id":"ENGINE-ID","name":"web-1"},
	 "packages":[{"name":"libc6","version":"2.36-9","type":"deb","source_name":"glibc"}]}`
	for _, m := range []Matcher{nil, fixedMatcher{}} {
		p, err := Prepare(context.Background(), "", []byte(body), Options{Now: now, Matcher: m})
		if err != nil {
			t.Fatal(err)
		}
		b := p.Batch
		if p.Target == nil || p.Target.Kind != "docker-host" || p.Target.ID != "ENGINE-ID" || b.Subject != "ENGINE-ID" ||
			b.Inventory == nil || b.Inventory.ImageID != "ENGINE-ID" || len(b.Resources) != 1 || b.Resources[0].Kind != model.KindDockerHost {
			t.Fatalf("matcher %v: prepared %+v batch %+v", m, p, b)
		}
		if len(b.Assessments) != 1 || len(b.Assessments[0].Items) != 1 || b.Assessments[0].Items[0].Rule != recommend.RuleHost {
			t.Errorf("matcher %v: assessments %+v, want one %s", m, b.Assessments, recommend.RuleHost)
		}
		if m != nil && (!b.Matched || len(b.Findings) != 1 || b.Health.Verdict != model.VerdictUnhealthy) {
			t.Errorf("matched host: %+v", b)
		}
		// Re-matching the stored inventory keeps it a host's result.
		if m != nil {
			rb, err := Rematch(context.Background(), b.Inventory, m, time.Unix(1, 0))
			if err != nil || rb.Assessments[0].Items[0].Rule != recommend.RuleHost {
				t.Errorf("rematch of a host inventory: %+v %v", rb, err)
			}
		}
	}
	node := strings.Replace(body, `"kind":"docker-host","id":"ENGINE-ID"`, `"kind":"node","id":"n1"`, 1)
	if _, err := Prepare(context.Background(), "", []byte(node), Options{Now: now}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a node id without its cluster: %v, want ErrInvalid", err)
	}
	node = strings.Replace(body, `"kind":"docker-host","id":"ENGINE-ID"`, `"kind":"node","id":"uid/n1"`, 1)
	if p, err := Prepare(context.Background(), "", []byte(node), Options{Now: now}); err != nil || p.Target.Kind != "cluster" || p.Target.ID != "uid" {
		t.Errorf("a node's packages: %+v %v", p, err)
	}
}

// TestPrepareClusterObjects: the full policy report and the agent's delta
// put a cluster's objects in the batch alike (cluster, each namespace
// once, the workload, what its pod template runs) and refuse an object
// or a parent outside the cluster.
func TestPrepareClusterObjects(t *testing.T) {
	now := func() time.Time { return time.Unix(0, 0) }
	const policy = `{"schema_version":"1","cluster":"prod","cluster_id":"u","policies":[],"results":[` +
		`{"kind":"Pod","name":"p","resource":{"kind":"workload","id":"u/ns/Pod/p","parent":"PARENT","facts":{"images":"a:1,b:2"}},"assessments":[]},` +
		`{"kind":"Pod","name":"q","resource":{"kind":"workload","id":"OBJECT","parent":"u/ns"},"assessments":[]}]}`
	const delta = `{"schema_version":"1","delta":"k8s","cluster_id":"u","upserts":[` +
		`{"resource":{"kind":"workload","id":"u/ns/Pod/p","parent":"PARENT","facts":{"images":"a:1,b:2"}},"assessments":[]},` +
		`{"resource":{"kind":"workload","id":"OBJECT","parent":"u/ns"},"assessments":[]}]}`
	for _, doc := range []struct{ name, body string }{{"policy report", policy}, {"delta", delta}} {
		for _, c := range []struct {
			name, parent, object string
			ok                   bool
		}{
			{"in the cluster", "u/ns", "u/ns/Pod/q", true},
			{"object of another cluster", "u/ns", "v/ns/Pod/q", false},
			{"parent in another cluster", "v/ns", "u/ns/Pod/q", false},
		} {
			body := strings.NewReplacer("PARENT", c.parent, "OBJECT", c.object).Replace(doc.body)
			p, err := Prepare(context.Background(), "", []byte(body), Options{Now: now})
			if !c.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s, %s: %v, want ErrInvalid", doc.name, c.name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, %s: %v", doc.name, c.name, err)
			}
			var kinds []string
			for _, r := range p.Batch.Resources {
				kinds = append(kinds, string(r.Kind)+" "+r.ID)
			}
			if got, want := strings.Join(kinds, ", "), "cluster u, namespace u/ns, workload u/ns/Pod/p, workload u/ns/Pod/q"; got != want {
				t.Errorf("%s: resources %s, want %s", doc.name, got, want)
			}
			if len(p.Batch.Runs) != 2 || p.Batch.Runs[1].Image != "b:2" || p.Batch.Runs[1].RootID != "u" {
				t.Errorf("%s: runs %+v", doc.name, p.Batch.Runs)
			}
		}
	}
}
