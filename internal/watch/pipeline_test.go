package watch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAuditIDSetModel checks the set against the obvious model (the last n
// keys added, in a slice) over long random streams whose keys repeat, so
// that eviction, probe runs and backward-shift deletion are all exercised.
func TestAuditIDSetModel(t *testing.T) {
	for _, tc := range []struct{ n, keys, steps int }{
		{1, 3, 200},
		{3, 8, 2000},
		{64, 100, 20000},
		{1000, 1500, 50000},
		{5000, 7000, 60000}, // grows 256 → 5000, then wraps
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			s := newAuditIDSet(tc.n)
			if len(s.ring) > auditIDSetStart {
				t.Fatalf("a new set holds a %d-key ring, want at most %d until keys arrive", len(s.ring), auditIDSetStart)
			}
			var model []auditKey
			for step := range tc.steps {
				k := auditKey{"prod", fmt.Sprint(rng.IntN(tc.keys))}
				want := !slices.Contains(model, k)
				if want {
					model = append(model, k)
					if len(model) > tc.n {
						model = model[1:]
					}
				}
				if got := s.add(k); got != want {
					t.Fatalf("step %d: add(%q) = %v, want %v", step, k.id, got, want)
				}
				if s.len() != len(model) {
					t.Fatalf("step %d: len %d, want %d", step, s.len(), len(model))
				}
			}
		})
	}
}

func BenchmarkAuditIDSetAdd(b *testing.B) {
	keys := make([]auditKey, 1<<18)
	for i := range keys {
		keys[i] = auditKey{"prod", fmt.Sprintf("%08x-ada6-4bf2-84da-3baaa5575c9a", i)}
	}
	s := newAuditIDSet(dedupeWindow)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.add(keys[i%len(keys)])
	}
}

func TestAuditIDSetBounded(t *testing.T) {
	s := newAuditIDSet(3)
	steps := []struct {
		key  string
		want bool
	}{
		{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"a", false},
		{"d", true},  // evicts a
		{"a", true},  // forgotten, so new again (evicts b)
		{"c", false}, // still held
		{"b", true},
	}
	for i, st := range steps {
		if got := s.add(auditKey{"c", st.key}); got != st.want {
			t.Errorf("step %d add(%q) = %v, want %v", i, st.key, got, st.want)
		}
	}
	if s.len() != 3 {
		t.Errorf("set holds %d keys, want 3", s.len())
	}
}
