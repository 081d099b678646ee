// Package rematch matches the server's stored image inventories again when
// its vulnerability DB (or an exemption of a vulnerability) changed: new
// and resolved findings are recorded against the DB version, without
// pulling any image. A run is resumable — what is done is marked matched
// with the version — and one replica at a time runs it (store.WithLock).
package rematch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Matcher is the server's DB: it matches and names its version.
type Matcher interface {
	ingest.Matcher
	Version() string
}

// Options tune a run.
type Options struct {
	Workers int // matching goroutines; default GOMAXPROCS
	Logger  *slog.Logger
	Now     func() time.Time
	// OnResult, when set, sees each image's result (notifications).
	OnResult func(imageID string, res store.IngestResult)
}

// Stats say what a run did.
type Stats struct {
	Version          string        `json:"version"`
	Images           int           `json:"images"`
	Failed           int           `json:"failed"`
	NewFindings      int           `json:"new_findings"`
	ResolvedFindings int           `json:"resolved_findings"`
	Took             time.Duration `json:"took_ns"`
	Skipped          bool          `json:"skipped,omitempty"` // another replica holds the job
}

// page is how many inventories one listing takes.
const page = 256

// Run re-matches every stored inventory not yet matched with the DB's
// current version.
func Run(ctx context.Context, st *store.Store, m Matcher, o Options) (Stats, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	var stats Stats
	stats.Version = m.Version()
	if stats.Version == "" {
		return stats, ingest.ErrNoDB
	}
	start := time.Now()
	ran, err := st.WithLock(ctx, "rematch", func(ctx context.Context) error {
		return run(ctx, st, m, o, &stats)
	})
	stats.Took = time.Since(start)
	stats.Skipped = !ran
	if err == nil && ran && stats.Images > 0 {
		o.Logger.Info("stored images matched again", "db_version", stats.Version, "images", stats.Images, "new_findings", stats.NewFindings,
			"resolved_findings", stats.ResolvedFindings, "failed", stats.Failed, "took", stats.Took.Round(time.Millisecond))
	}
	return stats, err
}

// group is how many images one write transaction takes: one commit (one
// fsync) per group, not per image.
const group = 64

type matched struct {
	id  string
	b   *store.Batch
	err error
}

func run(ctx context.Context, st *store.Store, m Matcher, o Options, stats *Stats) error {
	after := ""
	for {
		ids, err := st.InventoriesDue(ctx, stats.Version, after, page)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		after = ids[len(ids)-1]
		// Matching runs on every worker; one writer commits groups.
		work := make(chan string)
		out := make(chan matched, group)
		var wg sync.WaitGroup
		for range o.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range work {
					b, err := prepare(ctx, st, m, id, o.Now())
					out <- matched{id: id, b: b, err: err}
				}
			}()
		}
		go func() {
			defer close(out)
			defer wg.Wait()
			defer close(work)
			for _, id := range ids {
				select {
				case work <- id:
				case <-ctx.Done():
					return
				}
			}
		}()
		var pending []matched
		var werr error
		flush := func() {
			if len(pending) == 0 {
				return
			}
			bs := make([]*store.Batch, len(pending))
			for i, p := range pending {
				bs[i] = p.b
			}
			res, err := st.IngestMany(ctx, bs)
			if err != nil {
				werr = fmt.Errorf("store re-matched images: %w", err)
			} else {
				for i, p := range pending {
					stats.Images++
					stats.NewFindings += res[i].NewFindings
					stats.ResolvedFindings += res[i].ResolvedFindings
					if o.OnResult != nil {
						o.OnResult(p.id, res[i])
					}
				}
			}
			pending = pending[:0]
		}
		for r := range out {
			switch {
			case r.err != nil:
				stats.Failed++
				o.Logger.Warn("re-match failed; the image keeps its last result", "image", r.id, "err", r.err)
			case r.b != nil && werr == nil:
				pending = append(pending, r)
				if len(pending) == group {
					flush()
				}
			}
		}
		if werr == nil {
			flush()
		}
		if werr != nil {
			return werr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.Version() != stats.Version {
			// A newer DB arrived mid-run: the next run takes it from the start.
			return nil
		}
	}
}

// prepare matches one stored inventory; nil when it was deleted meanwhile.
func prepare(ctx context.Context, st *store.Store, m Matcher, id string, now time.Time) (*store.Batch, error) {
	inv, err := st.Inventory(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ingest.Rematch(ctx, inv, m, now)
}
