package dockerbench

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// collectTestWrite creates host file p under root with its parents.
func collectTestWrite(t testing.TB, root, p, body string, mode fs.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func collectTestLink(t testing.TB, root, p, target string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

// collectTestCmdline writes a fake /proc/<pid>/cmdline.
func collectTestCmdline(t testing.TB, root, pid string, argv ...string) {
	t.Helper()
	collectTestWrite(t, root, "/proc/"+pid+"/cmdline", strings.Join(argv, "\x00")+"\x00", 0o444)
}

// collectTestHost collects only the host side of a crafted root (the
// engine address is dead, so that half fails fast).
func collectTestHost(t testing.TB, root string, o CollectOptions) *Snapshot {
	t.Helper()
	o.Root = root
	if o.Host == "" {
		o.Host = "unix:///nonexistent.sock"
	}
	if o.Auditctl == nil {
		o.Auditctl = func(context.Context) ([]string, error) { return nil, errors.New("no auditctl in tests") }
	}
	return Collect(context.Background(), o)
}

func TestCollectParseDockerdArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string][]string
	}{
		{"bool with value", []string{"--icc=false"}, map[string][]string{"icc": {"false"}}},
		{"bool alone", []string{"--tlsverify", "--live-restore"}, map[string][]string{"tlsverify": {"true"}, "live-restore": {"true"}}},
		{"value separated", []string{"--insecure-registry", "reg:5000", "--insecure-registry=other:5000"},
			map[string][]string{"insecure-registries": {"reg:5000", "other:5000"}}},
		{"hosts short and long", []string{"-H", "fd://", "--host=tcp://0.0.0.0:2376", "-Hunix:///run/x.sock"},
			map[string][]string{"hosts": {"fd://", "tcp://0.0.0.0:2376", "unix:///run/x.sock"}}},
		{"log level and debug", []string{"-l", "debug", "-D"}, map[string][]string{"log-level": {"debug"}, "debug": {"true"}}},
		{"plural keys", []string{"--authorization-plugin=authz", "--default-ulimit", "nofile=100:200", "--storage-opt", "dm.basesize=20G",
			"--log-opt", "max-size=10m"},
			map[string][]string{"authorization-plugins": {"authz"}, "default-ulimits": {"nofile=100:200"},
				"storage-opts": {"dm.basesize=20G"}, "log-opts": {"max-size=10m"}}},
		{"same names", []string{"--userns-remap", "default", "--log-driver=syslog", "--userland-proxy=false", "--no-new-privileges",
			"--seccomp-profile", "/etc/docker/seccomp.json", "--cgroup-parent=/foo", "--experimental", "--iptables=false",
			"--tlscacert=/certs/ca.pem", "--tlscert", "/certs/cert.pem", "--tlskey=/certs/key.pem"},
			map[string][]string{"userns-remap": {"default"}, "log-driver": {"syslog"}, "userland-proxy": {"false"},
				"no-new-privileges": {"true"}, "seccomp-profile": {"/etc/docker/seccomp.json"}, "cgroup-parent": {"/foo"},
				"experimental": {"true"}, "iptables": {"false"}, "tlscacert": {"/certs/ca.pem"}, "tlscert": {"/certs/cert.pem"},
				"tlskey": {"/certs/key.pem"}}},
		{"containerd and positional ignored", []string{"stray", "--containerd=/run/containerd/containerd.sock", "--", "-H", "x"},
			map[string][]string{"containerd": {"/run/containerd/containerd.sock"}}},
		{"unknown switch at end", []string{"--some-new-switch"}, map[string][]string{"some-new-switch": {"true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := collectParseDockerdArgs(tt.args); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCollectDaemonConfig(t *testing.T) {
	const daemonJSON = `{
		"icc": false, "log-level": "info", "live-restore": true, "mtu": 1400,
		"insecure-registries": ["a:5000", "b:5000"], "registry-mirrors": [],
		"log-opts": {"max-size": "10m", "max-file": "3"},
		"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 32000}},
		"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}],
		"userns-remap": null,
		"hosts": ["unix:///var/run/docker.sock"]
	}`
	tests := []struct {
		name      string
		json      string // "" = no daemon.json
		cmdline   []string
		wantOpts  map[string][]string
		wantFound bool
		wantJSON  string // JSONError substring
		wantErr   string // Errors[SourceDaemon] substring
		wantFile  string
	}{
		{name: "file only", json: daemonJSON, wantFound: true, wantFile: "/etc/docker/daemon.json",
			wantOpts: map[string][]string{"icc": {"false"}, "log-level": {"info"}, "live-restore": {"true"}, "mtu": {"1400"},
				"insecure-registries": {"a:5000", "b:5000"}, "registry-mirrors": {}, "log-opts": {"max-file=3", "max-size=10m"},
				"default-ulimits": {"nofile=32000:64000"}, "default-address-pools": {`{"base":"10.10.0.0/16","size":24}`},
				"hosts": {"unix:///var/run/docker.sock"}}},
		{name: "flags win over file", json: `{"icc": true, "log-level": "debug", "storage-driver": "overlay2"}`,
			cmdline:   []string{"/usr/bin/dockerd", "--icc=false", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"},
			wantFound: true, wantFile: "/etc/docker/daemon.json",
			wantOpts: map[string][]string{"icc": {"false"}, "log-level": {"debug"}, "storage-driver": {"overlay2"},
				"hosts": {"fd://"}, "containerd": {"/run/containerd/containerd.sock"}}},
		{name: "process only", cmdline: []string{"/usr/sbin/dockerd", "--userns-remap=default"}, wantFound: true,
			wantOpts: map[string][]string{"userns-remap": {"default"}}},
		{name: "invalid json with process", json: `{"icc": false,}`, cmdline: []string{"dockerd"}, wantFound: true,
			wantFile: "/etc/docker/daemon.json", wantJSON: "/etc/docker/daemon.json: invalid character", wantOpts: map[string][]string{}},
		{name: "invalid json alone", json: `[1, 2]`, wantFound: true, wantFile: "/etc/docker/daemon.json",
			wantJSON: "cannot unmarshal array", wantOpts: map[string][]string{}},
		{name: "neither", wantErr: "no ", wantOpts: map[string][]string{}},
		{name: "config-file flag", cmdline: []string{"dockerd", "--config-file", "/srv/dockerd.json"}, wantFound: true,
			wantFile: "/srv/dockerd.json", wantOpts: map[string][]string{"config-file": {"/srv/dockerd.json"}, "icc": {"false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.json != "" {
				collectTestWrite(t, root, "/etc/docker/daemon.json", tt.json, 0o644)
			}
			if tt.name == "config-file flag" {
				collectTestWrite(t, root, "/srv/dockerd.json", `{"icc": false}`, 0o644)
				collectTestWrite(t, root, "/etc/docker/daemon.json", `{"icc": true}`, 0o644)
			}
			collectTestCmdline(t, root, "1", "/sbin/init")
			collectTestCmdline(t, root, "77", "containerd", "--config", "x")
			if tt.cmdline != nil {
				collectTestCmdline(t, root, "1234", tt.cmdline...)
			}
			os.MkdirAll(filepath.Join(root, "proc/self"), 0o755) // not a pid: ignored
			s := collectTestHost(t, root, CollectOptions{})
			d := s.Daemon
			if d.Found != tt.wantFound || d.File != tt.wantFile {
				t.Errorf("Found=%v File=%q, want %v %q", d.Found, d.File, tt.wantFound, tt.wantFile)
			}
			if !reflect.DeepEqual(d.Options, tt.wantOpts) {
				t.Errorf("Options = %#v\nwant      %#v", d.Options, tt.wantOpts)
			}
			if tt.wantJSON == "" && d.JSONError != "" || tt.wantJSON != "" && !strings.Contains(d.JSONError, tt.wantJSON) {
				t.Errorf("JSONError = %q, want %q", d.JSONError, tt.wantJSON)
			}
			if tt.wantJSON != "" && d.JSON != nil {
				t.Errorf("JSON = %v for invalid file", d.JSON)
			}
			if got := s.Errors[SourceDaemon]; tt.wantErr == "" && got != "" || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Errorf("Errors[daemon-config] = %q, want %q", got, tt.wantErr)
			}
			if tt.cmdline != nil && !reflect.DeepEqual(d.Args, tt.cmdline[1:]) {
				t.Errorf("Args = %q, want %q", d.Args, tt.cmdline[1:])
			}
		})
	}
}

func TestCollectUnits(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  map[string]string
	}{
		{"lib only", func(t *testing.T, root string) {
			collectTestWrite(t, root, "/lib/systemd/system/docker.service", "[Service]\n", 0o644)
			collectTestWrite(t, root, "/lib/systemd/system/docker.socket", "[Socket]\n", 0o644)
		}, map[string]string{"docker.service": "/lib/systemd/system/docker.service", "docker.socket": "/lib/systemd/system/docker.socket"}},
		{"etc overrides usr/lib", func(t *testing.T, root string) {
			collectTestWrite(t, root, "/usr/lib/systemd/system/docker.service", "[Service]\n", 0o644)
			collectTestWrite(t, root, "/etc/systemd/system/docker.service", "[Service]\n", 0o644)
			collectTestWrite(t, root, "/usr/lib/systemd/system/docker.socket", "[Socket]\n", 0o644)
		}, map[string]string{"docker.service": "/etc/systemd/system/docker.service", "docker.socket": "/usr/lib/systemd/system/docker.socket"}},
		{"masked in etc is skipped", func(t *testing.T, root string) {
			collectTestLink(t, root, "/etc/systemd/system/docker.service", "/dev/null")
			collectTestWrite(t, root, "/lib/systemd/system/docker.service", "[Service]\n", 0o644)
		}, map[string]string{"docker.service": "/lib/systemd/system/docker.service"}},
		{"none", func(t *testing.T, root string) {}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			s := collectTestHost(t, root, CollectOptions{})
			if !reflect.DeepEqual(s.Units, tt.want) {
				t.Errorf("Units = %v, want %v", s.Units, tt.want)
			}
			for _, p := range tt.want {
				if f := s.Files[p]; !f.Exists || f.Mode.Perm() != 0o644 {
					t.Errorf("Files[%s] = %+v", p, f)
				}
			}
		})
	}
}

func TestCollectFiles(t *testing.T) {
	root := t.TempDir()
	collectTestWrite(t, root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0o644)
	collectTestWrite(t, root, "/etc/group", "root:x:0:\ndocker:x:999:alice,bob\nalice:x:1000:\n", 0o644)
	collectTestWrite(t, root, "/etc/docker/daemon.json", `{"tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/cert.pem", "tlskey": "relative/key.pem"}`, 0o600)
	collectTestWrite(t, root, "/etc/docker/tls/ca.pem", "ca", 0o444)
	collectTestLink(t, root, "/etc/docker/tls/cert.pem", "cert-v2.pem")
	collectTestWrite(t, root, "/etc/docker/tls/cert-v2.pem", "cert", 0o640)
	collectTestWrite(t, root, "/etc/docker/certs.d/reg.example:5000/ca.crt", "crt", 0o444)
	collectTestWrite(t, root, "/etc/docker/certs.d/reg.example:5000/client.key", "key", 0o600)
	collectTestWrite(t, root, "/etc/default/docker", "DOCKER_OPTS=\n", 0o666)
	// /var/run is an absolute symlink to /run, as on most hosts: it must
	// resolve inside the root.
	collectTestWrite(t, root, "/run/docker.sock", "", 0o660)
	collectTestLink(t, root, "/var/run", "/run")
	collectTestWrite(t, root, "/usr/bin/dockerd", "", 0o755)
	// Escapes: a config path with ".." and an absolute symlink both stay
	// inside the root.
	outside := filepath.Join(filepath.Dir(root), "outside-"+filepath.Base(root))
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(outside) })
	collectTestLink(t, root, "/etc/containerd/config.toml", "../../../../../../../../"+filepath.Base(outside))
	collectTestLink(t, root, "/usr/bin/runc", outside)

	if os.Geteuid() == 0 {
		for p, id := range map[string][2]int{"/etc/default/docker": {1000, 999}, "/run/docker.sock": {0, 999}, "/etc/docker/tls/ca.pem": {4242, 4343}} {
			if err := os.Lchown(filepath.Join(root, p), id[0], id[1]); err != nil {
				t.Fatal(err)
			}
		}
	}

	s := collectTestHost(t, root, CollectOptions{})
	if msg, bad := s.Errors[SourceFiles]; bad {
		t.Errorf("Errors[files] = %q", msg)
	}
	type want struct {
		exists      bool
		mode        fs.FileMode
		user, group string // checked when running as root
		target      string
	}
	wants := map[string]want{
		"/etc/docker":                                     {exists: true, mode: fs.ModeDir | 0o755, user: "root", group: "root"},
		"/etc/docker/daemon.json":                         {exists: true, mode: 0o600, user: "root", group: "root"},
		"/etc/docker/certs.d":                             {exists: true, mode: fs.ModeDir | 0o755},
		"/etc/docker/certs.d/reg.example:5000":            {exists: true, mode: fs.ModeDir | 0o755},
		"/etc/docker/certs.d/reg.example:5000/ca.crt":     {exists: true, mode: 0o444},
		"/etc/docker/certs.d/reg.example:5000/client.key": {exists: true, mode: 0o600},
		"/etc/docker/tls/ca.pem":                          {exists: true, mode: 0o444, user: "4242", group: "4343"},
		"/etc/docker/tls/cert.pem":                        {exists: true, mode: fs.ModeSymlink | 0o777, target: "cert-v2.pem"},
		"/etc/docker/tls/cert-v2.pem":                     {exists: true, mode: 0o640},
		"/etc/default/docker":                             {exists: true, mode: 0o666, user: "alice", group: "docker"},
		"/var/run/docker.sock":                            {exists: true, mode: 0o660, user: "root", group: "docker"},
		"/run/docker.sock":                                {exists: true, mode: 0o660, user: "root", group: "docker"},
		"/usr/bin/dockerd":                                {exists: true, mode: 0o755},
		"/etc/sysconfig/docker":                           {},
		"/run/containerd/containerd.sock":                 {},
		"/var/lib/docker":                                 {},
		"/etc/containerd/config.toml":                     {exists: true, mode: fs.ModeSymlink | 0o777, target: "../../../../../../../../" + filepath.Base(outside)},
		"/" + filepath.Base(outside):                      {}, // the link target, resolved inside the root: absent
		"/usr/bin/runc":                                   {exists: true, mode: fs.ModeSymlink | 0o777, target: outside},
		outside:                                           {}, // ditto
	}
	for p, w := range wants {
		f, ok := s.Files[p]
		if !ok {
			t.Errorf("Files[%s] not collected", p)
			continue
		}
		if f.Exists != w.exists || f.Err != "" || w.exists && f.Mode != w.mode || f.Target != w.target {
			t.Errorf("Files[%s] = %+v (mode %v), want %+v (mode %v)", p, f, f.Mode, w, w.mode)
		}
		if os.Geteuid() == 0 && w.user != "" && (f.User != w.user || f.Group != w.group) {
			t.Errorf("Files[%s] owner %s:%s (%d:%d), want %s:%s", p, f.User, f.Group, f.UID, f.GID, w.user, w.group)
		}
	}
	if _, ok := s.Files["relative/key.pem"]; ok {
		t.Errorf("relative TLS path stat'ed")
	}
	if !reflect.DeepEqual(s.DockerGroup, []string{"alice", "bob"}) {
		t.Errorf("DockerGroup = %v", s.DockerGroup)
	}
}

func TestCollectHostFSResolve(t *testing.T) {
	root := t.TempDir()
	collectTestWrite(t, root, "/a/b/file", "x", 0o644)
	collectTestLink(t, root, "/a/abs", "/a/b")
	collectTestLink(t, root, "/a/up", "../../../../a")
	collectTestLink(t, root, "/loop1", "loop2")
	collectTestLink(t, root, "/loop2", "loop1")
	h, err := collectOpenHostFS(root)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	tests := []struct {
		in     string
		follow bool
		want   string
		err    bool
	}{
		{"/a/b/file", false, "a/b/file", false},
		{"/a/abs/file", false, "a/b/file", false},
		{"/a/up/b/file", true, "a/b/file", false},
		{"/../../a/b/../b/file", false, "a/b/file", false},
		{"/a/abs", false, "a/abs", false},
		{"/a/abs", true, "a/b", false},
		{"/", true, ".", false},
		{"/loop1/x", false, "", true},
		{"/missing/x", false, "", true},
	}
	for _, tt := range tests {
		got, err := h.resolve(tt.in, tt.follow)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("resolve(%q, %v) = %q, %v; want %q (err %v)", tt.in, tt.follow, got, err, tt.want, tt.err)
		}
	}
}

func TestCollectAuditRules(t *testing.T) {
	rulesFile := "## comment\n\n-w /usr/bin/dockerd -k docker\n-w /etc/docker -k docker\n"
	rulesD := "# docker\n-w /usr/bin/dockerd -k docker\n-a exit,always -F path=/run/containerd -F perm=war -k docker\n"
	tests := []struct {
		name     string
		files    bool
		auditctl func(context.Context) ([]string, error)
		want     []string
	}{
		{"auditctl wins", true, func(context.Context) ([]string, error) {
			return []string{"-w /var/lib/docker -p rwxa -k docker", ""}, nil
		}, []string{"-w /var/lib/docker -p rwxa -k docker"}},
		{"auditctl no rules", true, func(context.Context) ([]string, error) { return []string{"No rules", ""}, nil }, []string{}},
		{"auditctl fails: files", true, nil, []string{"-w /usr/bin/dockerd -k docker", "-w /etc/docker -k docker",
			"-a exit,always -F path=/run/containerd -F perm=war -k docker"}},
		{"nothing", false, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.files {
				collectTestWrite(t, root, "/etc/audit/audit.rules", rulesFile, 0o640)
				collectTestWrite(t, root, "/etc/audit/rules.d/10-docker.rules", rulesD, 0o640)
				collectTestWrite(t, root, "/etc/audit/rules.d/README", "-w /not/a/rule", 0o640)
			}
			s := collectTestHost(t, root, CollectOptions{Auditctl: tt.auditctl})
			if !reflect.DeepEqual(s.AuditRules, tt.want) {
				t.Errorf("AuditRules = %q, want %q", s.AuditRules, tt.want)
			}
			if msg, bad := s.Errors[SourceAudit]; bad {
				t.Errorf("Errors[audit] = %q", msg)
			}
		})
	}
}

func TestCollectMountsAndGroup(t *testing.T) {
	root := t.TempDir()
	collectTestWrite(t, root, "/proc/1/mountinfo",
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"+
			"40 22 8:2 / /var/lib/docker rw,nosuid master:3 - xfs /dev/sdb1 rw,attr2\n"+
			`41 22 0:50 / /mnt/with\040space rw - tmpfs tmp\040fs rw`+"\n"+
			"garbage line\n", 0o444)
	s := collectTestHost(t, root, CollectOptions{})
	want := []Mount{
		{MountPoint: "/", Source: "/dev/sda1", FSType: "ext4", Options: "rw,relatime"},
		{MountPoint: "/var/lib/docker", Source: "/dev/sdb1", FSType: "xfs", Options: "rw,nosuid"},
		{MountPoint: "/mnt/with space", Source: "tmp fs", FSType: "tmpfs", Options: "rw"},
	}
	if !reflect.DeepEqual(s.Mounts, want) {
		t.Errorf("Mounts = %+v", s.Mounts)
	}
	// No /etc/group under this root: the group source failed.
	if msg := s.Errors[SourceGroup]; !strings.Contains(msg, "etc/group") {
		t.Errorf("Errors[docker-group] = %q", msg)
	}

	empty := collectTestHost(t, t.TempDir(), CollectOptions{})
	if msg := empty.Errors[SourceMounts]; !strings.Contains(msg, "proc/1/mountinfo") {
		t.Errorf("Errors[mounts] = %q", msg)
	}
}

func TestCollectBadRoot(t *testing.T) {
	s := collectTestHost(t, filepath.Join(t.TempDir(), "nope"), CollectOptions{KnownLatestDocker: "29.1.0"})
	for _, src := range []string{SourceDaemon, SourceFiles, SourceAudit, SourceMounts, SourceGroup} {
		if !strings.Contains(s.Errors[src], "open host root") {
			t.Errorf("Errors[%s] = %q", src, s.Errors[src])
		}
	}
	if s.KnownLatestDocker != "29.1.0" {
		t.Errorf("KnownLatestDocker = %q", s.KnownLatestDocker)
	}
}
