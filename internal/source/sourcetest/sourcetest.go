// Package sourcetest holds what the event sources' tests share: golden
// files (rewritten with -update) and a stable rendering of events.
package sourcetest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Golden compares got with the file at path, or rewrites it with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// Render prints events as indented JSON, one after another, with Raw
// replaced by its length so goldens stay readable.
func Render(t testing.TB, evs ...*event.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range evs {
		c := *e
		if len(c.Raw) > 0 {
			c.Raw = json.RawMessage(strconv.Quote(strconv.Itoa(len(e.Raw)) + " bytes"))
		}
		b, err := json.MarshalIndent(&c, "", "  ")
		if err != nil {
			t.Fatalf("marshal event: %v", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + x + "\n  got: " + y
		}
	}
	return "(no line differs)"
}
