package analyze

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDirCache(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "cache")
	c := DirCache(dir)
	if _, ok, err := c.Get(ctx, "k1"); ok || err != nil {
		t.Fatalf("Get of missing key = %v, %v", ok, err)
	}
	if err := c.Put(ctx, "k1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(ctx, "k1")
	if err != nil || !ok || string(got) != `{"a":1}` {
		t.Fatalf("Get = %q, %v, %v", got, ok, err)
	}
	if err := c.Put(ctx, "k1", []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Get(ctx, "k1"); string(got) != `{"a":2}` {
		t.Fatalf("overwritten Get = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache dir holds %d files, want 1 (temp files left behind?)", len(entries))
	}

	for name, content := range map[string]string{
		"truncated": "bulwark-layer-cache-v1 abc",
		"no magic":  "{}",
		"bad sum":   "bulwark-layer-cache-v1 " + string(make([]byte, 64)) + "\n{}",
	} {
		if err := os.WriteFile(filepath.Join(dir, "k1"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, "k1"); ok || err != nil {
			t.Errorf("%s: Get = %v, %v; want a miss", name, ok, err)
		}
	}

	for _, bad := range []string{"", "../escape", "a/b", ".hidden"} {
		if err := c.Put(ctx, bad, nil); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
		if _, _, err := c.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q) succeeded", bad)
		}
	}
}
