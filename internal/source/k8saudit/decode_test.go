package k8saudit

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSpecial8 checks the eight-byte skip against the byte table: every
// byte value at every position of an otherwise plain word, and random words.
func TestSpecial8(t *testing.T) {
	word := func(b [8]byte) uint64 { return binary.LittleEndian.Uint64(b[:]) }
	want := func(b [8]byte) bool {
		for _, c := range b {
			if !plain[c] {
				return true
			}
		}
		return false
	}
	// The lowest flagged byte of specialMask is the first non-plain byte:
	// stringEnd jumps straight to it.
	first := func(b [8]byte) int {
		for i, c := range b {
			if !plain[c] {
				return i
			}
		}
		return 8
	}
	check := func(b [8]byte) {
		t.Helper()
		if got := special8(word(b)); got != want(b) {
			t.Fatalf("special8(%q) = %v, want %v", b[:], got, want(b))
		}
		if got := bits.TrailingZeros64(specialMask(word(b))) >> 3; got != first(b) {
			t.Fatalf("specialMask(%q) flags byte %d first, want %d", b[:], got, first(b))
		}
	}
	for c := range 256 {
		for pos := range 8 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(4) > 0 {
				b[i] = byte(0x20 + r.IntN(0x60)) // mostly printable: the interesting mixes
			}
		}
		check(b)
	}
}

// TestStrCache: a recurring value comes back as the same string, a
// colliding or long one still comes back right.
func TestStrCache(t *testing.T) {
	c := newStrCache()
	long := make([]byte, strCacheMaxLen+1)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", []byte("kubelet/v1.36.0")},
		{"long", long},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := c.get(tc.in), c.get(tc.in)
			if a != string(tc.in) || b != string(tc.in) {
				t.Fatalf("get(%q) = %q, %q", tc.in, a, b)
			}
		})
	}
	// Far more distinct values than slots: every answer is still right.
	for i := range 10 * strCacheSlots {
		v := []byte("user-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26)))
		if got := c.get(v); got != string(v) {
			t.Fatalf("get(%q) = %q", v, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.get([]byte("system:serviceaccount:kube-system:replicaset-controller")) }); n > 0 {
		t.Errorf("a cached value allocates %v times", n)
	}
}

// TestParserMatchesParse: the Parser's table changes allocations only,
// never what is decoded, also when the same Parser sees many events.
func TestParserMatchesParse(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test events: %v", err)
	}
	p := NewParser()
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			want, errW := Parse(bytes.Clone(b))
			got, errG := p.Parse(bytes.Clone(b))
			if (errW == nil) != (errG == nil) {
				t.Fatalf("%s: Parse err %v, Parser err %v", name, errW, errG)
			}
			if errW == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("%s:\n Parse  %+v\n Parser %+v", name, want.K8s, got.K8s)
			}
		}
	}
}
