package testenv

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"
)

// TarGzFiles calls fn for every regular file of a .tar.gz from ../shared
// (rel is relative to the shared folder), skipping the test as Shared does
// when the archive is absent.
func TarGzFiles(t testing.TB, rel string, fn func(name string, data []byte)) {
	t.Helper()
	f, err := os.Open(Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", rel, h.Name, err)
		}
		fn(h.Name, data)
	}
}
