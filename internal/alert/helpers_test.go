package alert

import (
	"context"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// collector is a Sink that keeps what it is sent, in order.
type collector struct {
	mu     sync.Mutex
	alerts []model.Alert
}

func (c *collector) Send(_ context.Context, a model.Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alerts = append(c.alerts, a)
	return nil
}

func (c *collector) Close() error { return nil }

func (c *collector) all() []model.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]model.Alert(nil), c.alerts...)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// firing is what the engine hands over for one rule firing.
func firing(typ, res string, at time.Time, summary string) model.Alert {
	return model.Alert{
		Type:      typ,
		Title:     "title of " + typ,
		Severity:  model.SeverityHigh,
		Resource:  model.Resource{Kind: "container", ID: res, Name: res},
		FirstSeen: at, LastSeen: at, Count: 1,
		Evidence: []model.Evidence{{Time: at, Source: "ebpf", Summary: summary}},
	}
}
