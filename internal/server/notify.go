package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/notify"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Notifier is where the server's notifications go (notify.Dispatcher: its
// sinks, filters and disk queues).
type Notifier interface {
	Notify(ctx context.Context, events ...notify.Event) error
}

// maxFindingEvents bounds one image's finding notifications: past it, one
// event says how many more there are.
const maxFindingEvents = 50

func (s *Server) send(ctx context.Context, evs []notify.Event) {
	if s.o.Notifier == nil || len(evs) == 0 {
		return
	}
	if err := s.o.Notifier.Notify(ctx, evs...); err != nil {
		s.o.Logger.Warn("notifications not all queued", "err", err)
	}
}

// notifyIngested: new critical and high findings on a running image, and
// new alerts.
func (s *Server) notifyIngested(ctx context.Context, p *ingest.Prepared, res store.IngestResult) {
	if s.o.Notifier == nil {
		return
	}
	var evs []notify.Event
	if p.Kind == ingest.KindImage && len(res.Fresh) > 0 {
		evs = s.findingEvents(ctx, p.Batch.Subject, res.Fresh)
	}
	for _, a := range res.NewAlerts {
		evs = append(evs, notify.Event{ID: notify.NewID(notify.KindAlert, a.ID), Kind: notify.KindAlert, Severity: a.Severity, Title: a.Title,
			Resource: notify.Resource{Kind: a.Resource.Kind, ID: a.Resource.ID, Name: a.Resource.Name}, Rule: a.Type,
			Detail: strings.Join(a.Tactics, ", "), At: a.LastSeen})
	}
	s.send(ctx, evs)
}

// notifyRematch: a DB update found new critical and high findings on a
// running image.
func (s *Server) notifyRematch(imageID string, res store.IngestResult) {
	if s.o.Notifier == nil || len(res.Fresh) == 0 {
		return
	}
	ctx := context.Background()
	s.send(ctx, s.findingEvents(ctx, imageID, res.Fresh))
}

func (s *Server) findingEvents(ctx context.Context, imageID string, fs []model.Finding) []notify.Event {
	sj, err := s.Store.ImageSubject(ctx, imageID)
	if err != nil || len(sj.Clusters) == 0 {
		return nil // not running anywhere: the recommendation says it, not a page
	}
	name := imageID
	if len(sj.Repositories) > 0 {
		name = sj.Repositories[0]
	}
	var evs []notify.Event
	more := 0
	for _, f := range fs {
		if f.Severity.Rank() < model.SeverityHigh.Rank() || f.Status == model.StatusExempt || f.Status == model.StatusNotAffected {
			continue
		}
		if len(evs) == maxFindingEvents {
			more++
			continue
		}
		detail := "no fix yet"
		if f.FixedVersion != "" {
			detail = "fixed in " + f.FixedVersion
		}
		evs = append(evs, notify.Event{ID: notify.NewID(notify.KindFinding, imageID, f.ID, f.Package.Name), Kind: notify.KindFinding, Severity: f.Severity,
			Title:    fmt.Sprintf("%s in %s %s on running image %s", f.ID, f.Package.Name, f.InstalledVersion, name),
			Resource: notify.Resource{Kind: model.KindImage, ID: imageID, Name: name}, Rule: recommend.RuleRunningImage, Vulnerability: f.ID,
			Detail: fmt.Sprintf("%s; runs in %s", detail, strings.Join(sj.Clusters, ", ")), At: s.o.Now()})
	}
	if more > 0 {
		evs = append(evs, notify.Event{ID: notify.NewID(notify.KindFinding, imageID, "more", fmt.Sprint(len(fs))), Kind: notify.KindFinding, Severity: model.SeverityHigh,
			Title:    fmt.Sprintf("%d more critical or high findings on running image %s", more, name),
			Resource: notify.Resource{Kind: model.KindImage, ID: imageID, Name: name}, Rule: recommend.RuleRunningImage, At: s.o.Now()})
	}
	return evs
}

// notifyTransitions: resources newly unhealthy for a recommendation.
func (s *Server) notifyTransitions(ctx context.Context, ts []store.Transition) {
	if s.o.Notifier == nil {
		return
	}
	var evs []notify.Event
	for _, t := range ts {
		if t.To != model.AssessUnhealthy || t.From == model.AssessUnhealthy {
			continue
		}
		rec, ok := s.cat.Recommendation(t.Recommendation)
		if !ok {
			continue
		}
		sev := t.Severity
		if sev == "" {
			sev = model.Severity(rec.Severity)
		}
		evs = append(evs, notify.Event{ID: notify.NewID(notify.KindRecommendation, t.Recommendation, t.ResourceID, s.o.Now().UTC().Format("2006-01-02T15:04")),
			Kind: notify.KindRecommendation, Severity: sev, Title: rec.Title, Recommendation: rec.ID,
			Resource: notify.Resource{Kind: model.ResourceKind(t.Kind), ID: t.ResourceID}, Detail: "newly unhealthy", At: s.o.Now()})
	}
	s.send(ctx, evs)
}
