package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
)

// ImageVerdictSource answers the server's verdicts of images (POST
// /api/v1/images/verdicts); *client.Client is one.
type ImageVerdictSource interface {
	ImageVerdicts(ctx context.Context, images []string) ([]model.ImageVerdict, error)
}

// maxVerdictBatch is the server's limit per request (store.MaxImageLookups).
const maxVerdictBatch = 500

// maxVerdicts bounds the agent's verdict cache: past it the cache is
// emptied and refilled by the next evaluations (a cluster runs far fewer
// distinct images).
const maxVerdicts = 50000

// PolicyConfigWatcher follows the server's policy config with the agent's
// credential (its last good copy in the state directory).
func (c *Conn) PolicyConfigWatcher(interval time.Duration) (*remoteconfig.Watcher, error) {
	return c.RemoteConfig("policies", interval, func(b []byte) error { _, err := policy.ParseServerConfig(b); return err })
}

// clusterEngine is the policy engine in force with its policies.
type clusterEngine struct {
	eng      *policy.Engine
	policies []policy.Policy
}

// buildEngine makes the cluster agent's policy engine from a config, fed
// with the verdict cache's answers when there is one.
func buildEngine(ctx context.Context, cfg *policy.Config, vc *verdictCache, log *slog.Logger) (*policy.Engine, error) {
	opts := []policy.Option{policy.WithLogger(log)}
	if vc != nil {
		opts = append(opts, policy.WithImageVerdicts(vc.lookup))
	}
	eng, err := policy.New(ctx, cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	return eng, nil
}

// startEngine picks the engine the agent starts with: the given one, else
// one built from the server's policy config (or its last good copy), else
// from the local config (the defaults when none).
func startEngine(ctx context.Context, o ClusterOptions, vc *verdictCache) (*policy.Engine, error) {
	if o.Engine != nil {
		return o.Engine, nil
	}
	cfg := o.Config
	if o.Policies != nil {
		if d, err := o.Policies.Load(ctx); err == nil {
			if cfg, err = policy.ParseServerConfig([]byte(d.Body)); err != nil { // cannot happen: Load validated it
				return nil, err
			}
			o.Logger.Info("cluster agent: policy config from the server", "version", d.Version, "from_cache", d.FromCache)
		} else {
			fallback := "the local policy config"
			if o.Config == nil {
				fallback = "the default policy config"
			}
			o.Logger.Error("cluster agent: no policy config from the server nor a cached copy: starting with "+fallback+" until the server answers", "err", err)
		}
	}
	if cfg == nil {
		cfg = policy.DefaultConfig()
	}
	return buildEngine(ctx, cfg, vc, o.Logger)
}

// followPolicies swaps the engine when the server's policy config changes
// and has every object re-evaluated; only those whose results changed are
// sent.
func (cs *clusterState) followPolicies(ctx context.Context, w *remoteconfig.Watcher) {
	w.Run(ctx, func(ctx context.Context, d remoteconfig.Doc) error {
		cfg, err := policy.ParseServerConfig([]byte(d.Body))
		if err != nil {
			return err
		}
		eng, err := buildEngine(ctx, cfg, cs.verdicts, cs.log)
		if err != nil {
			return err
		}
		cs.setEngine(eng)
		cs.log.Info("cluster agent: new policy config from the server; re-evaluating every object", "version", d.Version)
		cs.markAll()
		return nil
	})
}

// verdictCache holds the server's verdicts of the images the cluster's
// workloads run. The evaluation asks for the images it does not hold
// before it runs (clusterscan.Options.Prefetch, in batches), so the policy
// reads them from memory. Images the server did not know are asked again
// every minute (the server scans running images it has not seen), every
// image every interval and at the next minute after an answer from another
// vulnerability DB version; a changed answer has every object re-evaluated.
type verdictCache struct {
	src      ImageVerdictSource
	log      *slog.Logger
	interval time.Duration
	// onChange is called when a verdict held changed (the objects are
	// re-evaluated).
	onChange func()

	mu        sync.RWMutex
	by        map[string]model.ImageVerdict
	dbVersion string
	lastAll   time.Time
	failing   bool
}

func newVerdictCache(src ImageVerdictSource, interval time.Duration, log *slog.Logger) *verdictCache {
	if interval <= 0 {
		interval = 10 * time.Minute
	}
	return &verdictCache{src: src, log: log, interval: interval, by: map[string]model.ImageVerdict{}, lastAll: time.Now()}
}

// lookup is the policy engine's verdict function.
func (v *verdictCache) lookup(image string) (model.ImageVerdict, bool) {
	v.mu.RLock()
	x, ok := v.by[image]
	v.mu.RUnlock()
	return x, ok && x.Known
}

// prefetch asks for the images not held yet (the evaluation's Prefetch).
func (v *verdictCache) prefetch(ctx context.Context, images []string) error {
	var missing []string
	v.mu.RLock()
	for _, img := range images {
		if _, ok := v.by[img]; !ok {
			missing = append(missing, img)
		}
	}
	v.mu.RUnlock()
	_, err := v.fetch(ctx, missing)
	return err
}

// refresh asks again for the unknown images, or for all of them once the
// interval passed or the DB version moved; changed says whether any answer
// differs from the one held.
func (v *verdictCache) refresh(ctx context.Context) (changed bool) {
	v.mu.RLock()
	all := time.Since(v.lastAll) >= v.interval
	var images []string
	for img, x := range v.by {
		if all || !x.Known {
			images = append(images, img)
		}
	}
	v.mu.RUnlock()
	changed, _ = v.fetch(ctx, images)
	if all {
		v.mu.Lock()
		v.lastAll = time.Now()
		v.mu.Unlock()
	}
	return changed
}

// fetch asks the server in batches and keeps the answers. A DB version
// other than the one seen so far means every held verdict may be stale:
// all are asked again.
func (v *verdictCache) fetch(ctx context.Context, images []string) (changed bool, err error) {
	dbMoved := false
	for start := 0; start < len(images); start += maxVerdictBatch {
		chunk := images[start:min(start+maxVerdictBatch, len(images))]
		vs, ferr := v.src.ImageVerdicts(ctx, chunk)
		if ferr != nil {
			v.mu.Lock()
			if !v.failing {
				v.log.Warn("cluster agent: image verdicts unavailable (server unreachable?); BW-K8S-IMAGE-VULNS judges with the verdicts held, other images are skipped until it answers", "err", ferr)
			}
			v.failing = true
			v.mu.Unlock()
			return changed, fmt.Errorf("image verdicts: %w", ferr)
		}
		v.mu.Lock()
		if v.failing {
			v.log.Info("cluster agent: image verdicts answered again")
			v.failing = false
		}
		if len(v.by)+len(vs) > maxVerdicts {
			clear(v.by)
		}
		for _, x := range vs {
			if old, had := v.by[x.Image]; had && old != x {
				changed = true
			}
			v.by[x.Image] = x
			if x.Known && x.DBVersion != "" && x.DBVersion != v.dbVersion {
				dbMoved = dbMoved || v.dbVersion != ""
				v.dbVersion = x.DBVersion
			}
		}
		v.mu.Unlock()
	}
	if changed && v.onChange != nil {
		v.onChange()
	}
	if dbMoved {
		// Every image is asked again at the next refresh (within a
		// minute), not from here: server replicas on two DB versions
		// during an update would otherwise have it ask again and again.
		v.log.Info("cluster agent: the server's vulnerability DB changed; asking for every image's verdict again", "db_version", v.dbVersion)
		v.mu.Lock()
		v.lastAll = time.Time{}
		v.mu.Unlock()
	}
	return changed, nil
}
