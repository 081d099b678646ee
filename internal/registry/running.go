package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwarkdev/bulwark/internal/store"
)

// dockerHub are the names Docker Hub goes by: a reference says docker.io,
// a registry's settings may say any of them.
var dockerHub = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

func sameRegistry(a, b string) bool {
	return a == b || dockerHub[a] && dockerHub[b]
}

// WatchedFor names the watched registry, and the repository in it, that
// holds repository (of a repository digest), else the reference a
// container asked for; "" when no watched registry and repository does.
func (w *Watcher) WatchedFor(ctx context.Context, repository, reference string) (registry, repo string, err error) {
	src := repository
	if src == "" {
		src = reference
	}
	if src == "" {
		return "", "", nil
	}
	ref, err := name.ParseReference(src, name.WeakValidation)
	if err != nil {
		return "", "", nil // not a reference a registry could hold
	}
	r := ref.Context()
	cfgs, err := w.List(ctx)
	if err != nil {
		return "", "", err
	}
	for i := range cfgs {
		cfg := &cfgs[i]
		if sameRegistry(cfg.Host(), r.RegistryStr()) && cfg.Wants(r.RepositoryStr()) {
			return cfg.Name, r.RepositoryStr(), nil
		}
	}
	return "", "", nil
}

// ScanRunning asks for a scan of a digest a cluster runs and the server
// has not seen, in a watched registry's repository (WatchedFor): the
// digest is recorded as pulled there and a scan queued, unless one is
// already.
func (w *Watcher) ScanRunning(ctx context.Context, registry, repo, digest string) error {
	if _, err := w.Notify(ctx, registry, []Event{{Action: store.ActionPull, Repository: repo, Digest: digest}}); err != nil {
		return fmt.Errorf("queue a scan of %s in %s: %w", digest, registry, err)
	}
	return nil
}
