package watch

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// collect is a sink that keeps what it is sent.
type collect struct {
	mu sync.Mutex
	as []model.Alert
}

func (c *collect) Send(_ context.Context, a model.Alert) error {
	c.mu.Lock()
	c.as = append(c.as, a)
	c.mu.Unlock()
	return nil
}
func (c *collect) Close() error { return nil }

// byType is the last version of every alert sent, per (type, resource).
func (c *collect) byType() map[string][]model.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	out := map[string][]model.Alert{}
	for i := len(c.as) - 1; i >= 0; i-- {
		a := c.as[i]
		if k := a.Type + "\x00" + a.Resource.ID; !seen[k] {
			seen[k] = true
			out[a.Type] = append(out[a.Type], a)
		}
	}
	return out
}

const (
	testEngine = "ABCD:EFGH:IJKL"
	testCID    = "3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e"
)

func newTestPipeline(t *testing.T, eng *runtime.Engine) (*Pipeline, *alert.Aggregator, *collect) {
	t.Helper()
	sink := &collect{}
	agg := alert.NewAggregator(alert.AggregatorOptions{Window: time.Hour}, sink)
	p := NewPipeline(eng, agg, slog.New(slog.DiscardHandler))
	p.Identity = NewIdentity("h1")
	p.Identity.SetDockerHost(testEngine, "h1")
	return p, agg, sink
}

// decode turns a rule test's event into an Event on this host, its
// container (if any) given the full id; Falco events name it by the
// 12-hex prefix, as Falco does.
func decode(t *testing.T, raw any) *event.Event {
	t.Helper()
	b, _ := json.Marshal(raw)
	var ev event.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Host = "h1"
	if ev.Container != nil && ev.Container.ID != "" {
		ev.Container.ID = testCID
		if ev.Source == event.SourceFalco {
			ev.Container.ID = testCID[:12]
		}
		ev.Container.Name = "" // node sensors do not know it
	}
	return &ev
}

// TestContainerAlertIdentity: every rule that names a container, fed its
// own firing test on this host, names the container as the inventory
// does: <engine ID>/<full id>, parent the engine, with the name the
// engine gave it (learnt from the Docker source), whatever source saw it
// (a node sensor knows only the id, Falco only its first 12 digits).
// Rules that name the host name the Docker host.
func TestContainerAlertIdentity(t *testing.T) {
	eng, err := runtime.New(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range eng.Rules() {
		for _, tc := range r.Tests {
			if !tc.Fire || r.Correlate != nil || r.Sequence != nil {
				continue
			}
			evs := make([]*event.Event, len(tc.Events))
			for i, raw := range tc.Events {
				evs[i] = decode(t, raw)
			}
			last := evs[len(evs)-1]
			inContainer := last.Container != nil && last.Container.ID != "" && last.Container.Pod == "" && last.K8s == nil
			wantHost := r.Resource == "host" || (r.Resource == "auto" && !inContainer && last.K8s == nil && last.Source != event.SourceK8sAudit)
			if !inContainer && !wantHost {
				continue
			}
			t.Run(r.ID+"/"+tc.Name, func(t *testing.T) {
				p, agg, sink := newTestPipeline(t, eng)
				// The Docker source saw the container start under its name.
				p.Handle(&event.Event{Time: time.Unix(0, 0), Source: event.SourceDocker, Kind: event.KindContainer, Action: "start", Host: "h1",
					Container: &event.Container{ID: testCID, Name: "web"}})
				for _, ev := range evs {
					p.Handle(ev)
				}
				agg.Drain(context.Background()) //nolint:errcheck
				got := sink.byType()[r.ID]
				if len(got) != 1 {
					t.Fatalf("%d alerts of %s, want 1: %+v", len(got), r.ID, got)
				}
				res := got[0].Resource
				switch {
				case inContainer && r.Resource != "host":
					if res.Kind != model.KindContainer || res.ID != testEngine+"/"+testCID || res.Parent != testEngine || res.Name != "web" {
						t.Errorf("resource %+v, want container %s/%s named web", res, testEngine, testCID)
					}
				default:
					if res.Kind != model.KindDockerHost || res.ID != testEngine || res.Name != "h1" {
						t.Errorf("resource %+v, want the docker-host %s", res, testEngine)
					}
				}
			})
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("only %d rule tests name a container or the host: the selection is broken", checked)
	}
}

// TestIdentityForeignAndUnknown: events of another host keep the run-time
// ids; before the engine is known so do this host's, with the name.
func TestIdentityForeignAndUnknown(t *testing.T) {
	id := NewIdentity("h1")
	id.observe(&event.Event{Source: event.SourceDocker, Kind: event.KindContainer, Action: "start", Host: "h1", Container: &event.Container{ID: testCID, Name: "web"}})
	c := model.Resource{Kind: model.KindContainer, ID: "container:" + testCID, Name: testCID[:12]}
	if r := id.Resource(c, &event.Event{Host: "h1"}); r.ID != c.ID || r.Name != "web" {
		t.Errorf("engine unknown: %+v", r)
	}
	id.SetDockerHost(testEngine, "h1")
	if r := id.Resource(c, &event.Event{Host: "other"}); r.ID != c.ID {
		t.Errorf("another host's container: %+v", r)
	}
	h := model.Resource{Kind: model.KindHost, ID: "host:other", Name: "other"}
	if r := id.Resource(h, &event.Event{Host: "other"}); r.ID != h.ID || r.Kind != h.Kind {
		t.Errorf("another host: %+v", r)
	}
	id.observe(&event.Event{Source: event.SourceDocker, Kind: event.KindContainer, Action: "destroy", Host: "h1", Container: &event.Container{ID: testCID}})
	if r := id.Resource(c, &event.Event{Host: "h1"}); r.Name != c.Name || r.ID != testEngine+"/"+testCID {
		t.Errorf("after destroy: %+v", r)
	}
}

// TestTwinAlertsOnce: one happening that two sources see raises one
// alert: `docker run --privileged` is the sensor's exec of the docker CLI
// on the host (K8S.NODE_PrivilegedContainerArtifacts) and the engine's
// start of the container (VM_PrivilegedContainerArtifacts); a docker exec
// into a privileged container is the engine's exec_start and the
// sensor's shell in the container. Two execs in two containers are two.
func TestTwinAlertsOnce(t *testing.T) {
	eng, err := runtime.New(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	other := strings.Repeat("a", 64)
	cases := []struct {
		name string
		evs  []*event.Event
		want int
	}{
		{"docker run --privileged", []*event.Event{
			{Time: t0, Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "h1",
				Process: &event.Process{Exe: "/usr/bin/docker", Args: []string{"docker", "run", "-d", "--privileged", "alpine", "sleep", "1"}, UID: 0, EUID: 0}},
			{Time: t0.Add(time.Second), Source: event.SourceDocker, Kind: event.KindContainer, Action: "start", Host: "h1",
				Container: &event.Container{ID: testCID, Name: "tools", Privileged: true}},
		}, 1},
		{"docker exec -it into a privileged container", []*event.Event{
			{Time: t0, Source: event.SourceDocker, Kind: event.KindContainer, Action: "exec_start", Host: "h1",
				Container: &event.Container{ID: testCID, Name: "tools", Privileged: true, Exec: []string{"ls"}}},
			{Time: t0.Add(100 * time.Millisecond), Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "h1",
				Container: &event.Container{ID: testCID, Privileged: true}, Process: &event.Process{Exe: "/bin/bash", Args: []string{"bash"}, TTY: true, UID: 0, EUID: 0}},
		}, 1},
		{"privileged execs in two containers", []*event.Event{
			{Time: t0, Source: event.SourceDocker, Kind: event.KindContainer, Action: "exec_start", Host: "h1",
				Container: &event.Container{ID: testCID, Name: "tools", Privileged: true, Exec: []string{"ls"}}},
			{Time: t0.Add(100 * time.Millisecond), Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "h1",
				Container: &event.Container{ID: other, Privileged: true}, Process: &event.Process{Exe: "/bin/bash", Args: []string{"bash"}, TTY: true, UID: 0, EUID: 0}},
		}, 2},
		{"the same twin a minute later is a new happening", []*event.Event{
			{Time: t0, Source: event.SourceDocker, Kind: event.KindContainer, Action: "exec_start", Host: "h1",
				Container: &event.Container{ID: testCID, Name: "tools", Privileged: true, Exec: []string{"ls"}}},
			{Time: t0.Add(time.Minute), Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "h1",
				Container: &event.Container{ID: testCID, Privileged: true}, Process: &event.Process{Exe: "/bin/bash", Args: []string{"bash"}, TTY: true, UID: 0, EUID: 0}},
		}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, agg, sink := newTestPipeline(t, eng)
			for _, ev := range c.evs {
				p.Handle(ev)
			}
			agg.Drain(context.Background()) //nolint:errcheck
			n := 0
			var got []string
			for typ, as := range sink.byType() {
				n += len(as)
				for _, a := range as {
					got = append(got, typ+" on "+a.Resource.ID)
				}
			}
			if n != c.want {
				t.Errorf("%d alerts, want %d: %v", n, c.want, got)
			}
			if c.want == 1 && p.Twins() != 1 {
				t.Errorf("twins dropped: %d, want 1", p.Twins())
			}
		})
	}
}
