package agent

import (
	"strings"
	"testing"
)

func TestOSName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"NAME=Flatcar\nVERSION_ID=3975.2.0\n", "Flatcar 3975.2.0"},
		{"# comment\nPRETTY_NAME='Ubuntu 24.04 LTS'\n", "Ubuntu 24.04 LTS"},
		{"garbage without equals\n", ""},
		{"", ""},
	} {
		if got := osName([]byte(tc.in)); got != tc.want {
			t.Errorf("osName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzOSName: any os-release content gives one line of text, never a
// panic (the fact is shown in the inventory).
func FuzzOSName(f *testing.F) {
	f.Add([]byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"))
	f.Add([]byte("NAME=x\nVERSION_ID=1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := osName(b); strings.ContainsAny(s, "\n") {
			t.Errorf("osName gave %q", s)
		}
	})
}
