package server

import (
	"context"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Notifier is where the server's notifications go (internal/notify's
// dispatcher, with its sinks and filters).
type Notifier interface{}

func (s *Server) notifyIngested(ctx context.Context, p *ingest.Prepared, res store.IngestResult) {}

func (s *Server) notifyRematch(imageID string, res store.IngestResult) {}

func (s *Server) notifyTransitions(ctx context.Context, ts []store.Transition) {}
