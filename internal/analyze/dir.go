package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/bulwarkdev/bulwark/internal/distro"
	"github.com/bulwarkdev/bulwark/internal/layer"
)

// Dir analyses a directory tree as a single-layer image (packages carry no
// Layer). It reads through os.Root and skips symbolic links, so nothing
// outside root is ever read.
func Dir(ctx context.Context, root string, o Options) (*Result, error) {
	if err := o.normalise(); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", root, err)
	}
	defer r.Close()
	lim := o.Limits.WithDefaults()

	lr := &layerResult{Files: map[string]*fileResult{}, Distro: map[string][]byte{}}
	entries := 0
	errStop := errors.New("stop")
	walk := func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("skipped %s: %v", p, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		entries++
		if entries > lim.MaxEntries {
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("stopped after %d entries: %v", lim.MaxEntries, layer.ErrTooManyEntries))
			return errStop
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked; links, devices and sockets are not read
		}
		info, err := d.Info()
		if err != nil {
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("skipped %s: %v", p, err))
			return nil
		}
		mode, size := info.Mode(), info.Size()
		if len(o.Table.Wanting(p, mode, size)) == 0 && !distro.Wants(p) {
			return nil
		}
		if size > lim.MaxFileSize {
			lr.Files[p] = &fileResult{}
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("skipped %s: %d bytes exceeds the %d-byte file limit", p, size, lim.MaxFileSize))
			return nil
		}
		data, err := readFile(r, p, lim.MaxFileSize)
		if err != nil {
			lr.Warnings = append(lr.Warnings, fmt.Sprintf("skipped %s: %v", p, err))
			return nil
		}
		lr.Files[p] = catalogueFile(ctx, o.Table, p, mode, data)
		if distro.Wants(p) {
			lr.Distro[p] = data
		}
		return nil
	}
	starts := []string{"."}
	if len(o.Only) > 0 {
		starts = nil
		for _, p := range o.Only {
			// A path that is not there (no rpm database on Debian) is not
			// a warning; one that is there but unreadable is, below.
			if _, err := fs.Lstat(r.FS(), p); err == nil {
				starts = append(starts, p)
			}
		}
	}
	for _, start := range starts {
		if err = fs.WalkDir(r.FS(), start, walk); err != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("walk directory %s: %w", root, err)
	}
	return merge([]*layerResult{lr}, nil, []string{root}, o.detect)
}

// readFile reads at most limit bytes; a file that grew past it is an error.
func readFile(r *os.Root, p string, limit int64) ([]byte, error) {
	f, err := r.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("grew past the %d-byte file limit while read", limit)
	}
	return data, nil
}
