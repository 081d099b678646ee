package ospkg

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

// rpm header tags and types, as rpm stores them.
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagVendor    = 1011
	rpmTagLicense   = 1014
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044
	rpmTypeInt32    = 4
	rpmTypeString   = 6
)

type rpmTag struct {
	tag   int32
	value any // string or int32
}

// buildRPMHeader encodes tags the way rpm stores a header in its database
// (without an immutable region, like a legacy v3 header).
func buildRPMHeader(tags ...rpmTag) []byte {
	var index, store bytes.Buffer
	entry := func(tag int32, typ uint32, off int, count uint32) {
		binary.Write(&index, binary.BigEndian, []uint32{uint32(tag), typ, uint32(off), count})
	}
	for _, t := range tags {
		switch v := t.value.(type) {
		case string:
			entry(t.tag, rpmTypeString, store.Len(), 1)
			store.WriteString(v)
			store.WriteByte(0)
		case int32:
			for store.Len()%4 != 0 {
				store.WriteByte(0)
			}
			entry(t.tag, rpmTypeInt32, store.Len(), 1)
			binary.Write(&store, binary.BigEndian, v)
		}
	}
	var out bytes.Buffer
	binary.Write(&out, binary.BigEndian, []uint32{uint32(index.Len() / 16), uint32(store.Len())})
	out.Write(index.Bytes())
	out.Write(store.Bytes())
	return out.Bytes()
}

func opensslHeader() []byte {
	return buildRPMHeader(
		rpmTag{rpmTagName, "openssl-libs"}, rpmTag{rpmTagVersion, "3.0.7"}, rpmTag{rpmTagRelease, "2.el9"},
		rpmTag{rpmTagEpoch, int32(1)}, rpmTag{rpmTagArch, "x86_64"}, rpmTag{rpmTagLicense, "ASL 2.0"},
		rpmTag{rpmTagSourceRPM, "openssl-3.0.7-2.el9.src.rpm"}, rpmTag{rpmTagVendor, "Red Hat, Inc."},
	)
}

const ndbPageSize = 4096

// buildNDB lays out blobs in rpm's ndb format with one slot page.
func buildNDB(blobs ...[]byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, ndbPageSize)
	le.PutUint32(out[0:], ndbHeaderMagic)
	le.PutUint32(out[12:], 1)
	for off := ndbHeaderSize; off < ndbPageSize; off += ndbSlotSize {
		le.PutUint32(out[off:], ndbSlotMagic)
	}
	for i, b := range blobs {
		slot := out[ndbHeaderSize+i*ndbSlotSize:]
		le.PutUint32(slot[4:], uint32(i+1))
		le.PutUint32(slot[8:], uint32(len(out)/ndbBlobHeadSize))
		head := make([]byte, ndbBlobHeadSize)
		le.PutUint32(head[0:], ndbBlobMagic)
		le.PutUint32(head[4:], uint32(i+1))
		le.PutUint32(head[12:], uint32(len(b)))
		out = append(out, head...)
		out = append(out, b...)
		for len(out)%ndbBlobHeadSize != 0 {
			out = append(out, 0)
		}
	}
	return out
}

// buildBDB lays out values in a Berkeley DB hash file with 512-byte pages:
// a metadata page, one hash page holding key/off-page-value pairs, and
// overflow chains for the values.
func buildBDB(values ...[]byte) []byte {
	const ps = 512
	le := binary.LittleEndian
	pages := [][]byte{make([]byte, ps), make([]byte, ps)}
	meta, hash := pages[0], pages[1]
	le.PutUint32(meta[12:], bdbHashMagic)
	le.PutUint32(meta[20:], ps)
	meta[25] = 8
	hash[25] = bdbTypeHash
	le.PutUint16(hash[20:], uint16(2*len(values)))
	itemEnd := ps
	for i, v := range values {
		// key: H_KEYDATA with a 4-byte record number
		itemEnd -= 5
		hash[itemEnd] = 1
		le.PutUint32(hash[itemEnd+1:], uint32(i+1))
		le.PutUint16(hash[bdbPageHeaderSize+4*i:], uint16(itemEnd))
		// value: H_OFFPAGE pointing at the overflow chain
		itemEnd -= bdbOffPageSize
		hash[itemEnd] = bdbTypeOffPage
		le.PutUint32(hash[itemEnd+4:], uint32(len(pages)))
		le.PutUint32(hash[itemEnd+8:], uint32(len(v)))
		le.PutUint16(hash[bdbPageHeaderSize+4*i+2:], uint16(itemEnd))
		for len(v) > 0 {
			p := make([]byte, ps)
			p[25] = bdbTypeOverflow
			n := copy(p[bdbPageHeaderSize:], v)
			le.PutUint16(p[22:], uint16(n))
			v = v[n:]
			if len(v) > 0 {
				le.PutUint32(p[16:], uint32(len(pages)+1))
			}
			pages = append(pages, p)
		}
	}
	le.PutUint32(meta[32:], uint32(len(pages)-1))
	return bytes.Join(pages, nil)
}

func TestSplitSourceRPM(t *testing.T) {
	for _, tc := range []struct{ in, name, ver string }{
		{"openssl-3.0.7-2.el9.src.rpm", "openssl", "3.0.7-2.el9"},
		{"util-linux-2.32.1-42.el8_8.src.rpm", "util-linux", "2.32.1-42.el8_8"},
		{"python-setuptools-53.0.0-12.el9.nosrc.rpm", "python-setuptools", "53.0.0-12.el9"},
		{"nodash.src.rpm", "", ""},
		{"a-1.src.rpm", "", ""},
		{"openssl-3.0.7-2.el9.x86_64.rpm", "", ""},
		{"", "", ""},
	} {
		name, ver, ok := splitSourceRPM(tc.in)
		if name != tc.name || ver != tc.ver || ok != (tc.name != "") {
			t.Errorf("splitSourceRPM(%q) = %q, %q, %v; want %q, %q", tc.in, name, ver, ok, tc.name, tc.ver)
		}
	}
}

func TestRPMBackends(t *testing.T) {
	long := buildRPMHeader(rpmTag{rpmTagName, "bash"}, rpmTag{rpmTagVersion, "5.1.8"}, rpmTag{rpmTagRelease, "9.el9"},
		rpmTag{rpmTagArch, "x86_64"}, rpmTag{rpmTagSourceRPM, "bash-5.1.8-9.el9.src.rpm"}, rpmTag{rpmTagLicense, strings.Repeat("GPLv3+ ", 200)})
	gpg := buildRPMHeader(rpmTag{rpmTagName, "gpg-pubkey"}, rpmTag{rpmTagVersion, "fd431d51"}, rpmTag{rpmTagRelease, "4ae0493b"})
	for _, tc := range []struct {
		path string
		data []byte
	}{
		{"var/lib/rpm/Packages", buildBDB(opensslHeader(), long, gpg)},
		{"usr/lib/sysimage/rpm/Packages.db", buildNDB(opensslHeader(), long, gpg)},
	} {
		t.Run(tc.path, func(t *testing.T) {
			pkgs, err := RPM().Parse(context.Background(), catalog.File{Path: tc.path, Data: tc.data})
			if err != nil {
				t.Fatal(err)
			}
			if len(pkgs) != 2 {
				t.Fatalf("got %d packages, want 2 (gpg-pubkey skipped): %+v", len(pkgs), pkgs)
			}
			p := pkgs[0]
			if p.Name != "openssl-libs" || p.Version != "3.0.7-2.el9" || p.Epoch == nil || *p.Epoch != 1 || p.Arch != "x86_64" ||
				p.SourceName != "openssl" || p.SourceVersion != "3.0.7-2.el9" || p.Cataloger != "rpm" ||
				len(p.Licenses) != 1 || p.Licenses[0] != "ASL 2.0" ||
				p.Metadata["vendor"] != "Red Hat, Inc." || p.Metadata["source_rpm"] != "openssl-3.0.7-2.el9.src.rpm" {
				t.Errorf("first package %+v", p)
			}
			if p := pkgs[1]; p.Name != "bash" || p.Epoch != nil || p.SourceName != "bash" || len(p.Licenses[0]) != 1400 {
				t.Errorf("second package %+v", p)
			}
		})
	}
}

func TestRPMCorruptDatabases(t *testing.T) {
	bdb := buildBDB(opensslHeader())
	ndb := buildNDB(opensslHeader())
	le := binary.LittleEndian
	edit := func(b []byte, f func([]byte)) []byte { b = bytes.Clone(b); f(b); return b }
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i>>3)
	}
	for _, tc := range []struct {
		name, path string
		data       []byte
	}{
		{"empty", "var/lib/rpm/Packages", nil},
		{"empty ndb", "var/lib/rpm/Packages.db", []byte{}},
		{"empty sqlite", "var/lib/rpm/rpmdb.sqlite", []byte{}},
		{"garbage", "var/lib/rpm/Packages", garbage},
		{"garbage ndb", "var/lib/rpm/Packages.db", garbage},
		{"text", "var/lib/rpm/Packages", bytes.Repeat([]byte("x"), 4096)},
		{"sqlite not sqlite", "var/lib/rpm/rpmdb.sqlite", []byte("SQLite format 2")},
		{"sqlite truncated header", "var/lib/rpm/rpmdb.sqlite", append([]byte("SQLite format 3\x00"), make([]byte, 200)...)},
		{"sqlite garbage", "var/lib/rpm/rpmdb.sqlite", append([]byte("SQLite format 3\x00"), garbage...)},
		{"bdb bad page size", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[20:], 1000) })},
		{"bdb encrypted", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { b[24] = 1 })},
		{"bdb index past page", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint16(b[512+20:], 0xfffe) })},
		{"bdb item past page", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint16(b[512+bdbPageHeaderSize+2:], 0xfff0) })},
		{"bdb chain to hash page", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[512+512-bdbOffPageSize-5+4:], 1) })},
		{"bdb chain to meta page", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[512+512-bdbOffPageSize-5+4:], 1<<23) })},
		{"bdb chain loop", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[2*512+16:], 2) })},
		{"bdb free offset past page", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint16(b[2*512+22:], 0xffff) })},
		{"bdb truncated", "var/lib/rpm/Packages", bdb[:len(bdb)-512]},
		{"bdb odd entries", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint16(b[512+20:], 3) })},
		{"bdb huge header count", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { binary.BigEndian.PutUint32(b[2*512+bdbPageHeaderSize:], 1<<30) })},
		{"ndb bad slot magic", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { b[ndbHeaderSize] = 'X' })},
		{"ndb huge slot pages", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[12:], 1<<30) })},
		{"ndb blob outside", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbHeaderSize+8:], 1<<28) })},
		{"ndb blob too long", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+12:], 0xffffffff) })},
		{"ndb bad blob magic", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { b[ndbPageSize] = 'X' })},
		{"ndb wrong package", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+4:], 7) })},
		{"ndb corrupt header blob", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+16:], 0) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pkgs, err := RPM().Parse(ctx, catalog.File{Path: tc.path, Data: tc.data})
			if err == nil {
				t.Fatalf("corrupt database accepted: %+v", pkgs)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the file", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timed out: %v", err)
			}
		})
	}
}

func TestRPMTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	// Parse checks ctx first; call the parser directly to reach the reader.
	_, err := readRPMDB(ctx, "Packages", buildBDB(opensslHeader()))
	if err != errRPMTimeout {
		t.Fatalf("got %v, want a timeout", err)
	}
	if got := (&rpmTimeoutError{path: "var/lib/rpm/Packages"}).Error(); got != "rpm database var/lib/rpm/Packages: timed out reading" {
		t.Errorf("message %q", got)
	}
}

func TestRPMWants(t *testing.T) {
	c := RPM()
	if c.Name() != "rpm" || c.Version() != 2 {
		t.Errorf("cataloger %s v%d", c.Name(), c.Version())
	}
	for path, want := range map[string]bool{
		"var/lib/rpm/Packages":              true,
		"var/lib/rpm/Packages.db":           true,
		"var/lib/rpm/rpmdb.sqlite":          true,
		"usr/lib/sysimage/rpm/rpmdb.sqlite": true,
		"usr/lib/sysimage/rpm/Packages":     true,
		"var/lib/rpm/rpmdb.sqlite-shm":      false,
		"var/lib/rpm/Name":                  false,
		"var/lib/rpm/sub/Packages":          false,
		"opt/var/lib/rpm/Packages":          false,
	} {
		if got := c.Wants(path, 0o644, 1000); got != want {
			t.Errorf("Wants(%q) = %v, want %v", path, got, want)
		}
	}
	if c.Wants("var/lib/rpm/Packages", 0o644, rpmMaxSize+1) {
		t.Error("wants an oversized database")
	}
}

// FuzzRPM feeds arbitrary bytes to the cataloger under each database name:
// it must return, without panicking, within the read timeout.
func FuzzRPM(f *testing.F) {
	f.Add(uint8(0), buildBDB(opensslHeader()))
	f.Add(uint8(1), buildNDB(opensslHeader()))
	f.Add(uint8(2), append([]byte("SQLite format 3\x00"), make([]byte, 84)...))
	paths := []string{"var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "var/lib/rpm/rpmdb.sqlite"}
	c := RPM()
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		path := paths[int(which)%len(paths)]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pkgs, err := c.Parse(ctx, catalog.File{Path: path, Data: b})
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
		if err != nil && len(pkgs) != 0 {
			t.Errorf("packages with an error")
		}
	})
}
