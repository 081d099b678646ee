package k8sbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// layout is where one distribution keeps the files the node checks read;
// the paths are those kube-bench's cfg/config.yaml and the distributions'
// CIS guides name.
type layout struct {
	Name      string
	Manifests map[Component][]string
	Files     map[FileRole][]string
}

var kubeadmLayout = layout{
	Name: "kubeadm",
	Manifests: map[Component][]string{
		APIServer:         {"/etc/kubernetes/manifests/kube-apiserver.yaml", "/etc/kubernetes/manifests/kube-apiserver.yml", "/etc/kubernetes/manifests/kube-apiserver.manifest"},
		ControllerManager: {"/etc/kubernetes/manifests/kube-controller-manager.yaml", "/etc/kubernetes/manifests/kube-controller-manager.yml", "/etc/kubernetes/manifests/kube-controller-manager.manifest"},
		Scheduler:         {"/etc/kubernetes/manifests/kube-scheduler.yaml", "/etc/kubernetes/manifests/kube-scheduler.yml", "/etc/kubernetes/manifests/kube-scheduler.manifest"},
		Etcd:              {"/etc/kubernetes/manifests/etcd.yaml", "/etc/kubernetes/manifests/etcd.yml", "/etc/kubernetes/manifests/etcd.manifest"},
	},
	Files: map[FileRole][]string{
		FileAdminConf:         {"/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"},
		FileSchedulerConf:     {"/etc/kubernetes/scheduler.conf"},
		FileCMConf:            {"/etc/kubernetes/controller-manager.conf"},
		FilePKI:               {"/etc/kubernetes/pki"},
		FileEtcdDataDir:       {"/var/lib/etcd"},
		FileKubeletService:    {"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", "/etc/systemd/system/kubelet.service", "/lib/systemd/system/kubelet.service", "/usr/lib/systemd/system/kubelet.service"},
		FileKubeletKubeconfig: {"/etc/kubernetes/kubelet.conf"},
		FileKubeletConfig:     {"/var/lib/kubelet/config.yaml"},
		FileClientCA:          {"/etc/kubernetes/pki/ca.crt"},
		FileProxyKubeconfig:   {"/etc/kubernetes/proxy.conf"},
		FileCNI:               {"/etc/cni/net.d"},
	},
}

var rke2Layout = layout{
	Name: "rke2",
	Manifests: map[Component][]string{
		APIServer:         {"/var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml"},
		ControllerManager: {"/var/lib/rancher/rke2/agent/pod-manifests/kube-controller-manager.yaml"},
		Scheduler:         {"/var/lib/rancher/rke2/agent/pod-manifests/kube-scheduler.yaml"},
		Etcd:              {"/var/lib/rancher/rke2/agent/pod-manifests/etcd.yaml"},
	},
	Files: map[FileRole][]string{
		FileAdminConf:         {"/etc/rancher/rke2/rke2.yaml"},
		FileSchedulerConf:     {"/var/lib/rancher/rke2/server/cred/scheduler.kubeconfig"},
		FileCMConf:            {"/var/lib/rancher/rke2/server/cred/controller.kubeconfig"},
		FilePKI:               {"/var/lib/rancher/rke2/server/tls"},
		FileEtcdDataDir:       {"/var/lib/rancher/rke2/server/db/etcd"},
		FileKubeletService:    {"/etc/systemd/system/rke2-server.service", "/usr/local/lib/systemd/system/rke2-server.service", "/etc/systemd/system/rke2-agent.service", "/usr/local/lib/systemd/system/rke2-agent.service"},
		FileKubeletKubeconfig: {"/var/lib/rancher/rke2/agent/kubelet.kubeconfig"},
		FileClientCA:          {"/var/lib/rancher/rke2/agent/client-ca.crt"},
		FileProxyKubeconfig:   {"/var/lib/rancher/rke2/agent/kubeproxy.kubeconfig"},
		FileCNI:               {"/etc/cni/net.d"},
	},
}

// k3s runs every component inside one "k3s server" process: there are no
// manifests, and the components' flags are k3s's (see collectK3s).
var k3sLayout = layout{
	Name: "k3s",
	Files: map[FileRole][]string{
		FileAdminConf:         {"/etc/rancher/k3s/k3s.yaml"},
		FileSchedulerConf:     {"/var/lib/rancher/k3s/server/cred/scheduler.kubeconfig"},
		FileCMConf:            {"/var/lib/rancher/k3s/server/cred/controller.kubeconfig"},
		FilePKI:               {"/var/lib/rancher/k3s/server/tls"},
		FileEtcdDataDir:       {"/var/lib/rancher/k3s/server/db/etcd"},
		FileKubeletService:    {"/etc/systemd/system/k3s.service", "/etc/systemd/system/k3s-agent.service"},
		FileKubeletKubeconfig: {"/var/lib/rancher/k3s/agent/kubelet.kubeconfig"},
		FileClientCA:          {"/var/lib/rancher/k3s/agent/client-ca.crt"},
		FileProxyKubeconfig:   {"/var/lib/rancher/k3s/agent/kubeproxy.kubeconfig"},
		FileCNI:               {"/var/lib/rancher/k3s/agent/etc/cni/net.d"},
	},
}

// NodeOptions configure CollectNode.
type NodeOptions struct {
	// Root is where the host's filesystem is mounted ("/" on the host).
	Root string
	// Proc is the host's /proc (default Root/proc). Entries may be symlinks
	// to /proc/<pid> (tests pick their own processes that way).
	Proc string
	// Name is the node's name for the report (default: the host name).
	Name   string
	Logger *slog.Logger
}

// nodeFS reads host files through os.Root, so no path or symlink in the
// host tree reaches outside it.
type nodeFS struct {
	root   *os.Root
	owners map[int]string
	groups map[int]string
}

// CollectNode gathers the node's facts. It fails only when the root cannot
// be opened; a file or process that cannot be read leaves its part empty
// and the checks say what is missing.
func CollectNode(ctx context.Context, o NodeOptions) (*Node, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Proc == "" {
		o.Proc = filepath.Join(o.Root, "proc")
	}
	r, err := os.OpenRoot(o.Root)
	if err != nil {
		return nil, fmt.Errorf("open host root %s: %w", o.Root, err)
	}
	defer r.Close()
	h := &nodeFS{root: r}
	h.owners = h.idNames("/etc/passwd")
	h.groups = h.idNames("/etc/group")

	n := &Node{Root: o.Root, Name: o.Name, Procs: map[Component]*Proc{}, Files: map[FileRole]Files{}}
	if n.Name == "" {
		if b, err := h.read("/etc/hostname"); err == nil {
			n.Name = strings.TrimSpace(string(b))
		}
		if n.Name == "" {
			n.Name, _ = os.Hostname()
		}
	}
	lay := kubeadmLayout
	switch {
	case h.exists("/var/lib/rancher/rke2") || h.exists("/etc/rancher/rke2"):
		lay = rke2Layout
	case h.exists("/var/lib/rancher/k3s") || h.exists("/etc/rancher/k3s"):
		lay = k3sLayout
	}
	n.Layout = lay.Name

	if err := collectProcs(ctx, o.Proc, n, log); err != nil {
		n.ProcError = err.Error()
		log.Warn("reading processes", "proc", o.Proc, "err", err)
	}
	if lay.Name == "k3s" {
		h.collectK3s(n)
	}
	// A component not running here (or a /proc we cannot see) is read from
	// its static pod manifest, as the kubelet would start it.
	for _, c := range []Component{APIServer, ControllerManager, Scheduler, Etcd} {
		if n.Procs[c] != nil {
			continue
		}
		for _, p := range lay.Manifests[c] {
			b, err := h.read(p)
			if err != nil {
				continue
			}
			args, err := ParseManifestArgs(b)
			if err != nil {
				log.Warn("static pod manifest", "path", p, "err", err)
				continue
			}
			n.Procs[c] = newProc(c, 0, "manifest "+p, args)
			break
		}
	}

	files := map[FileRole][]string{}
	for role, ps := range lay.Files {
		files[role] = ps
	}
	for c, role := range map[Component]FileRole{APIServer: FileAPIServerManifest, ControllerManager: FileCMManifest, Scheduler: FileSchedulerManifest, Etcd: FileEtcdManifest} {
		files[role] = lay.Manifests[c]
	}
	// The components' own flags name their files; they beat the layout.
	flagFile := func(c Component, flag string, role FileRole) {
		if p := n.Procs[c]; p != nil {
			if v, ok := p.Flags.Get(flag); ok && v != "" {
				files[role] = []string{v}
			}
		}
	}
	flagFile(Etcd, "data-dir", FileEtcdDataDir)
	flagFile(Scheduler, "kubeconfig", FileSchedulerConf)
	flagFile(ControllerManager, "kubeconfig", FileCMConf)
	flagFile(Proxy, "kubeconfig", FileProxyKubeconfig)
	flagFile(APIServer, "audit-policy-file", FileAuditPolicy)
	flagFile(APIServer, "encryption-provider-config", FileEncryptionProvider)

	if k := n.Procs[Kubelet]; k != nil {
		var cfg KubeletConfig
		if p, ok := k.Flags.Get("config"); ok && p != "" {
			n.KubeletConfigPath = p
			files[FileKubeletConfig] = []string{p}
			if b, err := h.read(p); err != nil {
				log.Warn("kubelet config", "path", p, "err", err)
			} else if cfg, err = ParseKubeletConfig(b); err != nil {
				log.Warn("kubelet config", "path", p, "err", err)
			}
		}
		n.Kubelet = effectiveKubelet(k.Flags, cfg, n.KubeletConfigPath)
		if s := n.Kubelet["kubeconfig"]; s.Set {
			files[FileKubeletKubeconfig] = []string{s.Value}
		}
		if s := n.Kubelet["client-ca-file"]; s.Set {
			files[FileClientCA] = []string{s.Value}
		}
	}
	if p := n.Procs[Proxy]; p != nil {
		if c, ok := p.Flags.Get("config"); ok && c != "" {
			if b, err := h.read(c); err == nil {
				n.ProxyConfig, _ = ParseKubeletConfig(b)
			}
		}
	}
	for role, ps := range files {
		n.Files[role] = h.statAll(role, ps)
	}
	if fs := n.Files[FileAuditPolicy].Stats; len(fs) > 0 {
		n.AuditPolicy, _ = h.read(fs[0].Path)
	}
	if fs := n.Files[FileEncryptionProvider].Stats; len(fs) > 0 {
		n.EncryptionConfig, _ = h.read(fs[0].Path)
	}
	return n, nil
}

func newProc(c Component, pid int, origin string, args []string) *Proc {
	var rest []string
	if len(args) > 0 {
		rest = args[1:]
	}
	return &Proc{Component: c, PID: pid, Origin: origin, Args: args, Flags: ParseFlags(rest)}
}

// componentOf recognises a command line the way kube-bench's "bins" do:
// the program's base name, or hyperkube's subcommand.
func componentOf(argv []string) (Component, bool) {
	if len(argv) == 0 {
		return "", false
	}
	name := path.Base(argv[0])
	if name == "hyperkube" && len(argv) > 1 {
		name = argv[1]
	}
	switch name {
	case "kube-apiserver", "apiserver":
		return APIServer, true
	case "kube-controller-manager", "controller-manager":
		return ControllerManager, true
	case "kube-scheduler", "scheduler":
		return Scheduler, true
	case "etcd":
		return Etcd, true
	case "kubelet":
		return Kubelet, true
	case "kube-proxy", "proxy":
		return Proxy, true
	}
	return "", false
}

// collectProcs reads every /proc/<pid>/cmdline. When a component runs more
// than once the lowest pid is taken (the oldest, in practice the real one).
func collectProcs(ctx context.Context, procDir string, n *Node, log *slog.Logger) error {
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", procDir, err)
	}
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	for _, pid := range pids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := filepath.Join(procDir, strconv.Itoa(pid))
		b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue // exited, or not ours to read
		}
		argv := ParseCmdline(b)
		c, ok := componentOf(argv)
		if !ok {
			if len(argv) > 1 && path.Base(argv[0]) == "k3s" && (argv[1] == "server" || argv[1] == "agent") && n.Procs[Kubelet] == nil {
				n.Procs["k3s"] = newProc("k3s", pid, "pid "+strconv.Itoa(pid), argv)
			}
			continue
		}
		if n.Procs[c] != nil {
			continue
		}
		if path.Base(argv[0]) == "hyperkube" {
			argv = argv[1:]
		}
		p := newProc(c, pid, "pid "+strconv.Itoa(pid), argv)
		if c == Etcd {
			etcdEnv(filepath.Join(dir, "environ"), p)
		}
		n.Procs[c] = p
		log.Debug("component found", "component", c, "pid", pid)
	}
	return nil
}

// etcdEnv adds etcd's ETCD_* environment variables as the flags they stand
// for (etcd reads both; a flag wins).
func etcdEnv(file string, p *Proc) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	for _, kv := range ParseCmdline(b) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "ETCD_") {
			continue
		}
		flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k, "ETCD_")), "_", "-")
		if _, set := p.Flags[flag]; !set {
			p.Flags.add(flag, v)
		}
	}
}

// collectK3s gives each embedded component the k3s process's component
// arguments from /etc/rancher/k3s/config.yaml ("kube-apiserver-arg" …) and
// its command line. k3s's own built-in defaults are not modelled: a flag
// k3s sets itself and the config does not mention reads as unset.
func (h *nodeFS) collectK3s(n *Node) {
	k := n.Procs["k3s"]
	delete(n.Procs, "k3s")
	if k == nil {
		return
	}
	var cfg KubeletConfig
	if b, err := h.read("/etc/rancher/k3s/config.yaml"); err == nil {
		cfg, _ = ParseKubeletConfig(b)
	}
	keys := map[Component]string{APIServer: "kube-apiserver-arg", ControllerManager: "kube-controller-manager-arg", Scheduler: "kube-scheduler-arg", Etcd: "etcd-arg", Kubelet: "kubelet-arg", Proxy: "kube-proxy-arg"}
	server := len(k.Args) > 1 && k.Args[1] == "server"
	for c, key := range keys {
		if n.Procs[c] != nil || (!server && c != Kubelet && c != Proxy) {
			continue
		}
		var args []string
		if v, ok := cfg[key].([]any); ok {
			for _, a := range v {
				if s, ok := a.(string); ok {
					args = append(args, "--"+strings.TrimLeft(s, "-"))
				}
			}
		}
		for i, a := range k.Args {
			if strings.TrimLeft(a, "-") == key && i+1 < len(k.Args) {
				args = append(args, "--"+strings.TrimLeft(k.Args[i+1], "-"))
			} else if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), key+"="); ok {
				args = append(args, "--"+strings.TrimLeft(v, "-"))
			}
		}
		n.Procs[c] = newProc(c, k.PID, k.Origin+", k3s "+key, append([]string{string(c)}, args...))
	}
}

func (h *nodeFS) rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (h *nodeFS) read(p string) ([]byte, error) {
	b, err := h.root.ReadFile(h.rel(p))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

func (h *nodeFS) exists(p string) bool {
	_, err := h.root.Stat(h.rel(p))
	return err == nil
}

// statAll stats the candidates of one role. Directories holding files
// (PKI, CNI) are walked one level down (PKI two, for pki/etcd).
func (h *nodeFS) statAll(role FileRole, paths []string) Files {
	out := Files{Looked: paths}
	for _, p := range paths {
		st, ok := h.stat(p)
		if !ok {
			continue
		}
		out.Stats = append(out.Stats, st)
		switch role {
		case FilePKI, FileCNI:
			if st.Mode.IsDir() {
				out.Stats = append(out.Stats, h.walk(p, 2)...)
			}
		}
		if role != FileAdminConf && role != FileKubeletService {
			break // the first existing candidate is the one in use
		}
	}
	return out
}

func (h *nodeFS) walk(dir string, depth int) []FileStat {
	if depth == 0 {
		return nil
	}
	f, err := h.root.Open(h.rel(dir))
	if err != nil {
		return nil
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil
	}
	sort.Strings(names)
	var out []FileStat
	for _, name := range names {
		p := path.Join(dir, name)
		st, ok := h.stat(p)
		if !ok {
			continue
		}
		out = append(out, st)
		if st.Mode.IsDir() {
			out = append(out, h.walk(p, depth-1)...)
		}
	}
	return out
}

func (h *nodeFS) stat(p string) (FileStat, bool) {
	fi, err := h.root.Lstat(h.rel(p))
	if err != nil {
		return FileStat{}, false
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// Judge what the link points at, as stat(1) -L in kube-bench does.
		if fi2, err := h.root.Stat(h.rel(p)); err == nil {
			fi = fi2
		}
	}
	st := FileStat{Path: p, Mode: fi.Mode(), UID: -1, GID: -1}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID = int(sys.Uid), int(sys.Gid)
	}
	st.Owner, st.Group = h.name(h.owners, st.UID), h.name(h.groups, st.GID)
	return st, true
}

func (h *nodeFS) name(m map[int]string, id int) string {
	if n, ok := m[id]; ok {
		return n
	}
	return strconv.Itoa(id)
}

// idNames reads name:x:id lines of /etc/passwd or /etc/group.
func (h *nodeFS) idNames(p string) map[int]string {
	out := map[int]string{}
	b, err := h.read(p)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := out[id]; !dup {
				out[id] = f[0]
			}
		}
	}
	return out
}
