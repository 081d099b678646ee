// Package atomicfile writes an output file all at once: into a temporary
// file beside it, renamed over the destination only when every write, the
// sync and the close succeeded. A full disk or a failed write leaves no
// partial file (and an older file at the path untouched) and returns the
// error, so a command never reports success with a truncated report.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is an output file being written. Its Write keeps the first error;
// later writes fail with it, so code that ignores write errors (fmt.Fprintf
// into a table) still fails at Commit. Not safe for concurrent use.
type File struct {
	path   string
	perm   os.FileMode
	f      *os.File
	err    error
	done   bool
	direct bool // path is a device or a pipe: written in place
}

// Create starts writing path: a temporary file in path's directory, given
// perm when committed. A path that is a device or a pipe (-o /dev/null,
// -o /dev/stdout, a FIFO) is written in place: renaming over it would
// replace the device with a regular file. A symbolic link is followed, so
// the file it points to is replaced, not the link.
func Create(path string, perm os.FileMode) (*File, error) {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("create %s: is a directory", path)
		}
		if !fi.Mode().IsRegular() {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", path, err)
			}
			return &File{path: path, perm: perm, f: f, direct: true}, nil
		}
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{path: path, perm: perm, f: f}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.f.Write(p)
	if err != nil {
		f.err = fmt.Errorf("write %s: %w", f.path, err)
		return n, f.err
	}
	return n, nil
}

// Commit syncs and closes the temporary file and renames it to the path.
// On any error (including an earlier write's) the temporary file is
// removed and the error returned.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	f.done = true
	err := f.err
	if f.direct {
		if cerr := f.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", f.path, cerr)
		}
		return err
	}
	if err == nil {
		if serr := f.f.Sync(); serr != nil {
			err = fmt.Errorf("sync %s: %w", f.path, serr)
		}
	}
	if cerr := f.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", f.path, cerr)
	}
	if err == nil {
		if cerr := os.Chmod(f.f.Name(), f.perm); cerr != nil {
			err = fmt.Errorf("chmod %s: %w", f.path, cerr)
		}
	}
	if err == nil {
		if rerr := os.Rename(f.f.Name(), f.path); rerr != nil {
			err = fmt.Errorf("rename into %s: %w", f.path, rerr)
		}
	}
	if err != nil {
		os.Remove(f.f.Name())
	}
	return err
}

// Abort discards the temporary file; after Commit it does nothing, so it
// can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	if !f.direct {
		os.Remove(f.f.Name())
	}
}

// Write writes path through fn atomically (see File).
func Write(path string, perm os.FileMode, fn func(io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := fn(f); err != nil {
		return err
	}
	return f.Commit()
}

// CheckedWriter wraps a stream that cannot be made atomic (stdout) and
// keeps its first write error, for code that ignores write errors.
type CheckedWriter struct {
	W   io.Writer
	err error
}

// Write writes to W unless an earlier write failed.
func (c *CheckedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.W.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// Err is the first write error.
func (c *CheckedWriter) Err() error { return c.err }
