package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Sink is an alert output. Send may be called from several goroutines.
type Sink interface {
	Send(ctx context.Context, a model.Alert) error
	Close() error
}

// Multi sends every alert to every sink. A failing sink does not stop the
// others; their errors are joined.
func Multi(sinks ...Sink) Sink { return multi(sinks) }

type multi []Sink

func (m multi) Send(ctx context.Context, a model.Alert) error {
	var errs []error
	for _, s := range m {
		if err := s.Send(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m multi) Close() error {
	var errs []error
	for _, s := range m {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// document is the JSON shape of one alert on the wire (JSON lines, webhook
// body): the model's fields with the schema version beside them, so each line
// stands alone.
type document struct {
	SchemaVersion string `json:"schema_version"`
	model.Alert
}

// Marshal renders one alert as the JSON document every output uses (one
// line, no trailing newline), times in UTC.
func Marshal(a model.Alert) ([]byte, error) {
	a.FirstSeen = a.FirstSeen.UTC()
	a.LastSeen = a.LastSeen.UTC()
	if len(a.Evidence) > 0 {
		ev := make([]model.Evidence, len(a.Evidence))
		for i, e := range a.Evidence {
			e.Time = e.Time.UTC()
			ev[i] = e
		}
		a.Evidence = ev
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as the JSON report: titles and commands read as written
	if err := enc.Encode(document{SchemaVersion: model.SchemaVersion, Alert: a}); err != nil {
		return nil, fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
