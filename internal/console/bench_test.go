package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/server"
)

// BenchmarkPages serves each page's HTML to a logged-in analyst through the
// server's handler over loopback HTTP, on the test fixture's small data set:
// the console's own cost (API calls in process, JSON decoding, templates).
// bench/console.sh prints the figures.
func BenchmarkPages(b *testing.B) {
	f := newFixture(b, server.Options{})
	srv := httptest.NewServer(f.s.Handler())
	b.Cleanup(srv.Close)
	br := newBrowser(b, srv.URL)
	br.login("ana", f.password)
	for _, p := range []struct{ name, path string }{{"dashboard", "/"}, {"recommendations", "/recommendations"}, {"recommendation", "/recommendations/REC-PRIVILEGED"},
		{"alerts", "/alerts"}, {"alert", "/alerts/" + f.alert}, {"inventory", "/inventory"}, {"image", "/inventory/" + f.image}} {
		b.Run(p.name, func(b *testing.B) {
			size := 0
			for b.Loop() {
				st, body, _ := br.do("GET", p.path, nil)
				if st != http.StatusOK {
					b.Fatalf("%s: %d", p.path, st)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "html-bytes")
		})
	}
}
