package ospkg

import (
	"bytes"
	"context"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

type rpmTag struct {
	tag   int32
	value any // string or int32
}

// buildRPMHeader encodes tags the way rpm stores a header in its database,
// led by an immutable-region entry like real headers.
func buildRPMHeader(tags ...rpmTag) []byte {
	var index, store bytes.Buffer
	entry := func(tag int32, typ uint32, off int, count uint32) {
		binary.Write(&index, binary.BigEndian, []uint32{uint32(tag), typ, uint32(off), count})
	}
	entry(63, 7, 0, 16) // RPMTAG_HEADERIMMUTABLE, ignored by the decoder
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

func TestDecodeRPMHeader(t *testing.T) {
	h, err := decodeRPMHeader(opensslHeader())
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	want := &rpmHeader{name: "openssl-libs", version: "3.0.7", release: "2.el9", epoch: &one, arch: "x86_64",
		license: "ASL 2.0", sourceRPM: "openssl-3.0.7-2.el9.src.rpm", vendor: "Red Hat, Inc."}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %+v, want %+v", h, want)
	}
	p := h.toPackage()
	if p.Version != "3.0.7-2.el9" || p.SourceName != "openssl" || p.SourceVersion != "3.0.7-2.el9" || *p.Epoch != 1 {
		t.Errorf("package %+v", p)
	}
}

func TestDecodeRPMHeaderCorrupt(t *testing.T) {
	good := opensslHeader()
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":             nil,
		"short":             good[:6],
		"truncated store":   good[:len(good)-3],
		"zero entries":      mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 0); return b }),
		"huge entry count":  mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 1<<20); return b }),
		"huge data length":  mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 1<<30); return b }),
		"offset past store": mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8+16+8:], 1<<20); return b }),
		"name not a string": mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8+16+4:], rpmTypeInt32); return b }),
		"unterminated": func() []byte {
			b := buildRPMHeader(rpmTag{rpmTagName, "x"})
			return b[:len(b)-1]
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			if b != nil && name == "unterminated" {
				// Fix up dl so only the missing NUL is wrong.
				binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])-1)
			}
			if _, err := decodeRPMHeader(b); err == nil {
				t.Error("corrupt header accepted")
			}
		})
	}
}

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
		le.PutUint32(slot[8:], uint32(len(out)/ndbBlockSize))
		head := make([]byte, ndbBlobHeadSize)
		le.PutUint32(head[0:], ndbBlobMagic)
		le.PutUint32(head[4:], uint32(i+1))
		le.PutUint32(head[12:], uint32(len(b)))
		out = append(out, head...)
		out = append(out, b...)
		for len(out)%ndbBlockSize != 0 {
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
	meta[25] = bdbTypeHashMeta
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
		hash[itemEnd] = bdbItemOffPage
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
			if p := pkgs[0]; p.Name != "openssl-libs" || p.Epoch == nil || *p.Epoch != 1 || p.Cataloger != "rpm" {
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
	for _, tc := range []struct {
		name, path string
		data       []byte
	}{
		{"bdb empty", "var/lib/rpm/Packages", nil},
		{"bdb not bdb", "var/lib/rpm/Packages", bytes.Repeat([]byte("x"), 4096)},
		{"bdb bad page size", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[20:], 1000) })},
		{"bdb encrypted", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { b[24] = 1 })},
		{"bdb chain out of file", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[512+512-bdbOffPageSize-5+4:], 999) })},
		{"bdb chain loop", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint32(b[2*512+16:], 2) })},
		{"bdb truncated", "var/lib/rpm/Packages", bdb[:len(bdb)-512]},
		{"bdb odd entries", "var/lib/rpm/Packages", edit(bdb, func(b []byte) { le.PutUint16(b[512+20:], 3) })},
		{"ndb empty", "var/lib/rpm/Packages.db", nil},
		{"ndb bad version", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { b[4] = 9 })},
		{"ndb huge slot pages", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[12:], 1<<30) })},
		{"ndb bad slot magic", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { b[ndbHeaderSize] = 'X' })},
		{"ndb blob outside", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbHeaderSize+8:], 1<<28) })},
		{"ndb blob too long", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+12:], 1<<20) })},
		{"ndb wrong package", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+4:], 7) })},
		{"ndb corrupt header blob", "var/lib/rpm/Packages.db", edit(ndb, func(b []byte) { le.PutUint32(b[ndbPageSize+16:], 0) })},
		{"sqlite not sqlite", "var/lib/rpm/rpmdb.sqlite", []byte("SQLite format 2")},
		{"sqlite truncated", "var/lib/rpm/rpmdb.sqlite", append([]byte("SQLite format 3\x00"), make([]byte, 200)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := RPM().Parse(context.Background(), catalog.File{Path: tc.path, Data: tc.data})
			if err == nil {
				t.Fatalf("corrupt database accepted: %+v", pkgs)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestRPMWants(t *testing.T) {
	c := RPM()
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
}

func FuzzRPMHeader(f *testing.F) {
	f.Add(opensslHeader())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeRPMHeader(b)
		if err == nil && h == nil {
			t.Fatal("nil header without error")
		}
	})
}

func FuzzRPMBDB(f *testing.F) {
	f.Add(buildBDB(opensslHeader()))
	f.Fuzz(func(t *testing.T, b []byte) {
		blobs, err := readBDB(context.Background(), b)
		total := 0
		for _, x := range blobs {
			total += len(x)
		}
		if err == nil && total > len(b) {
			t.Fatalf("%d bytes of values from a %d-byte file", total, len(b))
		}
	})
}

func FuzzRPMNDB(f *testing.F) {
	f.Add(buildNDB(opensslHeader()))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = RPM().Parse(context.Background(), catalog.File{Path: "var/lib/rpm/Packages.db", Data: b})
	})
}

func BenchmarkRPMNDB(b *testing.B) {
	var blobs [][]byte
	for range 200 {
		blobs = append(blobs, opensslHeader())
	}
	data := buildNDB(blobs...)
	c := RPM()
	f := catalog.File{Path: "var/lib/rpm/Packages.db", Data: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		pkgs, err := c.Parse(context.Background(), f)
		if err != nil || len(pkgs) != 200 {
			b.Fatal(len(pkgs), err)
		}
	}
}
