package ingest

import (
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/store"
)

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseImageLookup(t *testing.T) {
	tests := []struct {
		ref  string
		want store.ImageLookup
	}{
		{"nginx", store.ImageLookup{Repository: "index.docker.io/library/nginx", Tag: "latest"}},
		{"nginx:1.27", store.ImageLookup{Repository: "index.docker.io/library/nginx", Tag: "1.27"}},
		{"docker.io/library/nginx:1.27", store.ImageLookup{Repository: "index.docker.io/library/nginx", Tag: "1.27"}},
		{"registry.example:5000/team/app:v2", store.ImageLookup{Repository: "registry.example:5000/team/app", Tag: "v2"}},
		{"registry.example/app@" + dgst, store.ImageLookup{Repository: "registry.example/app", Digest: dgst}},
		{"registry.example/app:1.0@" + dgst, store.ImageLookup{Repository: "registry.example/app", Digest: dgst}},
		{dgst, store.ImageLookup{Digest: dgst}},
		{" " + dgst + " ", store.ImageLookup{Digest: dgst}},
	}
	for _, tt := range tests {
		got := ParseImageLookup(tt.ref)
		tt.want.Image = tt.ref
		if got != tt.want {
			t.Errorf("ParseImageLookup(%q) = %+v\nwant %+v", tt.ref, got, tt.want)
		}
	}
	for _, bad := range []string{"", "Not A Ref", "sha256:abc", "app@sha256:xyz", "UPPER/case:1"} {
		if got := ParseImageLookup(bad); got.Err == "" || got.Digest != "" || got.Repository != "" {
			t.Errorf("ParseImageLookup(%q) = %+v, want an error and nothing else", bad, got)
		}
	}
}

// FuzzParseImageLookup: any string gives either an error or a lookup
// with a well-formed digest or a repository, never a panic.
func FuzzParseImageLookup(f *testing.F) {
	for _, s := range []string{"nginx", "nginx:1.27", "registry.example/app@" + dgst, "registry.example/app:1.0@" + dgst, dgst, "a@b@c", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		l := ParseImageLookup(ref)
		if l.Image != ref {
			t.Fatalf("Image %q, want %q", l.Image, ref)
		}
		if l.Err != "" {
			return
		}
		if l.Digest != "" && (!strings.HasPrefix(l.Digest, "sha256:") || len(l.Digest) != 71) {
			t.Fatalf("digest %q", l.Digest)
		}
		if l.Digest == "" && (l.Repository == "" || l.Tag == "") {
			t.Fatalf("neither a digest nor a repository and tag: %+v", l)
		}
	})
}
