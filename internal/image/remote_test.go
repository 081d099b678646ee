package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestRemote(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	single := testImage(t, "linux/arm64")
	singleRef, _ := name.ParseReference(host + "/team/single:1")
	if err := remote.Write(singleRef, single); err != nil {
		t.Fatal(err)
	}
	singleDigest, _ := single.Digest()

	amd, arm := testImage(t, "linux/amd64"), testImage(t, "linux/arm/v7")
	pa, _ := v1.ParsePlatform("linux/amd64")
	pr, _ := v1.ParsePlatform("linux/arm/v7")
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: pa}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: pr}})
	multiRef, _ := name.ParseReference(host + "/team/multi:2")
	if err := remote.WriteIndex(multiRef, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	armDigest, _ := arm.Digest()
	amdDigest, _ := amd.Digest()

	tests := []struct {
		name, ref, platform string
		wantDigest          v1.Hash
		wantPlatform        string
		wantRepoDigest      string
		wantTags            int
		wantErr             string
	}{
		{name: "tag", ref: host + "/team/single:1", wantDigest: singleDigest, wantPlatform: "linux/arm64", wantRepoDigest: host + "/team/single@" + singleDigest.String(), wantTags: 1},
		{name: "digest", ref: host + "/team/single@" + singleDigest.String(), wantDigest: singleDigest, wantPlatform: "linux/arm64", wantRepoDigest: host + "/team/single@" + singleDigest.String()},
		{name: "index picks platform", ref: host + "/team/multi:2", platform: "linux/arm/v7", wantDigest: armDigest, wantPlatform: "linux/arm/v7", wantRepoDigest: host + "/team/multi@" + idxDigest.String(), wantTags: 1},
		{name: "index amd64", ref: host + "/team/multi:2", platform: "linux/amd64", wantDigest: amdDigest, wantPlatform: "linux/amd64", wantRepoDigest: host + "/team/multi@" + idxDigest.String(), wantTags: 1},
		{name: "index without the platform", ref: host + "/team/multi:2", platform: "linux/s390x", wantErr: "available: linux/amd64"},
		{name: "explicit platform against single image", ref: host + "/team/single:1", platform: "linux/amd64", wantErr: "no image for platform"},
		{name: "unknown tag", ref: host + "/team/single:nope", wantErr: "fetch"},
		{name: "bad reference", ref: "UPPER/case::x", wantErr: "parse image reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Remote(context.Background(), tc.ref, Options{Platform: tc.platform})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Info.Source != "registry" || o.Info.Reference != tc.ref || o.Info.Digest != tc.wantDigest.String() ||
				len(o.Info.RepoTags) != tc.wantTags || len(o.Info.RepoDigests) != 1 || o.Info.RepoDigests[0] != tc.wantRepoDigest {
				t.Errorf("info = %+v", o.Info)
			}
			checkInfo(t, o, tc.wantPlatform, true)
		})
	}
}
