package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

type discard struct{}

func (discard) Send(context.Context, model.Alert) error { return nil }
func (discard) Close() error                            { return nil }

// BenchmarkAggregatorAdd measures one firing through Add: mostly repeats of
// open alerts, with first firings, window closes and (with more resources
// than MaxOpen) early closes mixed in as a real stream has them.
func BenchmarkAggregatorAdd(b *testing.B) {
	for _, bc := range []struct {
		resources int
		types     int
		maxOpen   int // 0: the default, 10,000
	}{{100, 5, 0}, {10_000, 5, 0}, {10_000, 5, 100_000}, {100_000, 5, 0}} {
		b.Run(fmt.Sprintf("resources=%d/max_open=%d", bc.resources, bc.maxOpen), func(b *testing.B) {
			in := make([]model.Alert, bc.resources*bc.types)
			for i := range in {
				in[i] = firing(fmt.Sprintf("K8S.NODE_Type%d", i%bc.types), fmt.Sprintf("container-%06d", i/bc.types), t0, "e")
			}
			ctx := context.Background()
			at := t0
			g := NewAggregator(AggregatorOptions{MaxOpen: bc.maxOpen, Now: func() time.Time { return at }}, discard{})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				a := in[i%len(in)]
				// Live, 10k firings a second: windows close as they would.
				at = t0.Add(time.Duration(i) * 100 * time.Microsecond)
				a.FirstSeen, a.LastSeen = at, at
				if err := g.Add(ctx, a); err != nil {
					b.Fatal(err)
				}
				i++
			}
			st := g.Stats()
			b.ReportMetric(float64(st.Open), "open")
		})
	}
}

func BenchmarkAggregatorAddParallel(b *testing.B) {
	in := make([]model.Alert, 10_000)
	for i := range in {
		in[i] = firing("K8S.NODE_ReverseShell", fmt.Sprintf("container-%06d", i), t0, "e")
	}
	ctx := context.Background()
	g := NewAggregator(AggregatorOptions{Now: func() time.Time { return t0 }}, discard{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a := in[i%len(in)]
			if err := g.Add(ctx, a); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
