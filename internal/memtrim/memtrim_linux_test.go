package memtrim

import (
	"crypto/sha256"
	"os"
	"strings"
	"testing"
)

// table is read-only data of the test binary: dropping its mapping must
// not change a byte of it.
var table = strings.Repeat("bulwark read-only data ", 1<<14)

func exeRss(t *testing.T) int64 {
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
	return sum
}

func TestReleaseDropsTheExecutablesMappings(t *testing.T) {
	before := sha256.Sum256([]byte(table))
	rss := exeRss(t)
	if rss == 0 {
		t.Skip("the executable's read-only mappings hold no resident page to drop")
	}
	st, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := exeRss(t) // maps back only what Release and this test ran since
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
