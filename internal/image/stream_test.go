package image

import (
	"bytes"
	stdgzip "compress/gzip"
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

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := stdgzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func readGzip(t *testing.T, b []byte) ([]byte, error) {
	t.Helper()
	zr, err := newGzipReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

// TestGzipDecoder checks whichever decoder this build uses (klauspost, or
// ISA-L with -tags isal) on multi-member streams and corrupt trailers.
func TestGzipDecoder(t *testing.T) {
	a := bytes.Repeat([]byte("bulwark layer "), 200000)
	b := []byte("second member")
	got, err := readGzip(t, append(gz(t, a), gz(t, b)...))
	if err != nil || !bytes.Equal(got, append(append([]byte(nil), a...), b...)) {
		t.Fatalf("%s: concatenated members: %d bytes, err %v", GzipDecoder(), len(got), err)
	}
	bad := gz(t, a)
	bad[len(bad)-6] ^= 0xff // CRC32 in the trailer
	if _, err := readGzip(t, bad); err == nil {
		t.Errorf("%s: corrupt CRC accepted", GzipDecoder())
	}
	if _, err := readGzip(t, gz(t, a)[:1000]); err == nil {
		t.Errorf("%s: truncated stream accepted", GzipDecoder())
	}
	if got, err := readGzip(t, gz(t, nil)); err != nil || len(got) != 0 {
		t.Errorf("%s: empty stream: %q %v", GzipDecoder(), got, err)
	}
}

// TestUncompressedCloseMidStream closes layer readers while their
// goroutines are busy: the decoder (C memory with ISA-L) must never be used
// after Close frees it.
func TestUncompressedCloseMidStream(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil })
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for i := 0; i < 50; i++ {
		rc, err := Uncompressed(l)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < i%5; j++ {
			if _, err := rc.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
