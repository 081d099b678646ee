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
	m.mu.Unlock()
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
