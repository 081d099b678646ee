package memtrim

import (
	"crypto/sha256"
	_ "embed"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// table is read-only data of the test binary (an embedded string's bytes
// are in .rodata): dropping its mapping must not change a byte of it.
//
//go:embed memtrim.go
var table string

func exeRss(t *testing.T) (int64, []Region) {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	regions, _, err := Select(f, exe)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range regions {
		sum += r.Rss
	}
	return sum, regions
}

func TestReleaseDropsTheExecutablesMappings(t *testing.T) {
	if !strings.Contains(table, "package memtrim") {
		t.Fatal("the embedded table is not this package's source")
	}
	before := sha256.Sum256([]byte(table))
	rss, regions := exeRss(t)
	if rss == 0 {
		t.Fatal("none of the executable's read-only mappings was found resident (is /proc/self/smaps read right?)")
	}
	at := uint64(uintptr(unsafe.Pointer(unsafe.StringData(table))))
	if !slices.ContainsFunc(regions, func(r Region) bool { return r.Start <= at && at < r.End }) {
		t.Fatalf("the embedded table (at %#x) is in none of the mappings to drop: %+v", at, regions)
	}
	st, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after, _ := exeRss(t) // maps back only what Release and this test ran since
	t.Logf("before %d KiB, released %d KiB in %d mappings, after %d KiB (skipped %d)", rss>>10, st.Mapped>>10, st.Mappings, after>>10, st.Skipped)
	if st.Mappings == 0 || st.Mapped == 0 {
		t.Fatalf("nothing released: %+v", st)
	}
	if after >= rss {
		t.Errorf("the executable's resident mappings did not shrink: %d → %d bytes", rss, after)
	}
	if sha256.Sum256([]byte(table)) != before {
		t.Fatal("read-only data changed after its mapping was dropped")
	}
	// And again, with everything mapped back as it is used.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
}
