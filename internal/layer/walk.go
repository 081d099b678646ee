package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Limits bound the work one layer can cause. A zero field means its default.
type Limits struct {
	// MaxFileSize is the largest wanted file read into memory; bigger ones
	// are skipped with a warning. Default 512 MiB.
	MaxFileSize int64
	// MaxLayerSize is the most uncompressed bytes read from one layer, the
	// decompression-bomb guard. Default 32 GiB.
	MaxLayerSize int64
	// MaxEntries is the most tar entries read from one layer. Default 5,000,000.
	MaxEntries int
	// MaxLinkBytes is how many bytes of already-read files are kept so a
	// later hard link to them can be delivered; only files up to a 16th of
	// it are kept. Default 4 MiB.
	MaxLinkBytes int64
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:  512 << 20,
		MaxLayerSize: 32 << 30,
		MaxEntries:   5_000_000,
		MaxLinkBytes: 4 << 20,
	}
}

// WithDefaults fills every zero or negative field from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxLayerSize <= 0 {
		l.MaxLayerSize = d.MaxLayerSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxLinkBytes <= 0 {
		l.MaxLinkBytes = d.MaxLinkBytes
	}
	return l
}

// Errors that end the walk of a layer because it looks like a bomb.
var (
	ErrLayerTooLarge  = errors.New("layer exceeds the uncompressed size limit")
	ErrTooManyEntries = errors.New("layer exceeds the tar entry limit")
)

// Result is what a walk learnt besides the delivered files. Paths are clean,
// slash-separated, relative to the root and without a leading slash; the
// root itself is ".".
type Result struct {
	// Whiteouts are paths this layer deletes from the layers below.
	Whiteouts []string
	// OpaqueDirs are directories whose content from below this layer hides.
	OpaqueDirs []string
	// Warnings describe entries that were skipped.
	Warnings []string
	// Entries is the number of tar entries read.
	Entries int
	// Bytes is the number of uncompressed bytes read.
	Bytes int64
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// Walk reads the uncompressed tar stream r entry by entry. For each regular
// file (or hard link to one) for which want returns true it reads the content
// into memory and calls fn with it; fn's error ends the walk.
//
// Symbolic links are never followed, only skipped: nothing is written to disk
// and no path is resolved through a link, so a link pointing outside the root
// cannot make Walk read or deliver anything outside the layer. Entries whose
// name escapes the root with ".." are skipped with a warning.
//
// Walk returns an error for a corrupt stream or a layer beyond lim's size or
// entry limits; the Result then holds what was learnt so far.
func Walk(ctx context.Context, r io.Reader, lim Limits,
	want func(path string, mode fs.FileMode, size int64) bool,
	fn func(path string, mode fs.FileMode, data []byte) error,
) (Result, error) {
	lim = lim.WithDefaults()
	var res Result
	cr := &countingReader{r: r, max: lim.MaxLayerSize}
	tr := tar.NewReader(cr)
	defer func() { res.Bytes = cr.n }()

	// read remembers files already delivered, for hard links later in the layer.
	type readFile struct {
		mode fs.FileMode
		size int64
		data []byte // nil when dropped to stay within MaxLinkBytes
	}
	read := map[string]readFile{}
	var kept int64

	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			res.Bytes = cr.n
			return res, nil
		}
		if err != nil {
			if cr.exceeded {
				return res, fmt.Errorf("read tar entry %d: %w", res.Entries+1, ErrLayerTooLarge)
			}
			return res, fmt.Errorf("read tar entry %d: %w", res.Entries+1, err)
		}
		res.Entries++
		if res.Entries > lim.MaxEntries {
			return res, fmt.Errorf("after %d entries: %w", lim.MaxEntries, ErrTooManyEntries)
		}

		p, ok := cleanPath(hdr.Name)
		if !ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf("skipped entry %q: path escapes the root", hdr.Name))
			continue
		}
		if p == "." {
			continue
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir) // "" (root) becomes "."
		if base == opaqueMarker {
			res.OpaqueDirs = append(res.OpaqueDirs, dir)
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			victim := base[len(whiteoutPrefix):]
			if victim == "" || victim == "." || victim == ".." {
				res.Warnings = append(res.Warnings, fmt.Sprintf("skipped malformed whiteout %q", hdr.Name))
				continue
			}
			res.Whiteouts = append(res.Whiteouts, path.Join(dir, victim))
			continue
		}

		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
			mode := hdr.FileInfo().Mode()
			if !want(p, mode, hdr.Size) {
				continue
			}
			if hdr.Size > lim.MaxFileSize {
				res.Warnings = append(res.Warnings, fmt.Sprintf("skipped %s: %d bytes exceeds the %d-byte file limit", p, hdr.Size, lim.MaxFileSize))
				read[p] = readFile{mode: mode, size: hdr.Size}
				continue
			}
			data := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, data); err != nil {
				if cr.exceeded {
					err = ErrLayerTooLarge
				}
				return res, fmt.Errorf("read %s: %w", p, err)
			}
			rf := readFile{mode: mode, size: hdr.Size}
			// Only small files are kept for later hard links: a hard-linked
			// big binary is the same program under a second name, and keeping
			// every executable read would hold most of a layer in memory.
			if hdr.Size <= lim.MaxLinkBytes/16 && kept+hdr.Size <= lim.MaxLinkBytes {
				rf.data = data
				kept += hdr.Size
			}
			read[p] = rf
			if err := fn(p, mode, data); err != nil {
				return res, err
			}

		case tar.TypeLink:
			target, ok := cleanPath(hdr.Linkname)
			if !ok {
				res.Warnings = append(res.Warnings, fmt.Sprintf("skipped hard link %s: target %q escapes the root", p, hdr.Linkname))
				continue
			}
			rf, found := read[target]
			if !found {
				// The target was not wanted (or not in this layer); only a
				// wanted link path is worth a warning.
				if want(p, hdr.FileInfo().Mode(), hdr.Size) {
					res.Warnings = append(res.Warnings, fmt.Sprintf("skipped hard link %s: target %s was not read in this layer", p, target))
				}
				continue
			}
			if !want(p, rf.mode, rf.size) {
				continue
			}
			if rf.data == nil && rf.size > 0 {
				// Not kept (see MaxLinkBytes): the same content was already
				// delivered under the target's name, so nothing is lost but a
				// second name for it, which is not worth a warning.
				continue
			}
			data := rf.data
			if data == nil {
				data = []byte{}
			}
			if err := fn(p, rf.mode, data); err != nil {
				return res, err
			}

		default:
			// Directories, symlinks, devices and fifos carry no file content.
		}
	}
}

// cleanPath normalises a tar entry name to a clean relative path ("." for the
// root). It reports false when the name climbs above the root.
func cleanPath(name string) (string, bool) {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimLeft(name, "/")
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// countingReader counts bytes and fails once more than max have been read.
type countingReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.max {
		// Allow one more byte to tell "exactly max" from "more than max".
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.exceeded = true
			return 0, ErrLayerTooLarge
		}
		return 0, err
	}
	if rem := c.max - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
