package dockerbench

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
)

const (
	s1Service = "/lib/systemd/system/docker.service"
	s1Socket  = "/lib/systemd/system/docker.socket"
)

// s1AuditPaths maps each audit control to the path it audits in s1Good.
var s1AuditPaths = map[string]string{
	"1.1.3": "/usr/bin/dockerd", "1.1.4": "/run/containerd", "1.1.5": "/var/lib/docker",
	"1.1.6": "/etc/docker", "1.1.7": s1Service, "1.1.8": "/run/containerd/containerd.sock",
	"1.1.9": s1Socket, "1.1.10": "/etc/default/docker", "1.1.11": "/etc/docker/daemon.json",
	"1.1.12": "/etc/containerd/config.toml", "1.1.13": "/etc/sysconfig/docker",
	"1.1.14": "/usr/bin/containerd", "1.1.15": "/usr/bin/containerd-shim",
	"1.1.16": "/usr/bin/containerd-shim-runc-v1", "1.1.17": "/usr/bin/containerd-shim-runc-v2",
	"1.1.18": "/usr/bin/runc",
}

// s1Good is a host that passes every automated section 1 control: data
// root on its own partition, and a watch on every audited path.
func s1Good() *Snapshot {
	s := &Snapshot{
		Info:  &system.Info{DockerRootDir: "/var/lib/docker", OperatingSystem: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-18-amd64", ServerVersion: "26.1.4"},
		Units: map[string]string{"docker.service": s1Service, "docker.socket": s1Socket},
		Files: map[string]FileFacts{},
		Mounts: []Mount{
			{MountPoint: "/", Source: "/dev/sda1", FSType: "ext4"},
			{MountPoint: "/var/lib/docker", Source: "/dev/mapper/vg-docker", FSType: "xfs"},
			{MountPoint: "/var/lib/docker/overlay2/abc/merged", Source: "overlay", FSType: "overlay"},
		},
		DockerGroup: []string{"alice", "bob"},
	}
	for _, p := range s1AuditPaths {
		s.Files[p] = FileFacts{Exists: true, Mode: 0o644}
		s.AuditRules = append(s.AuditRules, "-w "+p+" -p rwxa -k docker")
	}
	return s
}

func s1Control(t *testing.T, id string) Control {
	t.Helper()
	for _, c := range registry {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s not registered", id)
	return Control{}
}

type s1Case struct {
	name   string
	edit   func(s *Snapshot)
	status Status
	ev     []string // exact evidence; nil: not checked
	has    string   // substring of some evidence line; "" not checked
}

func s1Run(t *testing.T, id string, good func() *Snapshot, cases []s1Case) {
	t.Helper()
	c := s1Control(t, id)
	for _, tc := range cases {
		t.Run(id+"/"+tc.name, func(t *testing.T) {
			s := good()
			if tc.edit != nil {
				tc.edit(s)
			}
			res := c.Check(s)
			if res.Status != tc.status {
				t.Errorf("status %s, want %s (evidence %q)", res.Status, tc.status, res.Evidence)
			}
			if tc.ev != nil && !reflect.DeepEqual(res.Evidence, tc.ev) {
				t.Errorf("evidence\n got %q\nwant %q", res.Evidence, tc.ev)
			}
			if tc.has != "" && !strings.Contains(strings.Join(res.Evidence, "\n"), tc.has) {
				t.Errorf("evidence %q lacks %q", res.Evidence, tc.has)
			}
		})
	}
	// Never panic on an empty snapshot.
	c.Check(&Snapshot{})
	c.Check(nil)
}

func TestSection1Registry(t *testing.T) {
	for _, id := range []string{"1.1.1", "1.1.2", "1.2.1", "1.2.2"} {
		c := s1Control(t, id)
		if c.Section != "Host Configuration" || !strings.HasPrefix(c.Title, "Ensure ") {
			t.Errorf("%s: section %q title %q", id, c.Section, c.Title)
		}
	}
	for id := range s1AuditPaths {
		c := s1Control(t, id)
		if !c.Automated || !strings.HasPrefix(c.Title, "Ensure auditing is configured") {
			t.Errorf("%s: automated %v title %q", id, c.Automated, c.Title)
		}
	}
}

func TestCheck1_1_1(t *testing.T) {
	s1Run(t, "1.1.1", s1Good, []s1Case{
		{name: "own partition", status: Pass, ev: []string{"/var/lib/docker is a mount point (xfs /dev/mapper/vg-docker)"}},
		{name: "on root fs", edit: func(s *Snapshot) { s.Mounts = s.Mounts[:1] }, status: Fail,
			ev: []string{"/var/lib/docker is not a separate partition: it is on the / filesystem (ext4 /dev/sda1)"}},
		{name: "custom data root", edit: func(s *Snapshot) { s.Info.DockerRootDir = "/srv/docker" }, status: Fail,
			has: "/srv/docker is not a separate partition"},
		{name: "userns root dir", edit: func(s *Snapshot) {
			s.Info.DockerRootDir = "/var/lib/docker/100000.100000"
			s.Info.SecurityOptions = []string{"name=seccomp,profile=builtin", "name=userns"}
		}, status: Pass, has: "/var/lib/docker is a mount point"},
		{name: "no engine info", edit: func(s *Snapshot) { s.Info = nil }, status: Pass,
			ev: []string{"/var/lib/docker (DockerRootDir unknown, assumed) is a mount point (xfs /dev/mapper/vg-docker)"}},
		{name: "no mount table", edit: func(s *Snapshot) { s.Mounts = nil }, status: Warn},
	})
}

func TestCheck1_1_2(t *testing.T) {
	s1Run(t, "1.1.2", s1Good, []s1Case{
		// Automated in CIS, so scored: members are for a person to confirm.
		{name: "members listed", status: Warn, ev: []string{"2 user(s) have root-equivalent access through the docker group: confirm each is trusted",
			"docker group member: alice", "docker group member: bob"}},
		{name: "empty group", edit: func(s *Snapshot) { s.DockerGroup = nil }, status: Pass, ev: []string{"docker group has no members"}},
	})
}

func TestCheckAuditControls(t *testing.T) {
	for id, p := range s1AuditPaths {
		cases := []s1Case{
			{name: "watched", status: Pass, ev: []string{p + `: audited by rule "-w ` + p + ` -p rwxa -k docker"`}},
			{name: "no rules", edit: func(s *Snapshot) { s.AuditRules = nil }, status: Fail,
				ev: []string{p + ": no audit rule watches it (no audit rules in effect)"}},
			{name: "syscall rule", edit: func(s *Snapshot) {
				s.AuditRules = []string{"-a always,exit -F arch=b64 -S all -F path=" + p + " -F perm=wa -F key=docker"}
			}, status: Pass},
			{name: "never rule", edit: func(s *Snapshot) {
				s.AuditRules = []string{"-a never,exit -F path=" + p}
			}, status: Fail},
			{name: "commented", edit: func(s *Snapshot) { s.AuditRules = []string{"# -w " + p + " -k docker"} }, status: Fail,
				ev: []string{p + ": no audit rule watches it"}},
			{name: "only a longer path", edit: func(s *Snapshot) { s.AuditRules = []string{"-w " + p + "-other -k docker"} }, status: Fail},
			{name: "directory above watched", edit: func(s *Snapshot) {
				s.AuditRules = []string{"-a always,exit -F dir=/ -F perm=wa -k everything"}
			}, status: Pass},
		}
		if id != "1.1.7" && id != "1.1.9" {
			// Where the host keeps the file elsewhere, that file is audited;
			// where it has none, the control does not apply.
			cases = append(cases,
				s1Case{name: "located elsewhere, watched", edit: func(s *Snapshot) {
					s.Located = map[string]Location{p: {Path: "/opt/docker/bin/x", How: "the running x, pid 7"}}
					s.Files["/opt/docker/bin/x"] = FileFacts{Exists: true, Mode: 0o755}
					s.AuditRules = []string{"-w /opt/docker/bin/x -k docker"}
				}, status: Pass, ev: []string{"/opt/docker/bin/x (the running x, pid 7; the benchmark names " + p + `): audited by rule "-w /opt/docker/bin/x -k docker"`}},
				s1Case{name: "located elsewhere, only the benchmark's path watched", edit: func(s *Snapshot) {
					s.Located = map[string]Location{p: {Path: "/opt/docker/bin/x", How: "the running x, pid 7"}}
					s.Files["/opt/docker/bin/x"] = FileFacts{Exists: true, Mode: 0o755}
				}, status: Fail},
				s1Case{name: "nowhere", edit: func(s *Snapshot) {
					s.Located = map[string]Location{p: {Tried: []string{"running processes", "/usr/sbin/x"}}}
				}, status: NotApplicable, ev: []string{p + ": not on this host, nor found elsewhere (looked at running processes, /usr/sbin/x)"}})
		}
		switch id {
		case "1.1.3", "1.1.4":
			// Without locations (not collected) these are checked whether
			// or not the path exists, as docker-bench does.
			cases = append(cases, s1Case{name: "missing path, no rule", edit: func(s *Snapshot) {
				s.Files[p] = FileFacts{Exists: false}
				s.AuditRules = nil
			}, status: Fail, ev: []string{p + ": no audit rule watches it (no audit rules in effect) (path does not exist on this host)"}})
		case "1.1.7", "1.1.9":
			unit := map[string]string{"1.1.7": "docker.service", "1.1.9": "docker.socket"}[id]
			cases = append(cases, s1Case{name: "no unit", edit: func(s *Snapshot) { delete(s.Units, unit) }, status: NotApplicable,
				ev: []string{unit + " unit file not found"}})
		default:
			cases = append(cases,
				s1Case{name: "missing path", edit: func(s *Snapshot) { s.Files[p] = FileFacts{Exists: false} }, status: NotApplicable,
					ev: []string{p + ": path does not exist"}},
				s1Case{name: "not collected, no rule", edit: func(s *Snapshot) { delete(s.Files, p); s.AuditRules = nil }, status: Warn})
		}
		s1Run(t, id, s1Good, cases)
	}
}

func TestAuditRuleCovering(t *testing.T) {
	tests := []struct {
		rule, path string
		want       bool
	}{
		{"-w /etc/docker -p wa -k docker", "/etc/docker/daemon.json", true},
		{"-w /etc/docker/ -p wa -k docker", "/etc/docker", true},
		{"-w /var/lib/docker/volumes -k docker", "/var/lib/docker", false},
		{"-w /usr/bin/containerd-shim-runc-v2 -k docker", "/usr/bin/containerd", false},
		{"-a exit,always -F path=/usr/bin/runc -k docker", "/usr/bin/runc", true},
		{"-a always,exit -F path=/etc/docker -k docker", "/etc/docker/daemon.json", false}, // path= is one inode
		{"-a always,exit -F dir=/etc/docker -k docker", "/etc/docker/daemon.json", true},
		{`-w "/usr/bin/runc" -k docker`, "/usr/bin/runc", true},
		{"-W /usr/bin/runc", "/usr/bin/runc", false},
		{"  ", "/usr/bin/runc", false},
	}
	for _, tt := range tests {
		if _, got := hostAuditCovering([]string{tt.rule}, tt.path); got != tt.want {
			t.Errorf("rule %q covers %s = %v, want %v", tt.rule, tt.path, got, tt.want)
		}
	}
}

func TestCheck1_1_8ContainerdAddress(t *testing.T) {
	s := s1Good()
	s.Info.Containerd = &system.ContainerdInfo{Address: "/var/run/docker/containerd/containerd.sock"}
	s.Files["/var/run/docker/containerd/containerd.sock"] = FileFacts{Exists: true, Mode: fs.ModeSocket | 0o660}
	res := s1Control(t, "1.1.8").Check(s)
	want := []string{"/var/run/docker/containerd/containerd.sock: no audit rule watches it"}
	if res.Status != Fail || !reflect.DeepEqual(res.Evidence, want) {
		t.Errorf("got %s %q, want fail %q", res.Status, res.Evidence, want)
	}
	if got := hostSection1Paths(s); !contains1(got, "/var/run/docker/containerd/containerd.sock") || !contains1(got, s1Service) {
		t.Errorf("hostSection1Paths = %q", got)
	}
}

func contains1(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestCheck1_2(t *testing.T) {
	s1Run(t, "1.2.1", s1Good, []s1Case{
		{name: "host shown", status: Info, ev: []string{"host: Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64; review it against its OS hardening benchmark"}},
	})
	s1Run(t, "1.2.2", s1Good, []s1Case{
		{name: "no known version", status: Info, ev: []string{"running 26.1.4; newest known not configured (--known-docker-version)"}},
		{name: "known version", edit: func(s *Snapshot) {
			s.Version = &system.VersionResponse{Version: "26.1.5"}
			s.KnownLatestDocker = "27.3.1"
		}, status: Info, ev: []string{"running 26.1.5; newest known 27.3.1"}},
	})
}
