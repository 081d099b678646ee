package alert

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// step is one thing a scenario does: add a firing at an event-time offset,
// move the wall clock, flush or drain.
type step struct {
	add   string        // "Type/resource"
	at    time.Duration // event time offset from t0
	wall  time.Duration // advance the wall clock by this before the step
	flush bool
	drain bool
}

// sentLine summarises one sent alert: type/resource count first..last.
func sentLine(a model.Alert) string {
	return fmt.Sprintf("%s/%s n=%d %s..%s", a.Type, a.Resource.ID, a.Count,
		a.FirstSeen.Sub(t0), a.LastSeen.Sub(t0))
}

func TestAggregator(t *testing.T) {
	tests := []struct {
		name    string
		opts    AggregatorOptions
		steps   []step
		want    []string
		wantIDs int // distinct alert ids sent
	}{
		{
			name: "repeats aggregate; update when a later event closes the window",
			steps: []step{
				{add: "A/r1", at: 0}, {add: "A/r1", at: time.Minute}, {add: "A/r1", at: 2 * time.Minute},
				{add: "B/r2", at: 11 * time.Minute},
			},
			want:    []string{"A/r1 n=1 0s..0s", "A/r1 n=3 0s..2m0s", "B/r2 n=1 11m0s..11m0s"},
			wantIDs: 2,
		},
		{
			name: "no update when nothing repeated; after the window a new alert starts",
			steps: []step{
				{add: "A/r1", at: 0}, {add: "A/r1", at: 10 * time.Minute}, {add: "A/r1", at: 15 * time.Minute},
				{drain: true},
			},
			want:    []string{"A/r1 n=1 0s..0s", "A/r1 n=1 10m0s..10m0s", "A/r1 n=2 10m0s..15m0s"},
			wantIDs: 2,
		},
		{
			name: "types and resources aggregate separately",
			steps: []step{
				{add: "A/r1", at: 0}, {add: "B/r1", at: 1}, {add: "A/r2", at: 2}, {add: "A/r1", at: 3}, {drain: true},
			},
			want:    []string{"A/r1 n=1 0s..0s", "B/r1 n=1 1ns..1ns", "A/r2 n=1 2ns..2ns", "A/r1 n=2 0s..3ns"},
			wantIDs: 3,
		},
		{
			name: "an idle window closes on Flush as wall time passes",
			steps: []step{
				{add: "A/r1", at: 0}, {add: "A/r1", at: time.Minute},
				{flush: true, wall: 5 * time.Minute},
				{flush: true, wall: 5 * time.Minute},
			},
			want:    []string{"A/r1 n=1 0s..0s", "A/r1 n=2 0s..1m0s"},
			wantIDs: 1,
		},
		{
			name: "MaxOpen closes the oldest early, update before the newcomer",
			opts: AggregatorOptions{MaxOpen: 2},
			steps: []step{
				{add: "A/r1", at: 0}, {add: "A/r1", at: 1}, {add: "A/r2", at: 2}, {add: "A/r3", at: 3},
			},
			want:    []string{"A/r1 n=1 0s..0s", "A/r2 n=1 2ns..2ns", "A/r1 n=2 0s..1ns", "A/r3 n=1 3ns..3ns"},
			wantIDs: 3,
		},
		{
			name: "out-of-order event within the window joins the alert",
			steps: []step{
				{add: "A/r1", at: time.Minute}, {add: "A/r1", at: 30 * time.Second}, {drain: true},
			},
			want:    []string{"A/r1 n=1 1m0s..1m0s", "A/r1 n=2 1m0s..1m0s"},
			wantIDs: 1,
		},
		{
			name:    "custom window",
			opts:    AggregatorOptions{Window: time.Minute},
			steps:   []step{{add: "A/r1", at: 0}, {add: "A/r1", at: 30 * time.Second}, {add: "A/r1", at: 61 * time.Second}},
			want:    []string{"A/r1 n=1 0s..0s", "A/r1 n=2 0s..30s", "A/r1 n=1 1m1s..1m1s"},
			wantIDs: 2,
		},
	}
	for _, tt := range tests {
		// Live: wall clock = event time. Replay: the log is years old. Both
		// must send exactly the same alerts.
		for _, mode := range []struct {
			name string
			wall time.Time
		}{{"live", t0}, {"replay", t0.Add(3 * 365 * 24 * time.Hour)}} {
			t.Run(tt.name+"/"+mode.name, func(t *testing.T) {
				ctx := context.Background()
				wall := mode.wall
				opts := tt.opts
				opts.Now = func() time.Time { return wall }
				var c collector
				g := NewAggregator(opts, &c)
				for _, s := range tt.steps {
					wall = wall.Add(s.wall)
					var err error
					switch {
					case s.add != "":
						typ, res, _ := strings.Cut(s.add, "/")
						if mode.name == "live" && t0.Add(s.at).After(wall) {
							wall = t0.Add(s.at)
						}
						err = g.Add(ctx, firing(typ, res, t0.Add(s.at), "e"))
					case s.flush:
						err = g.Flush(ctx)
					case s.drain:
						err = g.Drain(ctx)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				var got []string
				ids := map[string]bool{}
				for _, a := range c.all() {
					got = append(got, sentLine(a))
					ids[a.ID] = true
					if a.ID != AlertID(a.Type, a.Resource.ID, a.FirstSeen) {
						t.Errorf("alert %s: id is not derived from type, resource and first_seen", a.ID)
					}
					if a.Status != model.AlertActive {
						t.Errorf("alert %s: status %q", a.ID, a.Status)
					}
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
				if len(ids) != tt.wantIDs {
					t.Errorf("%d distinct ids, want %d", len(ids), tt.wantIDs)
				}
			})
		}
	}
}

func TestAggregatorFutureClock(t *testing.T) {
	// One event stamped far in the future (a node with a wrong clock) must
	// not close the other windows.
	ctx := context.Background()
	var c collector
	g := NewAggregator(AggregatorOptions{Now: func() time.Time { return t0 }}, &c)
	for _, a := range []model.Alert{
		firing("A", "r1", t0, "e"),
		firing("B", "r2", t0.Add(100*365*24*time.Hour), "e"),
		firing("A", "r1", t0.Add(time.Second), "e"),
	} {
		if err := g.Add(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.all(); len(got) != 2 {
		t.Errorf("sent %d alerts, want the two first firings only", len(got))
	}
	if st := g.Stats(); st.Open != 2 {
		t.Errorf("%d open, want 2", st.Open)
	}
}

func TestAggregatorEvidence(t *testing.T) {
	ctx := context.Background()
	var c collector
	g := NewAggregator(AggregatorOptions{MaxEvidence: 3, Now: func() time.Time { return t0 }}, &c)
	for i := range 7 {
		if err := g.Add(ctx, firing("A", "r1", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("e%d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := c.all()
	if len(got) != 2 {
		t.Fatalf("sent %d alerts, want first + update", len(got))
	}
	// The first alert sent must not have been changed by later firings.
	if n := len(got[0].Evidence); n != 1 || got[0].Evidence[0].Summary != "e1" || got[0].Count != 1 {
		t.Errorf("first alert changed after it was sent: count %d, evidence %v", got[0].Count, got[0].Evidence)
	}
	var sums []string
	for _, e := range got[1].Evidence {
		sums = append(sums, e.Summary)
	}
	if strings.Join(sums, ",") != "e1,e2,e7" || got[1].Count != 7 {
		t.Errorf("update: count %d evidence %v, want 7 and e1,e2,e7 (first ones and the latest)", got[1].Count, sums)
	}
	if st := g.Stats(); st.Alerts != 1 || st.Updates != 1 || st.Open != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAggregatorConcurrent(t *testing.T) {
	ctx := context.Background()
	var c collector
	g := NewAggregator(AggregatorOptions{Now: func() time.Time { return t0 }}, &c)
	const workers, per, resources = 8, 500, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				res := fmt.Sprintf("r%d", (w*per+i)%resources)
				if err := g.Add(ctx, firing("A", res, t0.Add(time.Duration(i)*time.Millisecond), "e")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := g.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	final := map[string]int{}
	firsts := 0
	for _, a := range c.all() {
		if a.Count == 1 && final[a.ID] == 0 {
			firsts++
		}
		if a.Count < final[a.ID] {
			t.Errorf("alert %s: count went down %d -> %d (updates out of order)", a.ID, final[a.ID], a.Count)
		}
		final[a.ID] = a.Count
	}
	total := 0
	for _, n := range final {
		total += n
	}
	if len(final) != resources || total != workers*per {
		t.Errorf("%d alerts with %d firings, want %d alerts with %d", len(final), total, resources, workers*per)
	}
}

func TestAggregatorRun(t *testing.T) {
	var c collector
	var mu sync.Mutex
	wall := t0
	g := NewAggregator(AggregatorOptions{Window: time.Minute, Tick: time.Millisecond, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return wall
	}}, &c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	for i := range 3 {
		if err := g.Add(ctx, firing("A", "r1", t0.Add(time.Duration(i)*time.Second), "e")); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	wall = wall.Add(2 * time.Minute)
	mu.Unlock()
	// Run closes the window on its own; wait for the update it sends.
	deadline := time.Now().Add(10 * time.Second)
	for len(c.all()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run never closed the window")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := c.all(); got[1].Count != 3 || got[1].ID != got[0].ID {
		t.Errorf("update %+v", got[1])
	}
}
