package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/riverqueue/river"

	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Failure reasons of a scan (image_scans.reason).
const (
	ReasonAuth        = "authentication"
	ReasonNotFound    = "not-found"
	ReasonMediaType   = "unsupported-media-type"
	ReasonTooLarge    = "too-large"
	ReasonTimeout     = "timeout"
	ReasonUnavailable = "unavailable"
	ReasonError       = "error"
)

// scanError is a failed attempt with its reason; permanent ones are not
// retried.
type scanError struct {
	reason    string
	permanent bool
	err       error
}

func (e *scanError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *scanError) Unwrap() error { return e.err }

// classify tells why a registry request failed and whether trying again
// can help: authentication, a missing manifest and a refused media type
// will not change; 429, 5xx, time-outs and network errors may.
func classify(ctx context.Context, err error) *scanError {
	var se *scanError
	if errors.As(err, &se) {
		return se
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return &scanError{ReasonAuth, true, err}
		case te.StatusCode == http.StatusNotFound:
			return &scanError{ReasonNotFound, true, err}
		case te.StatusCode == http.StatusUnsupportedMediaType:
			return &scanError{ReasonMediaType, true, err}
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
			return &scanError{ReasonUnavailable, false, err}
		}
		for _, d := range te.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return &scanError{ReasonAuth, true, err}
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				return &scanError{ReasonNotFound, true, err}
			case transport.TooManyRequestsErrorCode:
				return &scanError{ReasonUnavailable, false, err}
			}
		}
		return &scanError{ReasonError, false, err}
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return &scanError{ReasonTimeout, false, err}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
		return &scanError{ReasonUnavailable, false, err}
	}
	return &scanError{ReasonError, false, err}
}

// remoteOptions are the registry's credentials and transport.
func (w *Watcher) remoteOptions(ctx context.Context, cfg *Config, secret string) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(cfg.keychain(secret)), remote.WithUserAgent(OwnUserAgent)}
	if cfg.Insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the registry's settings ask for it
		opts = append(opts, remote.WithTransport(t))
	}
	return opts
}

func (w *Watcher) repoRef(cfg *Config, repo string) (name.Repository, error) {
	var nopts []name.Option
	if cfg.Insecure || strings.HasPrefix(cfg.URL, "http://") {
		nopts = append(nopts, name.Insecure)
	}
	return name.NewRepository(cfg.Host()+"/"+repo, nopts...)
}

// runScan is one attempt of a scan job. The outcome is written to the
// digest's scan state; a permanent failure cancels the job, a transient
// one is retried with backoff until the last attempt.
func (w *Watcher) runScan(ctx context.Context, a ScanArgs, attempt, maxAttempts int) error {
	log := w.o.Logger.With("registry", a.Registry, "repository", a.Repository, "digest", a.Digest, "attempt", attempt)
	err := w.scanDigest(ctx, a, attempt)
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err) // the registry was removed
	}
	se := classify(ctx, err)
	last := se.permanent || attempt >= maxAttempts
	state := store.ScanPending
	if last {
		state = store.ScanFailed
	}
	// The job's context may be over (time-out): the state is written anyway.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if werr := w.st.SetImageScan(sctx, a.Digest, state, se.reason, se.err.Error(), attempt, false); werr != nil {
		log.Error("registry watch: record scan state", "err", werr)
	}
	if se.permanent {
		log.Warn("registry watch: scan failed", "reason", se.reason, "err", se.err)
		return river.JobCancel(se)
	}
	if last {
		log.Warn("registry watch: scan failed after retries", "reason", se.reason, "err", se.err)
	} else {
		log.Info("registry watch: scan will be retried", "reason", se.reason, "err", se.err)
	}
	return se
}

// scanDigest inventories one digest: an index fans out to a job per
// platform image; an image is inventoried (layers already analysed are
// not downloaded), matched and stored as a `scan image --server` report.
func (w *Watcher) scanDigest(ctx context.Context, a ScanArgs, attempt int) error {
	// Scanned already (by this watch, under another repository, or by a
	// replica that died before finishing its job): nothing to pull.
	st, err := w.st.ImageScanState(ctx, a.Digest)
	if err == nil && st.State == store.ScanScanned {
		return nil
	}
	if ok, err := w.st.HasInventory(ctx, a.Digest); err != nil {
		return err
	} else if ok {
		// Stored by a client, or by a replica that died before it could
		// record the state: that inventory is the scan.
		return w.st.SetImageScan(ctx, a.Digest, store.ScanScanned, "", "inventory already stored", attempt, st != nil && st.Scans == 0)
	}
	cfg, secret, err := w.load(ctx, a.Registry)
	if err != nil {
		return err
	}
	repo, err := w.repoRef(cfg, a.Repository)
	if err != nil {
		return &scanError{ReasonNotFound, true, err}
	}
	ref := repo.Digest(a.Digest)
	opts := w.remoteOptions(ctx, cfg, secret)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return fmt.Errorf("fetch manifest %s: %w", ref, err)
	}
	switch {
	case desc.MediaType.IsIndex():
		return w.fanOut(ctx, a, desc, attempt)
	case desc.MediaType.IsImage():
	default:
		return &scanError{ReasonMediaType, true, fmt.Errorf("%s is a %s, not an image", ref, desc.MediaType)}
	}
	img, err := desc.Image()
	if err != nil {
		return fmt.Errorf("read image %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return fmt.Errorf("read manifest %s: %w", ref, err)
	}
	if ct := m.Config.MediaType; ct != types.DockerConfigJSON && ct != types.OCIConfigJSON {
		return &scanError{ReasonMediaType, true, fmt.Errorf("%s has config type %s: an artifact, not a container image", ref, ct)}
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	if size > cfg.MaxImageSize {
		return &scanError{ReasonTooLarge, true, fmt.Errorf("%s: layers of %d bytes, more than the registry's limit of %d", ref, size, cfg.MaxImageSize)}
	}
	rep, err := scan.Catalog(ctx, scan.Target{Kind: scan.FromRegistry, Ref: ref.String()}, scan.Options{CacheDir: w.o.CacheDir, Logger: w.o.Logger,
		Now: w.o.Now, Version: w.o.Version, Image: image.Options{Keychain: cfg.keychain(secret), Insecure: cfg.Insecure, Logger: w.o.Logger, UserAgent: OwnUserAgent}})
	if err != nil {
		return err
	}
	refs, err := w.st.DigestRefs(ctx, a.Digest)
	if err != nil {
		return err
	}
	rep.Image.Reference = ref.String()
	rep.Image.RepoTags = nil
	for _, r := range refs {
		host := cfg.Host()
		if r.Registry != cfg.Name {
			if other, err := w.Get(ctx, r.Registry); err == nil {
				host = other.Host()
			}
		}
		if r.Tag != "" {
			rep.Image.RepoTags = append(rep.Image.RepoTags, host+"/"+r.Repository+":"+r.Tag)
		}
	}
	prep, err := ingest.PrepareImage(ctx, rep, ingest.Options{Matcher: w.o.Matcher, Now: w.o.Now})
	if err != nil {
		return &scanError{ReasonError, errors.Is(err, ingest.ErrInvalid), err}
	}
	if _, err := w.st.Ingest(ctx, prep.Batch); err != nil {
		return fmt.Errorf("store the scan of %s: %w", a.Digest, err)
	}
	w.o.Logger.Info("registry watch: image scanned", "registry", a.Registry, "repository", a.Repository, "digest", a.Digest,
		"verdict", rep.Summary.Verdict, "packages", len(rep.Packages))
	return w.st.SetImageScan(ctx, a.Digest, store.ScanScanned, "", "", attempt, true)
}

// fanOut queues a scan of each platform image of an index (attestation
// manifests, platform unknown/unknown, are not images to assess).
func (w *Watcher) fanOut(ctx context.Context, a ScanArgs, desc *remote.Descriptor, attempt int) error {
	idx, err := desc.ImageIndex()
	if err != nil {
		return fmt.Errorf("read index %s: %w", a.Digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read index %s: %w", a.Digest, err)
	}
	var jobs []river.InsertManyParams
	n := 0
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		n++
		need, err := w.st.AddPlatformImage(ctx, d.Digest.String(), a.Digest, platformOf(d.Platform))
		if err != nil {
			return err
		}
		if need {
			jobs = append(jobs, w.scanJob(a.Registry, a.Repository, d.Digest.String(), a.Generation))
		}
	}
	if n == 0 {
		return &scanError{ReasonMediaType, true, fmt.Errorf("index %s holds no platform image", a.Digest)}
	}
	if len(jobs) > 0 {
		if _, err := w.client.InsertMany(ctx, jobs); err != nil {
			return fmt.Errorf("queue the platform images of %s: %w", a.Digest, err)
		}
	}
	return w.st.SetImageScan(ctx, a.Digest, store.ScanScanned, "", fmt.Sprintf("index of %d platform images", n), attempt, false)
}

func platformOf(p *v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
