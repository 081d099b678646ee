package event

import (
	"slices"
	"testing"
)

func TestCloneNamespaces(t *testing.T) {
	for _, tt := range []struct {
		flags uint64
		want  []string
	}{
		{0, nil},
		{0x01200011, nil}, // fork: CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD
		{0x10020000, []string{"user", "mnt"}},
		{0x7e020080, []string{"user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"}},
	} {
		if got := CloneNamespaces(tt.flags); !slices.Equal(got, tt.want) {
			t.Errorf("CloneNamespaces(%#x) = %v, want %v", tt.flags, got, tt.want)
		}
	}
}
