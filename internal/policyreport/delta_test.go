package policyreport

import (
	"strings"
	"testing"
)

func TestParseImageID(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in, repo, digest string
		ok               bool
	}{
		{"docker-pullable://127.0.0.1:5000/debian@" + d, "127.0.0.1:5000/debian", d, true},
		{"docker.io/library/nginx@" + d, "docker.io/library/nginx", d, true},
		{"docker://" + d, "", d, true},
		{d, "", d, true},
		{"", "", "", false},
		{"sha256:abc", "", "", false},
		{"sha256:" + strings.Repeat("AB", 32), "", "", false},
		{"sha512:" + strings.Repeat("ab", 64), "", "", false},
		{"@" + d, "", "", false},
		{"Repo@" + d, "", "", false},
		{"nginx:1.25", "", "", false},
	} {
		repo, digest, ok := ParseImageID(tc.in)
		if repo != tc.repo || digest != tc.digest || ok != tc.ok {
			t.Errorf("ParseImageID(%q) = %q %q %v, want %q %q %v", tc.in, repo, digest, ok, tc.repo, tc.digest, tc.ok)
		}
	}
}

func FuzzParseImageID(f *testing.F) {
	f.Add("docker-pullable://127.0.0.1:5000/debian@sha256:" + strings.Repeat("ab", 32))
	f.Add("sha256:" + strings.Repeat("0", 64))
	f.Add("x@y@sha256:")
	f.Fuzz(func(t *testing.T, s string) {
		repo, digest, ok := ParseImageID(s)
		if !ok {
			if repo != "" || digest != "" {
				t.Fatalf("not ok but %q %q", repo, digest)
			}
			return
		}
		if !validDigest(digest) || strings.Contains(repo, "@") {
			t.Fatalf("%q -> %q %q", s, repo, digest)
		}
	})
}
