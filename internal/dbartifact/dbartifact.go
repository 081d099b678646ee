package dbartifact

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/progress"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// Media types and annotation keys of the artifact.
const (
	LayerMediaType  types.MediaType = "application/vnd.bulwark.vulndb.layer.v1.bbolt"
	ConfigMediaType types.MediaType = "application/vnd.bulwark.vulndb.config.v1+json"

	AnnotationDigest    = "dev.bulwark.db.digest"    // sha256:<hex> of the DB file
	AnnotationBuiltAt   = "dev.bulwark.db.built-at"  // RFC 3339
	AnnotationSources   = "dev.bulwark.db.sources"   // comma-separated source names
	AnnotationSchema    = "dev.bulwark.db.schema"    // vulndb.SchemaVersion
	AnnotationSignature = "dev.bulwark.db.signature" // base64 ed25519 over SignedPayload
	annotationCreated   = "org.opencontainers.image.created"
)

// maxDB bounds the layer Pull accepts; today's full DB is tens of MiB.
const maxDB = 4 << 30

// ErrVerify is wrapped by every refusal of a fetched artifact (digest,
// signature, content): the current DB is kept.
var ErrVerify = errors.New("DB artifact failed verification")

// Options are what Push and Pull share.
type Options struct {
	// Insecure allows plain HTTP and unverified TLS; loopback registries
	// may always use HTTP.
	Insecure bool
	Keychain authn.Keychain
}

func (o Options) remote(ctx context.Context, ref string) (name.Reference, []remote.Option, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("parse reference %q: %w", ref, err)
	}
	if o.Insecure || image.IsLoopback(r.Context().RegistryStr()) {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, nil, fmt.Errorf("parse reference %q: %w", ref, err)
		}
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if o.Insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
		opts = append(opts, remote.WithTransport(t))
	}
	return r, opts, nil
}

// SignedPayload is what the signature covers: the DB digest, the build
// time and the sources, so none of them can be swapped without the key.
func SignedPayload(digest, builtAt, sources string) []byte {
	return []byte("bulwark-db-v1\n" + digest + "\n" + builtAt + "\n" + sources + "\n")
}

// Pushed describes a published artifact.
type Pushed struct {
	Reference string
	Digest    string // manifest digest
	DBDigest  string
	Signed    bool
}

// Push publishes the DB in dbDir to ref, signed when key is not nil.
func Push(ctx context.Context, dbDir, ref string, key ed25519.PrivateKey, o Options) (Pushed, error) {
	db, err := vulndb.Open(dbDir)
	if err != nil {
		return Pushed{}, err
	}
	meta := db.Meta()
	db.Close()
	data, err := os.ReadFile(filepath.Join(dbDir, vulndb.FileName))
	if err != nil {
		return Pushed{}, fmt.Errorf("read DB: %w", err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	var names []string
	for _, s := range meta.Sources {
		names = append(names, s.Name)
	}
	builtAt := meta.BuiltAt.UTC().Format(time.RFC3339)
	ann := map[string]string{
		AnnotationDigest:  digest,
		AnnotationBuiltAt: builtAt,
		AnnotationSources: strings.Join(names, ","),
		AnnotationSchema:  fmt.Sprint(meta.SchemaVersion),
		annotationCreated: builtAt,
	}
	if key != nil {
		ann[AnnotationSignature] = base64.StdEncoding.EncodeToString(ed25519.Sign(key, SignedPayload(digest, builtAt, ann[AnnotationSources])))
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(data, LayerMediaType))
	if err != nil {
		return Pushed{}, fmt.Errorf("assemble DB artifact: %w", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	img = mutate.Annotations(img, ann).(v1.Image)
	r, opts, err := o.remote(ctx, ref)
	if err != nil {
		return Pushed{}, err
	}
	// Progress on a terminal (internal/progress): the upload in bytes.
	updates := make(chan v1.Update, 16)
	bar := progress.Start(ctx, "push DB", int64(len(data)), true)
	go func() {
		var done int64
		for u := range updates {
			if u.Complete > done {
				bar.Add(u.Complete - done)
				done = u.Complete
			}
		}
	}()
	err = remote.Write(r, img, append(opts, remote.WithProgress(updates))...)
	bar.Finish()
	if err != nil {
		return Pushed{}, fmt.Errorf("push DB to %s: %w", ref, err)
	}
	md, err := img.Digest()
	if err != nil {
		return Pushed{}, fmt.Errorf("digest of DB artifact: %w", err)
	}
	return Pushed{Reference: ref, Digest: md.String(), DBDigest: digest, Signed: key != nil}, nil
}

// Pull fetches the DB artifact at ref and installs it in dbDir: the layer
// must hash to the manifest's digest annotation, and with verifyKey the
// signature over digest, build time and sources must verify. Anything
// else is refused (ErrVerify) and the current DB stays.
func Pull(ctx context.Context, ref, dbDir string, verifyKey ed25519.PublicKey, o Options) (vulndb.Meta, error) {
	r, opts, err := o.remote(ctx, ref)
	if err != nil {
		return vulndb.Meta{}, err
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		return vulndb.Meta{}, fmt.Errorf("fetch DB artifact %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return vulndb.Meta{}, fmt.Errorf("read manifest of %s: %w", ref, err)
	}
	ann := m.Annotations
	if len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType {
		return vulndb.Meta{}, fmt.Errorf("%w: %s is not a Bulwark DB artifact (want one layer of %s)", ErrVerify, ref, LayerMediaType)
	}
	if m.Layers[0].Size > maxDB {
		return vulndb.Meta{}, fmt.Errorf("%w: DB layer of %d bytes is over the %d-byte limit", ErrVerify, m.Layers[0].Size, int64(maxDB))
	}
	digest := ann[AnnotationDigest]
	if !strings.HasPrefix(digest, "sha256:") {
		return vulndb.Meta{}, fmt.Errorf("%w: manifest has no %s annotation", ErrVerify, AnnotationDigest)
	}
	if verifyKey != nil {
		sig, err := base64.StdEncoding.DecodeString(ann[AnnotationSignature])
		if err != nil || len(sig) == 0 {
			return vulndb.Meta{}, fmt.Errorf("%w: %s is not signed (--verify-key was given)", ErrVerify, ref)
		}
		if !ed25519.Verify(verifyKey, SignedPayload(digest, ann[AnnotationBuiltAt], ann[AnnotationSources]), sig) {
			return vulndb.Meta{}, fmt.Errorf("%w: signature of %s does not verify with the given key", ErrVerify, ref)
		}
	}
	layer := m.Layers[0]
	l, err := img.LayerByDigest(layer.Digest)
	if err != nil {
		return vulndb.Meta{}, fmt.Errorf("fetch DB layer of %s: %w", ref, err)
	}
	meta, err := vulndb.Install(ctx, dbDir, func(ctx context.Context, w io.Writer) error {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		bar := progress.Start(ctx, "download DB", layer.Size, true)
		defer bar.Finish()
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), progress.Reader(io.LimitReader(rc, maxDB+1), bar))
		if err != nil {
			return fmt.Errorf("%w: read DB layer: %v", ErrVerify, err)
		}
		if n > maxDB {
			return fmt.Errorf("%w: DB layer over the %d-byte limit", ErrVerify, int64(maxDB))
		}
		if got := sum(h); got != digest {
			return fmt.Errorf("%w: DB content hashes to %s, the manifest says %s", ErrVerify, got, digest)
		}
		return nil
	})
	if err != nil {
		return vulndb.Meta{}, fmt.Errorf("install DB from %s: %w", ref, err)
	}
	return meta, nil
}

func sum(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// ReadPrivateKey reads an ed25519 private key in PKCS #8 PEM ("PRIVATE
// KEY"), as `openssl genpkey -algorithm ed25519` writes it.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key %s is a %T, not ed25519", path, k)
	}
	return ek, nil
}

// ReadPublicKey reads an ed25519 public key in PKIX PEM ("PUBLIC KEY"),
// as `openssl pkey -pubout` writes it.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse public key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s is a %T, not ed25519", path, k)
	}
	return ek, nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(bytes.TrimSpace(b))
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("key %s: no PEM block of type %q", path, typ)
	}
	return blk.Bytes, nil
}
