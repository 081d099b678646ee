package server

import (
	"context"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Reasons a running image is not assessed (VULN-image evidence).
const (
	reasonNoRegistry  = "not scanned: registry not configured"
	reasonConfigOnly  = "not scanned: the cluster reports only the image's config digest, not a registry digest"
	reasonScanQueued  = "not scanned yet: a scan is queued in watched registry "
	needRegistryWatch = "add the image's registry to the server's watch (bulwark registry add), or send its scan (bulwark scan image --server)"
)

// ingested is what the server does with every stored report: its
// notifications, and a scan of each running image it has not seen.
func (s *Server) ingested(ctx context.Context, p *ingest.Prepared, res store.IngestResult) {
	s.notifyIngested(ctx, p, res)
	for _, u := range res.Unseen {
		s.scanUnseen(ctx, u)
	}
}

// scanUnseen records a running digest the server holds no image for as
// an image not assessed, with why (a coverage gap on the running-image
// recommendation), and — when a watched registry holds it — queues its
// scan, whose result then replaces this record. The record is written
// first so that a fast scan is never overwritten by it.
func (s *Server) scanUnseen(ctx context.Context, u store.UnseenImage) {
	name := u.Reference
	if u.Repository != "" {
		name = u.Repository + "@" + u.Digest
	}
	if name == "" {
		name = u.Digest
	}
	reason, reg, repo := reasonNoRegistry, "", ""
	if u.Repository == "" {
		reason = reasonConfigOnly
	} else if s.Watch != nil {
		var err error
		if reg, repo, err = s.Watch.WatchedFor(ctx, u.Repository, u.Reference); err != nil {
			s.o.Logger.Error("finding the registry of a running image", "digest", u.Digest, "err", err)
		}
		if reg != "" {
			reason = reasonScanQueued + reg
		}
	}
	now := s.o.Now()
	b := &store.Batch{Kind: string(ingest.KindImage), Subject: u.Digest, At: now, Source: "vuln",
		Resources: []model.Resource{{Kind: model.KindImage, ID: u.Digest, Name: name, Facts: map[string]string{"source": "cluster", "reference": u.Reference}}},
		Health:    &store.Health{Verdict: model.VerdictNotAssessed},
		Assessments: []store.ResourceAssessments{{ResourceID: u.Digest, Items: []model.Assessment{{Rule: "VULN-image",
			Title: "Container images should have vulnerability findings resolved", Status: model.AssessNotAssessed, Severity: model.SeverityHigh,
			Evidence: []string{reason}, Remediation: needRegistryWatch, ObservedAt: now.UTC()}}}}}
	if _, err := s.Store.Ingest(ctx, b); err != nil {
		s.o.Logger.Error("recording a running image not assessed", "digest", u.Digest, "err", err)
		return
	}
	if reg == "" {
		return
	}
	if err := s.Watch.ScanRunning(ctx, reg, repo, u.Digest); err != nil {
		s.o.Logger.Error("queueing a scan of a running image", "digest", u.Digest, "registry", reg, "err", err)
		return
	}
	s.o.Logger.Info("running image not seen before: scan queued", "digest", u.Digest, "repository", u.Repository, "registry", reg)
}
