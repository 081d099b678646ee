package event

// cloneNewFlags are the CLONE_NEW* flags of unshare(2), clone(2) and
// clone3(2), in the order CloneNamespaces lists them.
var cloneNewFlags = []struct {
	flag uint64
	name string
}{
	{0x10000000, "user"}, {0x00020000, "mnt"}, {0x20000000, "pid"}, {0x40000000, "net"},
	{0x04000000, "uts"}, {0x08000000, "ipc"}, {0x02000000, "cgroup"}, {0x00000080, "time"},
}

// CloneNamespaces names the namespaces that clone flags create
// (Process.Namespaces). CLONE_NEWTIME shares its bit with clone(2)'s exit
// signal: callers pass clone(2) flags without it.
func CloneNamespaces(flags uint64) []string {
	var out []string
	for _, f := range cloneNewFlags {
		if flags&f.flag != 0 {
			out = append(out, f.name)
		}
	}
	return out
}
