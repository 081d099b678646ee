package ingest

import (
	"context"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// PrepareImage is Prepare for an image report already in memory: the
// registry watch inventories images itself and hands them over exactly as
// a `scan image --server` report would arrive.
func PrepareImage(ctx context.Context, rep *model.Report, o Options) (*Prepared, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	return prepareImage(ctx, rep, o)
}
