package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/riverqueue/river"

	"github.com/bulwarkdev/bulwark/internal/store"
)

// CrawlResult says what a crawl found.
type CrawlResult struct {
	Repositories int `json:"repositories"`
	Tags         int `json:"tags"`
	New          int `json:"new"`    // digests not known in their repository: new or moved tags
	Queued       int `json:"queued"` // scans queued
}

// crawlPageSize is the page size asked of /v2/_catalog and tags/list; the
// registry's Link headers lead to the next page.
const crawlPageSize = 100

// crawl lists the registry's repositories (its explicit list, else
// /v2/_catalog) and their tags, and treats every digest a tag points at
// that the store does not know in that repository as a push.
func (w *Watcher) crawl(ctx context.Context, registry string) (CrawlResult, error) {
	var res CrawlResult
	cfg, secret, err := w.load(ctx, registry)
	if err != nil {
		return res, err
	}
	opts := append(w.remoteOptions(ctx, cfg, secret), remote.WithPageSize(w.pageSize()))
	repos := cfg.Repositories
	if len(repos) == 0 {
		var nopts []name.Option
		if cfg.Insecure || len(cfg.URL) > 7 && cfg.URL[:7] == "http://" {
			nopts = append(nopts, name.Insecure)
		}
		reg, err := name.NewRegistry(cfg.Host(), nopts...)
		if err != nil {
			return res, err
		}
		repos, err = remote.Catalog(ctx, reg, opts...)
		if err != nil {
			var te *transport.Error
			if errors.As(err, &te) && (te.StatusCode == 404 || te.StatusCode == 401 || te.StatusCode == 403) {
				return res, river.JobCancel(fmt.Errorf("registry %s offers no catalog to these credentials (%v): list its repositories in the registry's settings", registry, err))
			}
			return res, fmt.Errorf("list the catalog of %s: %w", registry, err)
		}
	}
	var jobs []river.InsertManyParams
	for _, r := range repos {
		if !cfg.Wants(r) {
			continue
		}
		res.Repositories++
		repo, err := w.repoRef(cfg, r)
		if err != nil {
			continue
		}
		tags, err := remote.List(repo, opts...)
		if err != nil {
			w.o.Logger.Warn("registry watch: list tags", "registry", registry, "repository", r, "err", err)
			continue
		}
		for _, t := range tags {
			res.Tags++
			desc, err := remote.Head(repo.Tag(t), opts...)
			if err != nil {
				w.o.Logger.Warn("registry watch: resolve tag", "registry", registry, "repository", r, "tag", t, "err", err)
				continue
			}
			d := desc.Digest.String()
			known, err := w.st.KnownDigest(ctx, registry, r, d)
			if err != nil {
				return res, err
			}
			if known {
				continue
			}
			res.New++
			need, gen, err := w.st.RecordRegistryEvent(ctx, store.ActionPush, store.RegistryImage{Registry: registry, Repository: r, Digest: d, Tag: t,
				MediaType: string(desc.MediaType), PushedAt: w.o.Now()})
			if err != nil {
				return res, err
			}
			if need {
				jobs = append(jobs, w.scanJob(registry, r, d, gen))
			}
		}
	}
	if len(jobs) > 0 {
		if _, err := w.client.InsertMany(ctx, jobs); err != nil {
			return res, fmt.Errorf("queue scans: %w", err)
		}
		res.Queued = len(jobs)
	}
	w.o.Logger.Info("registry watch: crawled", "registry", registry, "repositories", res.Repositories, "tags", res.Tags, "new", res.New, "queued", res.Queued)
	return res, nil
}

func (w *Watcher) pageSize() int {
	if w.o.CrawlPageSize > 0 {
		return w.o.CrawlPageSize
	}
	return crawlPageSize
}
