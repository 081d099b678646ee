package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// NewJSONLines writes one JSON alert per line to w (stdout or a file). It
// does not close w: the caller owns it.
func NewJSONLines(w io.Writer) Sink { return &jsonLines{w: w} }

type jsonLines struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (j *jsonLines) Send(_ context.Context, a model.Alert) error {
	b, err := Marshal(a)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("writing alert: json lines sink is closed")
	}
	// One Write per line, so concurrent senders never interleave lines.
	if _, err := j.w.Write(b); err != nil {
		return fmt.Errorf("writing alert %s: %w", a.ID, err)
	}
	return nil
}

func (j *jsonLines) Close() error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	return nil
}
