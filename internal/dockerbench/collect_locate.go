package dockerbench

// Where the files of the section 1.1 audit controls really are. CIS names
// the paths of Docker's own packages (/usr/bin/dockerd, /run/containerd);
// distributions put them elsewhere (Debian's docker.io: /usr/sbin/dockerd
// and /usr/sbin/runc), and a dockerd that runs its own containerd keeps
// its state under its exec root. A control about a file that is not there
// audits the file that is, or does not apply.

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// locateRule says how to find the file a CIS path stands for, in order:
// the running process's executable, the unit file's ExecStart, the engine's
// runtime table, the CIS path itself, then each distribution's layout.
type locateRule struct {
	CIS     string
	Process string // executable base name of the running process
	Unit    string // systemd unit whose ExecStart starts it
	Runtime string // Info.Runtimes entry naming its path
	Beside  string // found in the same directory as this located CIS path
	Layouts []locateLayout
}

// locateLayout is where one family of packages installs the file.
type locateLayout struct{ Path, Who string }

// locateTable lists every section 1.1 path that packaging moves.
var locateTable = []locateRule{
	{CIS: "/usr/bin/dockerd", Process: "dockerd", Unit: "docker.service", Layouts: []locateLayout{
		{"/usr/bin/dockerd", "Docker's packages, Ubuntu, RHEL family"},
		{"/usr/sbin/dockerd", "Debian's docker.io"},
		{"/usr/local/bin/dockerd", "Docker's static binaries"},
		{"/snap/docker/current/bin/dockerd", "the docker snap"},
	}},
	{CIS: "/usr/bin/containerd", Process: "containerd", Unit: "containerd.service", Layouts: []locateLayout{
		{"/usr/bin/containerd", "Docker's containerd.io, Debian, Ubuntu, RHEL family"},
		{"/usr/local/bin/containerd", "containerd's release archives"},
		{"/snap/docker/current/bin/containerd", "the docker snap"},
	}},
	{CIS: "/usr/bin/containerd-shim", Process: "containerd-shim", Beside: "/usr/bin/containerd", Layouts: []locateLayout{
		{"/usr/bin/containerd-shim", "Docker's containerd.io, Debian, Ubuntu, RHEL family"},
		{"/usr/local/bin/containerd-shim", "containerd's release archives"},
	}},
	{CIS: "/usr/bin/containerd-shim-runc-v1", Process: "containerd-shim-runc-v1", Beside: "/usr/bin/containerd", Layouts: []locateLayout{
		{"/usr/bin/containerd-shim-runc-v1", "Docker's containerd.io, Debian, Ubuntu, RHEL family"},
		{"/usr/local/bin/containerd-shim-runc-v1", "containerd's release archives"},
	}},
	{CIS: "/usr/bin/containerd-shim-runc-v2", Process: "containerd-shim-runc-v2", Beside: "/usr/bin/containerd", Layouts: []locateLayout{
		{"/usr/bin/containerd-shim-runc-v2", "Docker's containerd.io, Debian, Ubuntu, RHEL family"},
		{"/usr/local/bin/containerd-shim-runc-v2", "containerd's release archives"},
	}},
	{CIS: "/usr/bin/runc", Runtime: "runc", Layouts: []locateLayout{
		{"/usr/bin/runc", "Docker's containerd.io, RHEL family"},
		{"/usr/sbin/runc", "Debian's and Ubuntu's runc"},
		{"/usr/local/sbin/runc", "runc built from source"},
		{"/usr/local/bin/runc", "runc's release binaries"},
	}},
}

// locateContainerdState is the CIS path of containerd's state directory
// (1.1.4), found from the running containerd's --state or its config's
// state key.
const locateContainerdState = "/run/containerd"

// Location is where the file a CIS path stands for is on this host.
type Location struct {
	// Path is the host path found ("" when none was); symlinks in it are
	// resolved, as an audit watch follows the inode.
	Path string
	// How says how it was found: "the running dockerd (pid 812)",
	// "docker.service ExecStart", "Debian's docker.io layout".
	How string
	// Tried lists where it was looked for, when it was not found.
	Tried []string
}

// locateProc is one running process of interest.
type locateProc struct {
	pid  int
	argv []string
	exe  string // /proc/<pid>/exe, "" when unreadable
}

// collectLocate fills s.Located. It runs after the engine answered (the
// runtime table, containerd's address) and the unit files were found.
func collectLocate(h *collectHostFS, s *Snapshot, names collectOwners) {
	procs := locateProcs(h)
	s.Located = map[string]Location{}
	for _, r := range locateTable {
		s.Located[r.CIS] = locateOne(h, s, r, procs)
	}
	s.Located[locateContainerdState], s.Located[hostContainerdSocket] = locateContainerd(h, s, procs)
	for _, l := range s.Located {
		if l.Path != "" {
			collectFileChain(h, s, l.Path, names)
		}
	}
}

func locateOne(h *collectHostFS, s *Snapshot, r locateRule, procs map[string][]locateProc) Location {
	var tried []string
	if r.Process != "" {
		for _, p := range procs[r.Process] {
			exe := p.exe
			if exe == "" && path.IsAbs(p.argv[0]) {
				exe = p.argv[0]
			}
			if exe != "" && locateExists(h, exe) {
				return Location{Path: locateCanon(h, exe), How: fmt.Sprintf("the running %s, pid %d", r.Process, p.pid)}
			}
		}
		tried = append(tried, "running processes")
	}
	if r.Unit != "" {
		if u := locateUnit(h, r.Unit); u != "" {
			if b, err := h.readFile(u); err == nil {
				if exe := locateExecStart(b); exe != "" && locateExists(h, exe) {
					return Location{Path: locateCanon(h, exe), How: r.Unit + " ExecStart (" + u + ")"}
				}
			}
		}
		tried = append(tried, r.Unit)
	}
	if r.Runtime != "" && s.Info != nil {
		if rt, ok := s.Info.Runtimes[r.Runtime]; ok && path.IsAbs(rt.Path) && locateExists(h, rt.Path) {
			return Location{Path: locateCanon(h, rt.Path), How: "the engine's " + r.Runtime + " runtime path"}
		}
	}
	if r.Beside != "" {
		if b := s.Located[r.Beside]; b.Path != "" {
			if p := path.Join(path.Dir(b.Path), path.Base(r.CIS)); locateExists(h, p) {
				return Location{Path: locateCanon(h, p), How: "beside " + b.Path}
			}
		}
	}
	for _, l := range r.Layouts {
		if locateExists(h, l.Path) {
			how := l.Who + " layout"
			if l.Path == r.CIS {
				how = locateHowCIS(h, l.Path)
			}
			return Location{Path: locateCanon(h, l.Path), How: how}
		}
		tried = append(tried, l.Path)
	}
	return Location{Tried: tried}
}

// locateContainerd finds containerd's state directory and socket: --state
// (--address) on the running containerd's command line, else the state
// key (the [grpc] address) of its --config file, else containerd's
// defaults (/run/containerd, /run/containerd/containerd.sock) when a
// containerd runs.
func locateContainerd(h *collectHostFS, s *Snapshot, procs map[string][]locateProc) (state, sock Location) {
	want := ""
	if s.Info != nil && s.Info.Containerd != nil {
		want = path.Clean(strings.TrimPrefix(s.Info.Containerd.Address, "unix://"))
	}
	type cand struct {
		loc, sock Location
		addr      string
	}
	var cands []cand
	for _, p := range procs["containerd"] {
		state, cfg, addr := "", "", ""
		for i := 1; i < len(p.argv); i++ {
			a := p.argv[i]
			switch {
			case (a == "--state" || a == "--config" || a == "-c" || a == "--address" || a == "-a") && i+1 < len(p.argv):
				i++
				switch a {
				case "--state":
					state = p.argv[i]
				case "--address", "-a":
					addr = p.argv[i]
				default:
					cfg = p.argv[i]
				}
			case strings.HasPrefix(a, "--state="):
				state = strings.TrimPrefix(a, "--state=")
			case strings.HasPrefix(a, "--config="):
				cfg = strings.TrimPrefix(a, "--config=")
			case strings.HasPrefix(a, "--address="):
				addr = strings.TrimPrefix(a, "--address=")
			}
		}
		how := fmt.Sprintf("--state of the running containerd, pid %d", p.pid)
		if cfg == "" {
			cfg = "/etc/containerd/config.toml"
		}
		if b, err := h.readFile(cfg); err == nil {
			cs, ca := locateContainerdConfig(b)
			if state == "" && cs != "" {
				state, how = cs, fmt.Sprintf("config %s of the running containerd, pid %d", cfg, p.pid)
			}
			if addr == "" {
				addr = ca
			}
		}
		if state == "" {
			state, how = locateContainerdState, fmt.Sprintf("containerd's default, for the running containerd, pid %d", p.pid)
		}
		sockHow := fmt.Sprintf("the socket of the running containerd, pid %d", p.pid)
		if addr == "" {
			addr = hostContainerdSocket
		}
		addr = strings.TrimPrefix(addr, "unix://")
		c := cand{addr: locateCanon(h, addr)}
		if path.IsAbs(state) && locateExists(h, state) {
			c.loc = Location{Path: locateCanon(h, state), How: how}
		}
		if path.IsAbs(addr) && locateExists(h, addr) {
			c.sock = Location{Path: c.addr, How: sockHow}
		}
		if c.loc.Path != "" || c.sock.Path != "" {
			cands = append(cands, c)
		}
	}
	// The containerd dockerd talks to, when several run (Kubernetes' and
	// Docker's own).
	pick := -1
	for i, c := range cands {
		if want != "" && (c.addr == want || c.addr == locateCanon(h, want)) {
			pick = i
			break
		}
	}
	if pick < 0 && len(cands) > 0 {
		pick = 0
	}
	if pick >= 0 {
		state, sock = cands[pick].loc, cands[pick].sock
	}
	if state.Path == "" {
		state = locateFixed(h, locateContainerdState)
	}
	if sock.Path == "" {
		sock = locateFixed(h, hostContainerdSocket)
	}
	return state, sock
}

// locateFixed is the benchmark's own path, when it exists.
func locateFixed(h *collectHostFS, p string) Location {
	if locateExists(h, p) {
		return Location{Path: locateCanon(h, p), How: locateHowCIS(h, p)}
	}
	return Location{Tried: []string{"running containerd processes", p}}
}

// locateHowCIS says the benchmark's path was found, and where it leads
// when it is a symlink (an audit watch on the link does not watch the
// file).
func locateHowCIS(h *collectHostFS, p string) string {
	if c := locateCanon(h, p); c != p {
		return "the benchmark's path, a symlink to " + c
	}
	return "the benchmark's path"
}

var (
	locateStateRE  = regexp.MustCompile(`(?m)^[ \t]*state[ \t]*=[ \t]*["']([^"']+)["']`)
	locateGRPCRE   = regexp.MustCompile(`(?m)^[ \t]*\[grpc\][ \t]*$`)
	locateAddrRE   = regexp.MustCompile(`(?m)^[ \t]*address[ \t]*=[ \t]*["']([^"']+)["']`)
	locateTableRE  = regexp.MustCompile(`(?m)^[ \t]*\[`)
	locateExecRE   = regexp.MustCompile(`(?m)^[ \t]*ExecStart[ \t]*=[ \t]*(.*)$`)
	locateExecPfxs = "-@:+!"
)

// locateContainerdConfig reads the top-level state key and [grpc]
// address of a containerd config.toml (both plain strings; nothing else
// of the file matters here).
func locateContainerdConfig(b []byte) (state, addr string) {
	top := b
	if loc := locateTableRE.FindIndex(b); loc != nil {
		top = b[:loc[0]]
	}
	if m := locateStateRE.FindSubmatch(top); m != nil {
		state = string(m[1])
	}
	if loc := locateGRPCRE.FindIndex(b); loc != nil {
		rest := b[loc[1]:]
		if next := locateTableRE.FindIndex(rest); next != nil {
			rest = rest[:next[0]]
		}
		if m := locateAddrRE.FindSubmatch(rest); m != nil {
			addr = string(m[1])
		}
	}
	return state, addr
}

// locateExecStart is the executable of a unit's last non-empty ExecStart
// (an empty one resets the list in drop-ins), without systemd's prefixes.
func locateExecStart(unit []byte) string {
	exe := ""
	for _, m := range locateExecRE.FindAllSubmatch(unit, -1) {
		f := strings.Fields(string(m[1]))
		if len(f) == 0 {
			exe = ""
			continue
		}
		exe = strings.TrimLeft(f[0], locateExecPfxs)
	}
	if !path.IsAbs(exe) {
		return ""
	}
	return path.Clean(exe)
}

// locateUnit finds a unit file as collectUnits does.
func locateUnit(h *collectHostFS, unit string) string {
	for _, dir := range collectUnitDirs {
		p := path.Join(dir, unit)
		if fi, err := h.stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// locateProcs lists the running processes the rules name, oldest first.
func locateProcs(h *collectHostFS) map[string][]locateProc {
	want := map[string]bool{"containerd": true}
	for _, r := range locateTable {
		if r.Process != "" {
			want[r.Process] = true
		}
	}
	out := map[string][]locateProc{}
	ents, err := h.readDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := h.readFile(path.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		base := path.Base(argv[0])
		if !want[base] {
			continue
		}
		p := locateProc{pid: pid, argv: argv}
		if exe, err := h.readlink(path.Join("/proc", e.Name(), "exe")); err == nil && path.IsAbs(exe) {
			p.exe = path.Clean(strings.TrimSuffix(exe, " (deleted)"))
		}
		out[base] = append(out[base], p)
	}
	for k := range out {
		sort.Slice(out[k], func(i, j int) bool { return out[k][i].pid < out[k][j].pid })
	}
	return out
}

// locateExists reports whether host path p exists (following symlinks).
func locateExists(h *collectHostFS, p string) bool {
	_, err := h.stat(p)
	return err == nil
}

// locateCanon resolves the symlinks of host path p ("/var/run/docker" →
// "/run/docker"); p as it is when that fails.
func locateCanon(h *collectHostFS, p string) string {
	p = path.Clean(p)
	if h.r == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	rel, err := h.resolve(p, true)
	if err != nil {
		return p
	}
	return path.Clean("/" + rel)
}
