package dbartifact

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// buildDB makes a small DB whose one advisory names id.
func buildDB(t *testing.T, id string, at time.Time) string {
	t.Helper()
	dir := t.TempDir()
	_, err := vulndb.Build(context.Background(), dir, func(ctx context.Context, s advisory.Sink) error {
		if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Source: "test"}); err != nil {
			return err
		}
		return s.PutAffected(ctx, advisory.Affected{VulnID: id, Ecosystem: "Red Hat:9", Package: "openssl", Source: "redhat-csaf-vex",
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "1:3.0.7-25.el9_3"}}}}})
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func dbBytes(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, vulndb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushPull: a DB pushed to a real distribution registry (Debian's
// docker-registry on loopback) and pulled elsewhere arrives byte for byte
// with its signature verified; every tampered or unverifiable artifact is
// refused and the DB already installed stays.
func TestPushPull(t *testing.T) {
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	src := buildDB(t, "CVE-2024-0001", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	ref := reg + "/bulwark/db:1"
	p, err := Push(ctx, src, ref, priv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Signed || p.DBDigest == "" {
		t.Errorf("pushed %+v", p)
	}

	dst := t.TempDir()
	meta, err := Pull(ctx, ref, dst, pub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dbBytes(t, dst), dbBytes(t, src)) || meta.Vulnerabilities != 1 {
		t.Fatalf("pulled DB differs (meta %+v)", meta)
	}
	installed := dbBytes(t, dst)

	// Artifacts that must be refused, each pushed under its own tag.
	r, _ := name.ParseReference(ref, name.Insecure)
	orig, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	om, _ := orig.Manifest()
	other := dbBytes(t, buildDB(t, "CVE-2024-9999", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)))
	withAnn := func(layer []byte, change func(map[string]string)) v1.Image {
		ann := map[string]string{}
		for k, v := range om.Annotations {
			ann[k] = v
		}
		if change != nil {
			change(ann)
		}
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer(layer, LayerMediaType))
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		return mutate.Annotations(img, ann).(v1.Image)
	}
	cases := []struct {
		name string
		img  v1.Image
		key  ed25519.PublicKey
	}{
		{"layer swapped, annotations kept", withAnn(other, nil), pub},
		{"layer swapped, digest annotation rewritten", withAnn(other, func(a map[string]string) { a[AnnotationDigest] = digestOf(other) }), pub},
		{"sources annotation rewritten", withAnn(dbBytes(t, src), func(a map[string]string) { a[AnnotationSources] = "evil" }), pub},
		{"unsigned", withAnn(dbBytes(t, src), func(a map[string]string) { delete(a, AnnotationSignature) }), pub},
		{"other key", withAnn(dbBytes(t, src), nil), otherPub},
		{"layer swapped without a key", withAnn(other, nil), nil},
		{"not a DB", withAnn([]byte("not a bolt file"), func(a map[string]string) { a[AnnotationDigest] = digestOf([]byte("not a bolt file")) }), nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tag := reg + "/bulwark/db:bad" + string(rune('a'+i))
			tr, _ := name.ParseReference(tag, name.Insecure)
			if err := remote.Write(tr, c.img); err != nil {
				t.Fatal(err)
			}
			_, err := Pull(ctx, tag, dst, c.key, Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			if c.name != "not a DB" && !errors.Is(err, ErrVerify) {
				t.Errorf("error %v does not wrap ErrVerify", err)
			}
			if !bytes.Equal(dbBytes(t, dst), installed) {
				t.Error("the installed DB changed")
			}
			if d, err := vulndb.Open(dst); err != nil {
				t.Errorf("installed DB no longer opens: %v", err)
			} else {
				d.Close()
			}
			left, _ := filepath.Glob(filepath.Join(dst, vulndb.FileName+".tmp-*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func digestOf(b []byte) string {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h.String()
}

// TestKeys: keys in the PEM forms openssl writes are read; others refused.
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pder, _ := x509.MarshalPKIXPublicKey(pub)
	kp, pp := filepath.Join(dir, "k.pem"), filepath.Join(dir, "p.pem")
	os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pp, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	k, err := ReadPrivateKey(kp)
	if err != nil || !k.Equal(priv) {
		t.Errorf("private key: %v", err)
	}
	p, err := ReadPublicKey(pp)
	if err != nil || !p.Equal(pub) {
		t.Errorf("public key: %v", err)
	}
	if _, err := ReadPublicKey(kp); err == nil {
		t.Error("a private key read as public")
	}
	if _, err := ReadPrivateKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file read")
	}
}
