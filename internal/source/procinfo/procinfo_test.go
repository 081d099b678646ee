package procinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

const id64 = "472bdfec8c474a68a0c7ff87b6de8d11f10a78c2c5a0a39dba2ea45b452a2864"

func TestContainerID(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/docker/" + id64, id64},
		{"/system.slice/docker-" + id64 + ".scope", id64},
		{"/kubepods/burstable/pod7a9e2b1c-1111-2222-3333-444455556666/" + id64, id64},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-" + id64 + ".scope", id64},
		{"/machine.slice/libpod-" + id64 + ".scope/container", id64},
		{"/", ""},
		{"/user.slice/user-0.slice/session-1.scope", ""},
		{"/docker/" + id64[:63], ""},             // too short
		{"/docker/" + id64 + "0", ""},            // too long
		{"/docker/" + strings.ToUpper(id64), ""}, // ids are lower-case hex
	} {
		if got := ContainerID(c.path); got != c.want {
			t.Errorf("ContainerID(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestParseCgroup(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"hybrid container", "4:memory:/docker/" + id64 + "\n0::/docker/" + id64 + "\n", "/docker/" + id64},
		{"v2 host", "0::/user.slice/session-1.scope\n", "/user.slice/session-1.scope"},
		{"v1 only container", "9:name=systemd:/docker/" + id64 + "\n4:memory:/docker/" + id64 + "\n", "/docker/" + id64},
		{"hybrid, unified root", "4:memory:/docker/" + id64 + "\n0::/\n", "/docker/" + id64},
		{"host", "4:memory:/process_api/x\n0::/\n", "/"},
		{"garbage", "no colons here\n::\n", ""},
	} {
		if got := ParseCgroup([]byte(c.in)); got != c.want {
			t.Errorf("%s: ParseCgroup = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	st, err := ParseStatus([]byte("Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t12\nPid:\t12\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"))
	if err != nil || st != (Status{Name: "bash", PPID: 1, UID: 1000, EUID: 0}) {
		t.Errorf("ParseStatus = %+v, %v", st, err)
	}
	if _, err := ParseStatus([]byte("Name:\tx\n")); err == nil {
		t.Errorf("status without ids accepted")
	}
}

// tcpSample is /proc/net/tcp and tcp6 content as the kernel prints it,
// with malformed lines mixed in.
const tcpSample = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0A00000A:D431 08080808:0035 02 00000000:00000000 01:00000000 00000000     0        0 1003 2 0000000000000000 200 0 0 1 7
   3: truncated
   4: ZZ00007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1 0000000000000000 100 0 0 10 0
   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:D000 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000A01A8C0:E000 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
   2: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2003 1 0000000000000000 20 4 30 10 -1
`

func TestParseTCP(t *testing.T) {
	conns, err := ParseTCP([]byte(tcpSample))
	var out strings.Builder
	for _, c := range conns {
		fmt.Fprintf(&out, "%s -> %s state %d uid %d inode %d\n", c.Local, c.Remote, c.State, c.UID, c.Inode)
	}
	fmt.Fprintf(&out, "error: %v\n", err)
	sourcetest.Golden(t, filepath.Join("testdata", "tcp.golden"), []byte(out.String()))
	if err == nil || len(conns) != 6 {
		t.Errorf("want 6 connections and an error for 2 bad lines, got %d, %v", len(conns), err)
	}
}

// FuzzParseTCP: any input gives connections and/or an error, never a
// panic, and good lines survive bad ones.
func FuzzParseTCP(f *testing.F) {
	f.Add([]byte(tcpSample))
	f.Add([]byte("h\n 0: 1:2 3:4 0A 0 0 0 0 0 5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		conns, _ := ParseTCP(b)
		good, _ := ParseTCP([]byte(tcpSample + string(b)))
		if len(good) < 6 {
			t.Fatalf("appending %q lost good lines: %d", b, len(good))
		}
		_ = conns
	})
}

// FuzzParseProc feeds the /proc text parsers: no panic on any input.
func FuzzParseProc(f *testing.F) {
	f.Add([]byte("0::/docker/" + id64 + "\nName:\tsh\nPPid:\t1\nUid:\t0\t0\t0\t0\n"))
	f.Add([]byte("a\x00b\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := ParseCgroup(b)
		if id := ContainerID(p); id != "" && len(id) != 64 {
			t.Fatalf("id %q", id)
		}
		_, _ = ParseStatus(b)
		_ = SplitArgs(b)
	})
}

// TestProcessSelf reads this test process from the real /proc.
func TestProcessSelf(t *testing.T) {
	p := FS{Root: "/proc"}.Process(os.Getpid())
	exe, _ := os.Executable()
	if p.Exe != exe || p.PPID != os.Getppid() || p.UID != os.Getuid() || p.EUID != os.Geteuid() || len(p.Args) == 0 || p.Args[0] != os.Args[0] {
		t.Errorf("Process(self) = %+v", p)
	}
	if p.StdioSocket {
		t.Errorf("test stdio taken for a socket")
	}
}
