package ingest

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwarkdev/bulwark/internal/store"
)

// ParseImageLookup splits an image reference as a pod names it
// ("nginx", "registry.example/app:1.2", "app@sha256:…", or a bare
// "sha256:…" digest) the way ingestion records references
// (imageInventory): the repository fully qualified ("nginx" is
// index.docker.io/library/nginx), the tag "latest" when none is named. A
// reference that does not parse is kept with Err set: it is answered
// unknown, with why, rather than refusing the whole batch.
func ParseImageLookup(ref string) store.ImageLookup {
	l := store.ImageLookup{Image: ref}
	r := strings.TrimSpace(ref)
	if strings.HasPrefix(r, "sha256:") {
		if h := strings.TrimPrefix(r, "sha256:"); len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			l.Err = "a digest is sha256: and 64 lower-case hex digits"
			return l
		}
		l.Digest = r
		return l
	}
	// repo:tag@digest: the digest is what runs; name.ParseReference
	// refuses the pair, so split it off first.
	if i := strings.LastIndex(r, "@"); i > 0 {
		d, err := name.NewDigest(r)
		if err != nil {
			// repo:tag@sha256:… names a tag and a digest.
			if d2, err2 := name.NewDigest(stripTag(r[:i]) + r[i:]); err2 == nil {
				d, err = d2, nil
			}
		}
		if err != nil {
			l.Err = err.Error()
			return l
		}
		l.Digest = d.DigestStr()
		l.Repository = d.Context().Name()
		return l
	}
	t, err := name.NewTag(r)
	if err != nil {
		l.Err = err.Error()
		return l
	}
	l.Repository, l.Tag = t.Context().Name(), t.TagStr()
	return l
}

// stripTag removes a trailing :tag (a colon after the last slash).
func stripTag(s string) string {
	slash := strings.LastIndex(s, "/")
	if c := strings.LastIndex(s, ":"); c > slash {
		return s[:c]
	}
	return s
}
