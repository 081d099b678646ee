package dockerbench

import (
	"io/fs"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	s3Service = "/lib/systemd/system/docker.service"
	s3Socket  = "/lib/systemd/system/docker.socket"
	s3CA      = "/etc/docker/tls/ca.pem"
	s3Cert    = "/etc/docker/tls/server-cert.pem"
	s3Key     = "/etc/docker/tls/server-key.pem"
	s3RegCA   = "/etc/docker/certs.d/reg.example:5000/ca.crt"
	s3RegCert = "/etc/docker/certs.d/reg.example:5000/client.cert"
	s3RegKey  = "/etc/docker/certs.d/reg.example:5000/client.key"
)

func s3Root(mode fs.FileMode) FileFacts {
	return FileFacts{Exists: true, Mode: mode, UID: 0, GID: 0, User: "root", Group: "root"}
}

// s3Good is a host that passes every section 3 control.
func s3Good() *Snapshot {
	sock := s3Root(fs.ModeSocket | 0o660)
	sock.GID, sock.Group = 998, "docker"
	return &Snapshot{
		Units: map[string]string{"docker.service": s3Service, "docker.socket": s3Socket},
		Daemon: DaemonConfig{Found: true, Options: map[string][]string{
			"tlsverify": {"true"}, "tlscacert": {s3CA}, "tlscert": {s3Cert}, "tlskey": {s3Key},
		}},
		Files: map[string]FileFacts{
			s3Service:                              s3Root(0o644),
			s3Socket:                               s3Root(0o644),
			"/etc/docker":                          s3Root(fs.ModeDir | 0o755),
			"/etc/docker/certs.d":                  s3Root(fs.ModeDir | 0o755),
			"/etc/docker/certs.d/reg.example:5000": s3Root(fs.ModeDir | 0o755),
			s3RegCA:                                s3Root(0o444),
			s3RegCert:                              s3Root(0o444),
			s3RegKey:                               s3Root(0o400),
			s3CA:                                   s3Root(0o444),
			s3Cert:                                 s3Root(0o444),
			s3Key:                                  s3Root(0o400),
			"/var/run/docker.sock":                 sock,
			"/etc/docker/daemon.json":              s3Root(0o644),
			"/etc/default/docker":                  s3Root(0o644),
			"/etc/sysconfig/docker":                {Exists: false},
			"/run/containerd/containerd.sock":      s3Root(fs.ModeSocket | 0o660),
		},
	}
}

func s3Control(t *testing.T, id string) Control {
	t.Helper()
	for _, c := range registry {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s not registered", id)
	return Control{}
}

// s3Set changes one file's facts.
func s3Set(p string, edit func(*FileFacts)) func(*Snapshot) {
	return func(s *Snapshot) {
		f := s.Files[p]
		edit(&f)
		s.Files[p] = f
	}
}

func s3Mode(p string, perm fs.FileMode) func(*Snapshot) {
	return s3Set(p, func(f *FileFacts) { f.Mode = f.Mode.Type() | perm })
}

func s3Owner(p string, uid, gid int, user, group string) func(*Snapshot) {
	return s3Set(p, func(f *FileFacts) { f.UID, f.GID, f.User, f.Group = uid, gid, user, group })
}

func s3Remove(p string) func(*Snapshot) {
	return func(s *Snapshot) { s.Files[p] = FileFacts{Exists: false} }
}

func TestSection3Controls(t *testing.T) {
	tests := []struct {
		id     string
		name   string
		mutate func(*Snapshot)
		want   Status
		ev     []string
	}{
		// 3.1 / 3.2 docker.service
		{"3.1", "good", nil, Pass, []string{s3Service + ": owner 0:0 (root:root)"}},
		{"3.1", "owned by user", s3Owner(s3Service, 1000, 0, "alice", "root"), Fail, []string{s3Service + ": owner 1000:0 (alice:root), want root:root"}},
		{"3.1", "group not root", s3Owner(s3Service, 0, 50, "root", "staff"), Fail, []string{s3Service + ": owner 0:50 (root:staff), want root:root"}},
		{"3.1", "ownership unknown", s3Owner(s3Service, -1, -1, "", ""), Warn, []string{s3Service + ": ownership unknown (not reported by the platform)"}},
		{"3.1", "no unit", func(s *Snapshot) { delete(s.Units, "docker.service") }, NotApplicable, []string{"docker.service unit file not found"}},
		{"3.1", "unit not collected", func(s *Snapshot) { delete(s.Files, s3Service) }, Warn, []string{s3Service + ": not collected"}},
		{"3.1", "stat error", s3Set(s3Service, func(f *FileFacts) { f.Err = "permission denied" }), Warn, []string{s3Service + ": could not stat: permission denied"}},
		{"3.2", "good", nil, Pass, []string{s3Service + ": mode 0644"}},
		{"3.2", "stricter", s3Mode(s3Service, 0o600), Pass, []string{s3Service + ": mode 0600"}},
		{"3.2", "group writable", s3Mode(s3Service, 0o664), Fail, []string{s3Service + ": mode 0664, want 0644 or more restrictive"}},
		{"3.2", "executable", s3Mode(s3Service, 0o555), Fail, []string{s3Service + ": mode 0555, want 0644 or more restrictive"}},
		{"3.2", "setuid", s3Set(s3Service, func(f *FileFacts) { f.Mode |= fs.ModeSetuid }), Fail, []string{s3Service + ": mode 4644, want 0644 or more restrictive"}},
		{"3.2", "symlink to good target", func(s *Snapshot) {
			s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "../../../usr/lib/systemd/system/docker.service"}
			s.Files["/usr/lib/systemd/system/docker.service"] = s3Root(0o644)
		}, Pass, []string{s3Service + " -> /usr/lib/systemd/system/docker.service: mode 0644"}},
		{"3.2", "symlink to bad target", func(s *Snapshot) {
			s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "/opt/docker.service"}
			s.Files["/opt/docker.service"] = s3Root(0o666)
		}, Fail, []string{s3Service + " -> /opt/docker.service: mode 0666, want 0644 or more restrictive"}},
		{"3.2", "symlink target not collected", func(s *Snapshot) {
			s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "/opt/docker.service"}
		}, Warn, []string{s3Service + " -> /opt/docker.service: symlink target not collected"}},
		{"3.2", "dangling symlink", func(s *Snapshot) {
			s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "/opt/docker.service"}
			s.Files["/opt/docker.service"] = FileFacts{}
		}, NotApplicable, []string{s3Service + " not found"}},
		{"3.2", "symlink loop", func(s *Snapshot) {
			s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: s3Service}
		}, Warn, nil}, // evidence checked below: long label
		// 3.3 / 3.4 docker.socket
		{"3.3", "good", nil, Pass, []string{s3Socket + ": owner 0:0 (root:root)"}},
		{"3.3", "bad owner", s3Owner(s3Socket, 0, 1000, "root", "1000"), Fail, []string{s3Socket + ": owner 0:1000 (root:1000), want root:root"}},
		{"3.3", "no unit", func(s *Snapshot) { s.Units = nil }, NotApplicable, []string{"docker.socket unit file not found"}},
		{"3.4", "good", nil, Pass, []string{s3Socket + ": mode 0644"}},
		{"3.4", "world writable", s3Mode(s3Socket, 0o646), Fail, []string{s3Socket + ": mode 0646, want 0644 or more restrictive"}},
		// 3.5 / 3.6 /etc/docker
		{"3.5", "good", nil, Pass, []string{"/etc/docker: owner 0:0 (root:root)"}},
		{"3.5", "bad owner", s3Owner("/etc/docker", 1000, 1000, "alice", "alice"), Fail, []string{"/etc/docker: owner 1000:1000 (alice:alice), want root:root"}},
		{"3.5", "missing", s3Remove("/etc/docker"), NotApplicable, []string{"/etc/docker not found"}},
		{"3.6", "good", nil, Pass, []string{"/etc/docker: mode 0755"}},
		{"3.6", "group writable", s3Mode("/etc/docker", 0o775), Fail, []string{"/etc/docker: mode 0775, want 0755 or more restrictive"}},
		{"3.6", "sticky", s3Set("/etc/docker", func(f *FileFacts) { f.Mode |= fs.ModeSticky }), Fail, []string{"/etc/docker: mode 1755, want 0755 or more restrictive"}},
		// 3.7 / 3.8 certs.d
		{"3.7", "good", nil, Pass, []string{s3RegCA + ": owner 0:0 (root:root)", s3RegCert + ": owner 0:0 (root:root)", s3RegKey + ": owner 0:0 (root:root)"}},
		{"3.7", "key owned by user", s3Owner(s3RegKey, 1000, 0, "alice", "root"), Fail, []string{s3RegKey + ": owner 1000:0 (alice:root), want root:root"}},
		{"3.7", "crt group not root", s3Owner(s3RegCA, 0, 999, "root", "docker"), Fail, []string{s3RegCA + ": owner 0:999 (root:docker), want root:root"}},
		{"3.7", "no certs.d", func(s *Snapshot) {
			for _, p := range []string{"/etc/docker/certs.d/reg.example:5000", s3RegCA, s3RegCert, s3RegKey} {
				delete(s.Files, p)
			}
			s.Files["/etc/docker/certs.d"] = FileFacts{}
		}, NotApplicable, []string{"/etc/docker/certs.d not found"}},
		{"3.7", "empty certs.d", func(s *Snapshot) {
			for _, p := range []string{"/etc/docker/certs.d/reg.example:5000", s3RegCA, s3RegCert, s3RegKey} {
				delete(s.Files, p)
			}
		}, NotApplicable, []string{"no files under /etc/docker/certs.d"}},
		{"3.8", "good", nil, Pass, []string{s3RegCA + ": mode 0444", s3RegCert + ": mode 0444", s3RegKey + ": mode 0400"}},
		{"3.8", "writable cert and key", func(s *Snapshot) {
			s3Mode(s3RegCA, 0o644)(s)
			s3Mode(s3RegKey, 0o600)(s)
		}, Fail, []string{s3RegCA + ": mode 0644, want 0444 or more restrictive", s3RegKey + ": mode 0600, want 0444 or more restrictive"}},
		{"3.8", "symlinked cert, target not collected", func(s *Snapshot) {
			s.Files[s3RegCA] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "/usr/local/share/ca.crt"}
		}, Warn, []string{s3RegCA + " -> /usr/local/share/ca.crt: symlink target not collected"}},
		{"3.8", "fail wins over warn", func(s *Snapshot) {
			s.Files[s3RegCA] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: "/usr/local/share/ca.crt"}
			s3Mode(s3RegKey, 0o644)(s)
		}, Fail, []string{s3RegKey + ": mode 0644, want 0444 or more restrictive", s3RegCA + " -> /usr/local/share/ca.crt: symlink target not collected"}},
		// 3.9 – 3.14 TLS files
		{"3.9", "good", nil, Pass, []string{s3CA + ": owner 0:0 (root:root)"}},
		{"3.9", "bad owner", s3Owner(s3CA, 1000, 1000, "alice", "alice"), Fail, []string{s3CA + ": owner 1000:1000 (alice:alice), want root:root"}},
		{"3.9", "TLS not used", func(s *Snapshot) { s.Daemon.Options = nil }, NotApplicable, []string{"tlscacert not configured and TLS not enabled"}},
		{"3.9", "TLS on, default path", func(s *Snapshot) {
			delete(s.Daemon.Options, "tlscacert")
			s.Files["/root/.docker/ca.pem"] = s3Root(0o444)
		}, Pass, []string{"/root/.docker/ca.pem: owner 0:0 (root:root)"}},
		{"3.9", "TLS on, default path missing", func(s *Snapshot) {
			delete(s.Daemon.Options, "tlscacert")
			s.Files["/root/.docker/ca.pem"] = FileFacts{}
		}, NotApplicable, []string{"/root/.docker/ca.pem not found"}},
		{"3.9", "tlsverify=false", func(s *Snapshot) {
			s.Daemon.Options = map[string][]string{"tlsverify": {"false"}}
		}, NotApplicable, []string{"tlscacert not configured and TLS not enabled"}},
		{"3.9", "relative path", func(s *Snapshot) { s.Daemon.Options["tlscacert"] = []string{"ca.pem"} }, Warn, []string{"tlscacert=ca.pem: relative path, cannot locate the file"}},
		{"3.9", "configured but missing", s3Remove(s3CA), NotApplicable, []string{s3CA + " not found"}},
		{"3.10", "good", nil, Pass, []string{s3CA + ": mode 0444"}},
		{"3.10", "writable", s3Mode(s3CA, 0o644), Fail, []string{s3CA + ": mode 0644, want 0444 or more restrictive"}},
		{"3.11", "good", nil, Pass, []string{s3Cert + ": owner 0:0 (root:root)"}},
		{"3.11", "bad owner", s3Owner(s3Cert, 0, 1000, "root", "alice"), Fail, []string{s3Cert + ": owner 0:1000 (root:alice), want root:root"}},
		{"3.12", "good", nil, Pass, []string{s3Cert + ": mode 0444"}},
		{"3.12", "writable", s3Mode(s3Cert, 0o664), Fail, []string{s3Cert + ": mode 0664, want 0444 or more restrictive"}},
		{"3.13", "good", nil, Pass, []string{s3Key + ": owner 0:0 (root:root)"}},
		{"3.13", "bad owner", s3Owner(s3Key, 1000, 0, "alice", "root"), Fail, []string{s3Key + ": owner 1000:0 (alice:root), want root:root"}},
		{"3.14", "good", nil, Pass, []string{s3Key + ": mode 0400"}},
		{"3.14", "none at all", s3Mode(s3Key, 0), Pass, []string{s3Key + ": mode 0000"}},
		{"3.14", "group readable", s3Mode(s3Key, 0o440), Fail, []string{s3Key + ": mode 0440, want 0400"}},
		{"3.14", "owner writable", s3Mode(s3Key, 0o600), Fail, []string{s3Key + ": mode 0600, want 0400"}},
		// 3.15 / 3.16 docker.sock
		{"3.15", "good", nil, Pass, []string{"/var/run/docker.sock: owner 0:998 (root:docker)"}},
		{"3.15", "root:root is stricter", s3Owner("/var/run/docker.sock", 0, 0, "root", "root"), Pass, []string{"/var/run/docker.sock: owner 0:0 (root:root)"}},
		{"3.15", "other group", s3Owner("/var/run/docker.sock", 0, 100, "root", "users"), Fail, []string{"/var/run/docker.sock: owner 0:100 (root:users), want root:docker"}},
		{"3.15", "other user", s3Owner("/var/run/docker.sock", 1000, 998, "alice", "docker"), Fail, []string{"/var/run/docker.sock: owner 1000:998 (alice:docker), want root:docker"}},
		{"3.15", "group unresolved", s3Owner("/var/run/docker.sock", 0, 998, "root", "998"), Warn, []string{"/var/run/docker.sock: owner 0:998 (root:998): group name not resolved, want root:docker"}},
		{"3.15", "ownership unknown", s3Owner("/var/run/docker.sock", -1, -1, "", ""), Warn, []string{"/var/run/docker.sock: ownership unknown (not reported by the platform)"}},
		{"3.15", "names as numbers", s3Owner("/var/run/docker.sock", 0, 0, "0", "0"), Pass, []string{"/var/run/docker.sock: owner 0:0"}},
		{"3.15", "missing", s3Remove("/var/run/docker.sock"), NotApplicable, []string{"/var/run/docker.sock not found"}},
		{"3.15", "custom socket judged too", func(s *Snapshot) {
			s.Daemon.Options["hosts"] = []string{"fd://", "unix:///srv/docker.sock", "tcp://0.0.0.0:2376"}
			f := s3Root(fs.ModeSocket | 0o660)
			f.GID, f.Group = 1000, "alice"
			s.Files["/srv/docker.sock"] = f
		}, Fail, []string{"/srv/docker.sock: owner 0:1000 (root:alice), want root:docker"}},
		{"3.16", "good", nil, Pass, []string{"/var/run/docker.sock: mode 0660"}},
		{"3.16", "world access", s3Mode("/var/run/docker.sock", 0o666), Fail, []string{"/var/run/docker.sock: mode 0666, want 0660 or more restrictive"}},
		{"3.16", "0607 fails", s3Mode("/var/run/docker.sock", 0o607), Fail, []string{"/var/run/docker.sock: mode 0607, want 0660 or more restrictive"}},
		{"3.16", "only custom socket exists", func(s *Snapshot) {
			s.Daemon.Options["hosts"] = []string{"unix:///srv/docker.sock"}
			s.Files["/var/run/docker.sock"] = FileFacts{}
			s.Files["/srv/docker.sock"] = s3Root(fs.ModeSocket | 0o600)
		}, Pass, []string{"/srv/docker.sock: mode 0600"}},
		// 3.17 / 3.18 daemon.json
		{"3.17", "good", nil, Pass, []string{"/etc/docker/daemon.json: owner 0:0 (root:root)"}},
		{"3.17", "bad owner", s3Owner("/etc/docker/daemon.json", 1000, 1000, "alice", "alice"), Fail, []string{"/etc/docker/daemon.json: owner 1000:1000 (alice:alice), want root:root"}},
		{"3.17", "missing", s3Remove("/etc/docker/daemon.json"), NotApplicable, []string{"/etc/docker/daemon.json not found"}},
		{"3.18", "good", nil, Pass, []string{"/etc/docker/daemon.json: mode 0644"}},
		{"3.18", "world writable", s3Mode("/etc/docker/daemon.json", 0o666), Fail, []string{"/etc/docker/daemon.json: mode 0666, want 0644 or more restrictive"}},
		// 3.19 / 3.20 /etc/default/docker
		{"3.19", "good", nil, Pass, []string{"/etc/default/docker: owner 0:0 (root:root)"}},
		{"3.19", "bad owner", s3Owner("/etc/default/docker", 0, 4, "root", "adm"), Fail, []string{"/etc/default/docker: owner 0:4 (root:adm), want root:root"}},
		{"3.20", "good", nil, Pass, []string{"/etc/default/docker: mode 0644"}},
		{"3.20", "group writable", s3Mode("/etc/default/docker", 0o664), Fail, []string{"/etc/default/docker: mode 0664, want 0644 or more restrictive"}},
		{"3.20", "missing", s3Remove("/etc/default/docker"), NotApplicable, []string{"/etc/default/docker not found"}},
		// 3.21 / 3.22 /etc/sysconfig/docker (absent in the good snapshot)
		{"3.21", "absent", nil, NotApplicable, []string{"/etc/sysconfig/docker not found"}},
		{"3.21", "good", func(s *Snapshot) { s.Files["/etc/sysconfig/docker"] = s3Root(0o640) }, Pass, []string{"/etc/sysconfig/docker: mode 0640"}},
		{"3.21", "world writable", func(s *Snapshot) { s.Files["/etc/sysconfig/docker"] = s3Root(0o666) }, Fail, []string{"/etc/sysconfig/docker: mode 0666, want 0644 or more restrictive"}},
		{"3.22", "absent", nil, NotApplicable, []string{"/etc/sysconfig/docker not found"}},
		{"3.22", "good", func(s *Snapshot) { s.Files["/etc/sysconfig/docker"] = s3Root(0o644) }, Pass, []string{"/etc/sysconfig/docker: owner 0:0 (root:root)"}},
		{"3.22", "bad owner", func(s *Snapshot) {
			f := s3Root(0o644)
			f.UID, f.User = 1000, "alice"
			s.Files["/etc/sysconfig/docker"] = f
		}, Fail, []string{"/etc/sysconfig/docker: owner 1000:0 (alice:root), want root:root"}},
		// 3.23 / 3.24 containerd.sock
		{"3.23", "good", nil, Pass, []string{"/run/containerd/containerd.sock: owner 0:0 (root:root)"}},
		{"3.23", "docker group", s3Owner("/run/containerd/containerd.sock", 0, 998, "root", "docker"), Fail, []string{"/run/containerd/containerd.sock: owner 0:998 (root:docker), want root:root"}},
		{"3.23", "names unresolved", s3Owner("/run/containerd/containerd.sock", 0, 0, "", ""), Pass, []string{"/run/containerd/containerd.sock: owner 0:0"}},
		{"3.24", "good", nil, Pass, []string{"/run/containerd/containerd.sock: mode 0660"}},
		{"3.24", "world access", s3Mode("/run/containerd/containerd.sock", 0o666), Fail, []string{"/run/containerd/containerd.sock: mode 0666, want 0660 or more restrictive"}},
		{"3.24", "missing", s3Remove("/run/containerd/containerd.sock"), NotApplicable, []string{"/run/containerd/containerd.sock not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.name, func(t *testing.T) {
			c := s3Control(t, tt.id)
			s := s3Good()
			if tt.mutate != nil {
				tt.mutate(s)
			}
			got := c.Check(s)
			if got.Status != tt.want {
				t.Fatalf("status = %s, want %s (evidence %q)", got.Status, tt.want, got.Evidence)
			}
			if tt.ev != nil && !reflect.DeepEqual(got.Evidence, tt.ev) {
				t.Errorf("evidence =\n  %q\nwant\n  %q", got.Evidence, tt.ev)
			}
			if len(got.Evidence) == 0 {
				t.Errorf("no evidence")
			}
		})
	}
}

func TestSection3Registry(t *testing.T) {
	level2 := map[string]bool{"3.17": true, "3.18": true, "3.19": true, "3.20": true, "3.21": true, "3.22": true}
	for i := 1; i <= 24; i++ {
		id := "3." + strconv.Itoa(i)
		c := s3Control(t, id)
		wantLevel := 1
		if level2[id] {
			wantLevel = 2
		}
		if c.Section != "Docker Daemon Configuration Files" || !c.Automated || c.Level != wantLevel || c.Title == "" || c.Remediation == "" {
			t.Errorf("%s: bad metadata %+v", id, c)
		}
		if len(c.Needs) == 0 || c.Needs[0] != SourceFiles {
			t.Errorf("%s: Needs = %v, want files first", id, c.Needs)
		}
	}
}

// Every check must survive an empty snapshot without panicking.
func TestSection3EmptySnapshot(t *testing.T) {
	for _, c := range registry {
		if !strings.HasPrefix(c.ID, "3.") {
			continue
		}
		for _, s := range []*Snapshot{{}, nil} {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s panicked on %v snapshot: %v", c.ID, s == nil, p)
					}
				}()
				r := c.Check(s)
				if r.Status == "" {
					t.Errorf("%s: empty status", c.ID)
				}
			}()
		}
	}
}

func TestSection3SymlinkLoop(t *testing.T) {
	s := s3Good()
	s.Files[s3Service] = FileFacts{Exists: true, Mode: fs.ModeSymlink | 0o777, Target: s3Service}
	got := s3Control(t, "3.2").Check(s)
	if got.Status != Warn || len(got.Evidence) != 1 {
		t.Fatalf("got %+v", got)
	}
	if !strings.HasSuffix(got.Evidence[0], ": too many levels of symbolic links") {
		t.Errorf("evidence %q", got.Evidence[0])
	}
}

func TestSection3Paths(t *testing.T) {
	s := s3Good()
	s.Daemon.Options["hosts"] = []string{"unix:///srv/docker.sock"}
	got := filesSection3Paths(s)
	want := []string{"/etc/default/docker", "/etc/docker", "/etc/docker/certs.d", s3CA, s3Cert, s3Key, "/etc/docker/daemon.json",
		"/etc/sysconfig/docker", s3Service, s3Socket, "/run/containerd/containerd.sock", "/srv/docker.sock", "/var/run/docker.sock"}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths =\n %q\nwant\n %q", got, want)
	}
}
