package analyze

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Cache stores per-layer analysis results by key.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, data []byte) error
}

// DirCache returns a Cache that keeps one file per key under dir. Each file
// starts with a checksum of its content, so a torn or corrupted entry reads
// as a miss rather than as wrong results.
func DirCache(dir string) Cache { return &dirCache{dir: dir} }

type dirCache struct{ dir string }

const dirCacheMagic = "bulwark-layer-cache-v1 "

func (c *dirCache) file(key string) (string, error) {
	if key == "" || len(key) > 200 || key[0] == '.' {
		return "", fmt.Errorf("cache key %q: bad length", key)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return "", fmt.Errorf("cache key %q: only letters, digits, '-', '_' and '.' are allowed", key)
		}
	}
	return filepath.Join(c.dir, key), nil
}

func (c *dirCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	name, err := c.file(key)
	if err != nil {
		return nil, false, err
	}
	raw, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read cache entry %s: %w", name, err)
	}
	// Layout: magic, 64 hex digits of sha256(payload), newline, payload.
	hdrLen := len(dirCacheMagic) + 64 + 1
	if len(raw) < hdrLen || !bytes.HasPrefix(raw, []byte(dirCacheMagic)) || raw[hdrLen-1] != '\n' {
		return nil, false, nil
	}
	payload := raw[hdrLen:]
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != string(raw[len(dirCacheMagic):hdrLen-1]) {
		return nil, false, nil
	}
	return payload, true, nil
}

func (c *dirCache) Put(ctx context.Context, key string, data []byte) error {
	name, err := c.file(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("create cache dir %s: %w", c.dir, err)
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-"+key+"-*")
	if err != nil {
		return fmt.Errorf("create cache entry for %s: %w", key, err)
	}
	sum := sha256.Sum256(data)
	_, werr := tmp.WriteString(dirCacheMagic + hex.EncodeToString(sum[:]) + "\n")
	if werr == nil {
		_, werr = tmp.Write(data)
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write cache entry %s: %w", name, werr)
	}
	// Rename is atomic, so readers see the old entry or the whole new one.
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store cache entry %s: %w", name, err)
	}
	return nil
}
