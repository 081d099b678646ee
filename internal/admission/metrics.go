package admission

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds (seconds) of the review latency
// histogram: the target is p99 ≤ 5 ms, the API server gives up at 10 s.
var latencyBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics counts reviews by decision and their latency; it writes the
// Prometheus text exposition format. The zero value is not usable: use
// NewMetrics. A nil *Metrics records nothing.
type Metrics struct {
	mu        sync.Mutex
	decisions map[string]uint64
	buckets   [len(latencyBuckets)]uint64
	count     uint64
	sum       float64
	panics    uint64
	verdicts  *VerdictCache
}

// SetVerdictCache adds the image verdict cache's counters to the metrics
// (bulwark_admission_image_verdict_*).
func (m *Metrics) SetVerdictCache(c *VerdictCache) {
	m.mu.Lock()
	m.verdicts = c
	m.mu.Unlock()
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics { return &Metrics{decisions: map[string]uint64{}} }

func (m *Metrics) observe(decision string, d time.Duration) {
	if m == nil {
		return
	}
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decisions[decision]++
	m.count++
	m.sum += s
	for i, ub := range latencyBuckets {
		if s <= ub {
			m.buckets[i]++
		}
	}
}

func (m *Metrics) panicked() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.panics++
	m.mu.Unlock()
}

// Panics is how many policy evaluations panicked (and were recovered).
func (m *Metrics) Panics() uint64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.panics
}

// WriteTo writes the metrics in the Prometheus text format (version 0.0.4).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	decisions := make([]string, 0, len(m.decisions))
	for d := range m.decisions {
		decisions = append(decisions, d)
	}
	sort.Strings(decisions)
	cw := &countWriter{w: w}
	fmt.Fprintln(cw, "# HELP bulwark_admission_requests_total AdmissionReview requests by decision.")
	fmt.Fprintln(cw, "# TYPE bulwark_admission_requests_total counter")
	for _, d := range decisions {
		fmt.Fprintf(cw, "bulwark_admission_requests_total{decision=%q} %d\n", d, m.decisions[d])
	}
	fmt.Fprintln(cw, "# HELP bulwark_admission_review_duration_seconds Time to answer one AdmissionReview.")
	fmt.Fprintln(cw, "# TYPE bulwark_admission_review_duration_seconds histogram")
	for i, ub := range latencyBuckets {
		fmt.Fprintf(cw, "bulwark_admission_review_duration_seconds_bucket{le=\"%g\"} %d\n", ub, m.buckets[i])
	}
	fmt.Fprintf(cw, "bulwark_admission_review_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(cw, "bulwark_admission_review_duration_seconds_sum %g\n", m.sum)
	fmt.Fprintf(cw, "bulwark_admission_review_duration_seconds_count %d\n", m.count)
	fmt.Fprintln(cw, "# HELP bulwark_admission_evaluation_panics_total Policy evaluations that panicked (recovered; the failure policy decided the review).")
	fmt.Fprintln(cw, "# TYPE bulwark_admission_evaluation_panics_total counter")
	fmt.Fprintf(cw, "bulwark_admission_evaluation_panics_total %d\n", m.panics)
	vc := m.verdicts
	m.mu.Unlock()
	if vc != nil {
		st := vc.Stats()
		down := 0
		if st.ServerDown {
			down = 1
		}
		for _, c := range []struct {
			name, help, kind string
			v                uint64
		}{
			{"bulwark_admission_image_verdicts", "Image verdicts held in the cache.", "gauge", uint64(st.Size)},
			{"bulwark_admission_image_verdict_lookups_total", "Verdict lookups by reviews, by result (hit, stale: answered while refetched, miss: answered unknown).", "counter", 0},
			{"bulwark_admission_image_verdict_fetches_total", "Batched requests to the server.", "counter", st.Fetches},
			{"bulwark_admission_image_verdict_fetch_errors_total", "Batched requests that failed (the verdicts held are kept).", "counter", st.FetchErrors},
			{"bulwark_admission_image_verdict_dropped_total", "Fetches not queued (queue full; asked again on the next lookup).", "counter", st.Dropped},
			{"bulwark_admission_image_verdict_server_down", "1 while the last request to the server failed.", "gauge", uint64(down)},
		} {
			fmt.Fprintf(cw, "# HELP %s %s\n# TYPE %s %s\n", c.name, c.help, c.name, c.kind)
			if c.name == "bulwark_admission_image_verdict_lookups_total" {
				fmt.Fprintf(cw, "%s{result=\"hit\"} %d\n%s{result=\"stale\"} %d\n%s{result=\"miss\"} %d\n", c.name, st.Hits-min(st.Stale, st.Hits), c.name, st.Stale, c.name, st.Misses)
				continue
			}
			fmt.Fprintf(cw, "%s %d\n", c.name, c.v)
		}
	}
	return cw.n, cw.err
}

// ServeHTTP serves the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = m.WriteTo(w)
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
