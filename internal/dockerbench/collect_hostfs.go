package dockerbench

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// collectHostFS reads host paths under a root. With root "/" it uses the
// paths as they are. With another root it resolves every symlink the way a
// chroot would (absolute targets restart at the root, ".." stops there)
// and does the actual lookups through os.Root, so nothing a host path or a
// symlink in it says can reach outside the root.
type collectHostFS struct {
	root string   // absolute, clean
	r    *os.Root // nil when root is "/"
}

// collectMaxRead caps what we read of any one host file.
const collectMaxRead = 8 << 20

// collectMaxLinks caps symlinks followed while resolving one path (Linux's
// MAXSYMLINKS).
const collectMaxLinks = 40

func collectOpenHostFS(root string) (*collectHostFS, error) {
	if root == "/" {
		return &collectHostFS{root: "/"}, nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open host root %s: %w", root, err)
	}
	return &collectHostFS{root: root, r: r}, nil
}

func (h *collectHostFS) close() {
	if h.r != nil {
		h.r.Close()
	}
}

// resolve turns host path p into a path relative to the root with every
// symlink in its directories (and in its last element when follow)
// resolved inside the root. A missing component gives fs.ErrNotExist.
func (h *collectHostFS) resolve(p string, follow bool) (string, error) {
	pending := collectSplitPath(p)
	var cur []string
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		next := path.Join(append(append([]string{}, cur...), c)...)
		if len(pending) == 0 && !follow {
			cur = append(cur, c)
			break
		}
		fi, err := h.r.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c)
			continue
		}
		if links++; links > collectMaxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
		}
		target, err := h.r.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = cur[:0]
		}
		pending = append(collectSplitPath(target), pending...)
	}
	if len(cur) == 0 {
		return ".", nil
	}
	return path.Join(cur...), nil
}

func collectSplitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// lstat stats host path p without following its last element.
func (h *collectHostFS) lstat(p string) (fs.FileInfo, error) {
	if h.r == nil {
		return os.Lstat(p)
	}
	rel, err := h.resolve(p, false)
	if err != nil {
		return nil, err
	}
	return h.r.Lstat(rel)
}

// readlink reads the symlink at host path p.
func (h *collectHostFS) readlink(p string) (string, error) {
	if h.r == nil {
		return os.Readlink(p)
	}
	rel, err := h.resolve(p, false)
	if err != nil {
		return "", err
	}
	return h.r.Readlink(rel)
}

// open opens host path p for reading, following symlinks inside the root.
func (h *collectHostFS) open(p string) (*os.File, error) {
	if h.r == nil {
		return os.Open(p)
	}
	rel, err := h.resolve(p, true)
	if err != nil {
		return nil, err
	}
	return h.r.Open(rel)
}

// readFile reads host path p (at most collectMaxRead bytes).
func (h *collectHostFS) readFile(p string) ([]byte, error) {
	f, err := h.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, collectMaxRead+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > collectMaxRead {
		return nil, fmt.Errorf("read %s: larger than %d bytes", p, collectMaxRead)
	}
	return b, nil
}

// readDir lists host directory p.
func (h *collectHostFS) readDir(p string) ([]fs.DirEntry, error) {
	f, err := h.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// describe names host path p for messages: the path under the root.
func (h *collectHostFS) describe(p string) string {
	if h.root == "/" {
		return p
	}
	return filepath.Join(h.root, p)
}

// collectNotExist reports whether err means the path (or a directory on
// its way) is not there.
func collectNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
