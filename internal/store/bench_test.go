package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// BenchmarkIngestFindings: one image of 1,000 findings per op, on each
// store; reports findings/s (issue 11's target: 20,000/s).
func BenchmarkIngestFindings(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			dsn := ""
			if backend == "postgres" {
				dsn = testenv.Postgres(b)
			}
			s, err := store.Open(context.Background(), dsn, b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fs := make([]model.Finding, 1000)
			for j := range fs {
				fs[j] = finding(fmt.Sprintf("CVE-2026-%05d", j), fmt.Sprintf("lib%d", j%300), sevList[j%len(sevList)])
				fs[j].References = []string{"https://security-tracker.debian.org/tracker/" + fs[j].ID}
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				bt := imageBatch(time.Now(), fmt.Sprint(i), fs)
				id := fmt.Sprintf("sha256:%064x", i)
				bt.Subject = id
				bt.Resources[2].ID = id
				bt.ImageRefs[0].ImageID = id
				bt.Inventory.ImageID = id
				if _, err := s.Ingest(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(fs))/time.Since(start).Seconds(), "findings/s")
		})
	}
}

var sevList = []model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow, model.SeverityUnknown}
