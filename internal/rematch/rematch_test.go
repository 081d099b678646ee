package rematch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/rematch"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// fixture is a store holding n copies of the real Debian test image's
// inventory (distinct digests), matched with an old DB version, and the
// server's matcher on a DB built from ../shared/vulndata.
func fixture(tb testing.TB, n int, dsn string) (*store.Store, *server.Matcher) {
	tb.Helper()
	ctx := context.Background()
	cache := tb.TempDir()
	if _, err := update.Run(ctx, scan.DBDir(cache), update.Options{Sources: []string{testenv.Shared(tb, "vulndata")}}); err != nil {
		tb.Fatal(err)
	}
	m := server.NewMatcher(scan.DBDir(cache), slog.New(slog.DiscardHandler), time.Now, "bench")
	tb.Cleanup(m.Close)
	rep, err := scan.Catalog(ctx, scan.Target{Kind: scan.FromTarball, Ref: testenv.DebianImageTarball(tb)}, scan.Options{CacheDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	prep, err := ingest.Prepare(ctx, ingest.KindImage, mustJSON(tb, rep), ingest.Options{Limits: ingest.DefaultLimits(), Now: time.Now})
	if err != nil {
		tb.Fatal(err)
	}
	inv := prep.Batch.Inventory
	st, err := store.Open(ctx, dsn, tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for i := range n {
		id := fmt.Sprintf("sha256:%064x", i+1)
		cp := *inv
		cp.ImageID = id
		if _, err := st.Ingest(ctx, &store.Batch{Kind: "image", Subject: id, At: time.Now(), Inventory: &cp,
			Resources: []model.Resource{{Kind: model.KindImage, ID: id, Name: fmt.Sprintf("registry.example/app:%d", i)}},
			Health:    &store.Health{Verdict: model.VerdictNotAssessed, DBVersion: "old"}}); err != nil {
			tb.Fatal(err)
		}
	}
	return st, m
}

// TestRematchResumes: a run that is stopped leaves the rest due; the next
// run takes only the rest; a run with nothing due does nothing.
func TestRematchResumes(t *testing.T) {
	const n = 200 // more than one write group
	st, m := fixture(t, n, "")
	ctx, cancel := context.WithCancel(context.Background())
	// Stopped once the first group is committed.
	_, err := rematch.Run(ctx, st, m, rematch.Options{Workers: 1, OnResult: func(string, store.IngestResult) { cancel() }})
	if err == nil {
		t.Fatal("a cancelled run reported no error")
	}
	due, _ := st.CountInventoriesDue(context.Background(), m.Version())
	if due == 0 || due == n {
		t.Fatalf("after a stopped run: %d of %d due", due, n)
	}
	stats, err := rematch.Run(context.Background(), st, m, rematch.Options{})
	if err != nil || stats.Images != due || stats.NewFindings == 0 {
		t.Fatalf("resumed run: %+v %v (due %d)", stats, err, due)
	}
	stats, err = rematch.Run(context.Background(), st, m, rematch.Options{})
	if err != nil || stats.Images != 0 {
		t.Fatalf("a run with nothing due: %+v %v", stats, err)
	}
}

// BenchmarkRematch: one op is one stored inventory (the real Debian image,
// 100-odd packages) matched again with the real DB and its findings
// replaced in the store. bench/rematch.sh runs it with -benchtime 10000x:
// the target is 10,000 inventories in under 60 s.
// BULWARK_BENCH_POSTGRES=URL measures the PostgreSQL store.
func BenchmarkRematch(b *testing.B) {
	st, m := fixture(b, b.N, os.Getenv("BULWARK_BENCH_POSTGRES"))
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	stats, err := rematch.Run(context.Background(), st, m, rematch.Options{})
	if err != nil || stats.Images != b.N {
		b.Fatalf("%+v %v", stats, err)
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "images/s")
	b.ReportMetric(el.Seconds()/float64(b.N)*10000, "s/10k-images")
	b.ReportMetric(float64(stats.NewFindings)/float64(b.N), "findings/image")
	// CPU spent, whatever else the machine runs: the figure that says what
	// 10,000 cost on an idle 2-core host (cpu-s/10k-images ÷ 2).
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N)*10000, "cpu-s/10k-images")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
