package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/rematch"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/suppress"
)

// policy is what the server's matcher applies beyond the DB: the
// exemptions of vulnerabilities and the OpenVEX documents teams sent.
type policy struct {
	exemptions []recommend.Exemption
	vex        []*suppress.VEX
	// needSubject: a scope needs to know where an image lives (repository,
	// namespace, cluster), which costs a store lookup per match.
	needSubject bool
}

// loadPolicy reads the exemptions and VEX documents in force.
func loadPolicy(ctx context.Context, st *store.Store, log *slog.Logger) (*policy, error) {
	exs, err := st.Exemptions(ctx, store.ExemptionQuery{Kind: "vulnerability"})
	if err != nil {
		return nil, err
	}
	docs, err := st.VEXDocuments(ctx, true)
	if err != nil {
		return nil, err
	}
	p := &policy{exemptions: exs}
	for _, e := range exs {
		if e.Scope != recommend.ScopeAll && e.Scope != recommend.ScopeResource {
			p.needSubject = true
		}
	}
	for _, d := range docs {
		v, err := suppress.ParseVEX(d.Data, "server VEX "+d.ID)
		if err != nil {
			log.Error("stored VEX document no longer parses; skipped", "id", d.ID, "err", err)
			continue
		}
		p.vex = append(p.vex, v)
	}
	return p, nil
}

// suppressor returns the scan hook that applies the policy to one image.
func (p *policy) suppressor(ctx context.Context, st *store.Store, rep *model.Report, now time.Time) func([]model.Finding, model.ImageInfo) []model.Finding {
	if p == nil || (len(p.exemptions) == 0 && len(p.vex) == 0) {
		return nil
	}
	return func(fs []model.Finding, img model.ImageInfo) []model.Finding {
		for _, v := range p.vex {
			fs = v.Apply(fs, img)
		}
		if len(p.exemptions) == 0 {
			return fs
		}
		sj := recommend.Subject{ResourceID: rep.Resource.ID}
		if p.needSubject {
			if s, err := st.ImageSubject(ctx, rep.Resource.ID); err == nil {
				sj = s
			}
			// A first report is not in the store yet: its own references.
			for _, r := range append([]string{img.Reference}, img.RepoTags...) {
				if ref, err := name.ParseReference(r); err == nil && r != "" {
					sj.Repositories = appendNew(sj.Repositories, ref.Context().Name())
				}
			}
		}
		return recommend.ApplyToFindings(fs, sj, p.exemptions, now)
	}
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// posture keeps the recommendations, the score and the verdicts current:
// the store's queue of dirty resources, ended exemptions, re-matches after
// a DB update or an exemption change, retention.
type posture struct {
	s        *Server
	kick     chan struct{}
	lastDay  string
	lastPurg time.Time
	mu       sync.Mutex   // one tick at a time in the process
	rematch  atomic.Value // rematch.Stats of the last run that matched something
	ticks    atomic.Int64
}

func newPosture(s *Server) *posture {
	return &posture{s: s, kick: make(chan struct{}, 1)}
}

// Kick asks for a tick soon (an exemption changed).
func (p *posture) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *posture) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.Tick(ctx); err != nil && ctx.Err() == nil {
			p.s.o.Logger.Error("posture refresh failed; retried on the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
	}
}

// Tick runs one pass: policy reload, re-match of what is due, posture
// refresh (with the day's score), retention once an hour. Tests call it.
func (p *posture) Tick(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.s
	now := s.o.Now()
	ended, err := s.Store.EndExemptions(ctx, now)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(ctx, s.Store, s.o.Logger)
	if err != nil {
		return err
	}
	s.matcher.setPolicy(pol)
	if v := s.matcher.Version(); v != "" {
		if n, err := s.Store.CountInventoriesDue(ctx, v); err == nil && n > 0 {
			st, err := rematch.Run(ctx, s.Store, s.matcher, rematch.Options{Logger: s.o.Logger, Now: s.o.Now, Workers: s.o.RematchWorkers, OnResult: s.notifyRematch})
			if err != nil {
				return err
			}
			if !st.Skipped {
				p.rematch.Store(st)
			}
		}
	}
	day := now.UTC().Format("2006-01-02")
	res, err := s.Store.RefreshPosture(ctx, s.cat, now, day != p.lastDay || ended > 0)
	if err != nil {
		return err
	}
	p.lastDay = day
	s.notifyTransitions(ctx, res.Transitions)
	if now.Sub(p.lastPurg) >= time.Hour && s.o.Retention != (store.Retention{}) {
		pg, err := s.Store.Purge(ctx, s.o.Retention, now)
		if err != nil {
			return err
		}
		p.lastPurg = now
		if pg != (store.Purged{}) {
			s.o.Logger.Info("history past its retention deleted", "purged", pg)
		}
	}
	p.ticks.Add(1)
	return nil
}

func (p *posture) status() map[string]any {
	out := map[string]any{"ticks": p.ticks.Load()}
	if st, ok := p.rematch.Load().(rematch.Stats); ok {
		out["last_rematch"] = st
	}
	return out
}
