package image

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestUncompressedMatchesGGCR(t *testing.T) {
	payload := make([]byte, 5<<20+123) // several read-ahead buffers, odd tail
	if _, err := rand.Read(payload[:1<<20]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []tarball.LayerOption
	}{
		{"gzip", nil},
		{"zstd", []tarball.LayerOption{tarball.WithCompression("zstd")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := Uncompressed(l)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("got %d bytes, want %d identical", len(got), len(payload))
			}
		})
	}
	// An uncompressed blob labelled as gzip is passed through.
	l := static.NewLayer(payload, types.DockerLayer)
	rc, err := Uncompressed(l)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, payload) {
		t.Fatalf("mislabelled plain layer: got %d bytes", len(got))
	}
}

func TestUncompressedCorruptGzip(t *testing.T) {
	var buf bytes.Buffer
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(make([]byte, 1<<20))), nil })
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	io.Copy(&buf, rc)
	b := buf.Bytes()
	b = b[:len(b)/2] // truncated gzip stream
	bad := static.NewLayer(b, types.DockerLayer)
	r, err := Uncompressed(bad)
	if err != nil {
		return // an error on open is fine too
	}
	defer r.Close()
	if _, err := io.ReadAll(r); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("truncated gzip read without error: %v", err)
	}
}

func TestReadAheadEarlyClose(t *testing.T) {
	r := readAhead(io.NopCloser(bytes.NewReader(make([]byte, 10<<20))), 1<<16, 2)
	p := make([]byte, 100)
	if _, err := r.Read(p); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
