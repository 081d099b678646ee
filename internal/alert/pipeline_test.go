package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// TestPipeline runs the real chain: firings → Aggregator → Multi(JSON lines,
// webhook with an outage). Both outputs see the same alerts; the webhook
// receiver ends with the final count of every alert.
func TestPipeline(t *testing.T) {
	r := newReceiver(http.StatusServiceUnavailable)
	srv := httptest.NewServer(r)
	defer srv.Close()
	wh, err := NewWebhook(webhookOpts(t, srv.URL, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var lines bytes.Buffer
	g := NewAggregator(AggregatorOptions{Window: time.Minute, Now: func() time.Time { return t0 }}, Multi(NewJSONLines(&lines), wh))
	ctx := context.Background()
	for i := range 30 {
		res := []string{"r1", "r2", "r3"}[i%3]
		if err := g.Add(ctx, firing("K8S.NODE_ReverseShell", res, t0.Add(time.Duration(i)*time.Second), "e")); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	r.status.Store(http.StatusOK)
	waitFor(t, "webhook delivery", func() bool { return wh.Stats().Sent == 6 })

	final := map[string]int{}
	for _, l := range bytes.Split(bytes.TrimSpace(lines.Bytes()), []byte("\n")) {
		var d document
		if err := json.Unmarshal(l, &d); err != nil {
			t.Fatal(err)
		}
		final[d.ID] = d.Count
	}
	if len(final) != 3 {
		t.Fatalf("%d alerts in JSON lines, want 3", len(final))
	}
	for id, n := range final {
		if n != 10 {
			t.Errorf("alert %s: final count %d, want 10", id, n)
		}
	}
	if got := r.got(); len(got) != 6 || !slices.Equal(got[:3], got[3:]) {
		t.Errorf("webhook received %v: want 3 firsts then the 3 updates", got)
	}
}
