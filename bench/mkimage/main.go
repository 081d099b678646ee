// Command mkimage assembles the benchmark images from the debootstrap rootfs
// tars that scripts/testimage.sh builds: a docker-save archive with the
// rootfs as the base layer and, optionally, an app layer on top.
//
//	go run ./bench/mkimage -rootfs bookworm-minbase.tar -o minbase.img.tar
//	go run ./bench/mkimage -rootfs bookworm-app.tar -app -o app.img.tar
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwarkdev/bulwark/internal/progress"
)

func main() {
	rootfs := flag.String("rootfs", "", "rootfs tar (base layer)")
	app := flag.Bool("app", false, "add an application layer (npm lock file, Python package)")
	out := flag.String("o", "", "output docker-save archive")
	tag := flag.String("tag", "bulwark-bench/debian:12", "tag recorded in the archive")
	flag.Parse()
	if err := run(*rootfs, *app, *out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(rootfs string, app bool, out, tagName string) error {
	base, err := tarball.LayerFromFile(rootfs)
	if err != nil {
		return err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: "amd64", OS: "linux", Config: v1.Config{Cmd: []string{"bash"}}})
	if err != nil {
		return err
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{CreatedBy: "debootstrap --variant=minbase bookworm"}},
		mutate.Addendum{History: v1.History{CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`, EmptyLayer: true}})
	if err != nil {
		return err
	}
	if app {
		l, err := appLayer()
		if err != nil {
			return err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "COPY app/ /app/ # buildkit"}}); err != nil {
			return err
		}
	}
	tag, err := name.NewTag(tagName)
	if err != nil {
		return err
	}
	// Compressing the layers takes a while: on a terminal, show the bytes
	// written (tarball.WithProgress would compress every layer twice, once
	// to learn the total).
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	if r := progress.Terminal(os.Stderr); r != nil {
		bar := r.Start("assemble "+filepath.Base(out), -1, true)
		defer bar.Finish()
		w = writeCounter{f, bar}
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return err
	}
	return f.Close()
}

type writeCounter struct {
	w   io.Writer
	bar progress.Bar
}

func (c writeCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.bar.Add(int64(n))
	return n, err
}

func appLayer() (v1.Layer, error) {
	files := []struct{ name, body string }{
		{"app/package.json", `{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.4","minimist":"1.2.0"}}`},
		{"app/package-lock.json", `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"app","version":"1.0.0"},"node_modules/lodash":{"version":"4.17.4"},"node_modules/minimist":{"version":"1.2.0"}}}`},
		{"app/node_modules/lodash/package.json", `{"name":"lodash","version":"4.17.4","license":"MIT"}`},
		{"app/node_modules/minimist/package.json", `{"name":"minimist","version":"1.2.0","license":"MIT"}`},
		{"usr/local/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n"},
		{"usr/local/lib/python3.11/site-packages/urllib3-1.24.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: urllib3\nVersion: 1.24.1\n"},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}
