package dockerbench

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

// s5Good is a running container that passes every automated section 5
// control (5.7 aside, which can only Warn without exec).
func s5Good(name string) container.InspectResponse {
	pids := int64(64)
	return container.InspectResponse{
		ID:              "0123456789abcdef0123456789abcdef" + name,
		Name:            "/" + name,
		Path:            "/app",
		Args:            []string{"serve"},
		Image:           "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		AppArmorProfile: "docker-default",
		State:           &container.State{Running: true, Status: container.StateRunning, Health: &container.Health{Status: container.Healthy}},
		Config:          &container.Config{Image: "app:1.2", Cmd: []string{"serve"}, Entrypoint: []string{"/app"}},
		HostConfig: &container.HostConfig{
			NetworkMode:    "appnet",
			RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3},
			SecurityOpt:    []string{"label=level:s0:c100,c200", "no-new-privileges"},
			CapDrop:        []string{"ALL"},
			CapAdd:         []string{"NET_BIND_SERVICE"},
			ReadonlyRootfs: true,
			Resources:      container.Resources{Memory: 64 << 20, CPUShares: 512, PidsLimit: &pids},
		},
		Mounts: []container.MountPoint{{Type: mount.TypeVolume, Name: "data", Source: "/var/lib/docker/volumes/data/_data", Destination: "/data", RW: true, Propagation: ""},
			{Type: mount.TypeBind, Source: "/etc/localtime", Destination: "/etc/localtime", Propagation: mount.PropagationRPrivate}},
		NetworkSettings: &container.NetworkSettings{
			Ports:    network.PortMap{network.MustParsePort("8080/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8081"}}},
			Networks: map[string]*network.EndpointSettings{"appnet": {}},
		},
	}
}

func s5Snap(cs ...container.InspectResponse) *Snapshot {
	return &Snapshot{
		Info: &system.Info{
			SecurityOptions: []string{"name=apparmor", "name=seccomp,profile=builtin", "name=selinux"},
			Swarm:           swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		},
		Containers: cs,
	}
}

// s5With returns a snapshot with the good container "good" and a container
// "bad" that is good but for edit.
func s5With(edit func(c *container.InspectResponse)) *Snapshot {
	bad := s5Good("bad")
	edit(&bad)
	return s5Snap(s5Good("good"), bad)
}

func s5HC(edit func(hc *container.HostConfig)) *Snapshot {
	return s5With(func(c *container.InspectResponse) { edit(c.HostConfig) })
}

func s5Control(t *testing.T, id string) Control {
	t.Helper()
	for _, c := range registry {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s not registered", id)
	return Control{}
}

func s5Ports(bs map[string][]network.PortBinding) network.PortMap {
	pm := network.PortMap{}
	for p, b := range bs {
		pm[network.MustParsePort(p)] = b
	}
	return pm
}

func s5Bind(ip, port string) network.PortBinding {
	b := network.PortBinding{HostPort: port}
	if ip != "" {
		b.HostIP = netip.MustParseAddr(ip)
	}
	return b
}

func TestSection5Controls(t *testing.T) {
	pass2 := []string{"2 running containers checked"}
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	tests := []struct {
		id   string
		name string
		snap *Snapshot
		want Status
		ev   []string // exact evidence; nil: not compared
	}{
		{"5.1", "inactive", s5Snap(), Pass, []string{"docker info: Swarm.LocalNodeState=inactive"}},
		{"5.1", "active", func() *Snapshot {
			s := s5Snap()
			s.Info.Swarm.LocalNodeState = swarm.LocalNodeStateActive
			return s
		}(), Fail, []string{"docker info: Swarm.LocalNodeState=active (swarm mode enabled; leave the swarm unless this node needs it)"}},
		{"5.1", "no info", &Snapshot{}, Warn, nil},

		{"5.2", "profile", s5Snap(s5Good("good"), s5Good("other")), Pass, pass2},
		{"5.2", "unconfined", s5With(func(c *container.InspectResponse) { c.AppArmorProfile = "unconfined" }), Fail, []string{"container bad: AppArmorProfile=unconfined"}},
		{"5.2", "empty", s5With(func(c *container.InspectResponse) { c.AppArmorProfile = "" }), Fail, []string{"container bad: AppArmorProfile is empty"}},
		{"5.2", "no apparmor on host", func() *Snapshot {
			s := s5With(func(c *container.InspectResponse) { c.AppArmorProfile = "" })
			s.Info.SecurityOptions = []string{"name=seccomp,profile=builtin"}
			return s
		}(), NotApplicable, []string{"docker info: SecurityOptions lacks name=apparmor (AppArmor not available on this host)"}},

		{"5.3", "label", s5Snap(s5Good("good")), Pass, []string{"1 running container checked"}},
		{"5.3", "no label", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"no-new-privileges"} }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt has no label option [no-new-privileges]"}},
		{"5.3", "label disable", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"label=disable"} }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt has label=disable (SELinux separation disabled)"}},
		{"5.3", "no selinux", func() *Snapshot {
			s := s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = nil })
			s.Info.SecurityOptions = []string{"name=apparmor"}
			return s
		}(), NotApplicable, []string{"docker info: SecurityOptions lacks name=selinux (dockerd runs without SELinux support)"}},

		{"5.4", "default caps only", s5HC(func(hc *container.HostConfig) { hc.CapAdd = []string{"CAP_CHOWN", "kill"} }), Pass, pass2},
		{"5.4", "extra caps", s5HC(func(hc *container.HostConfig) { hc.CapAdd = []string{"NET_ADMIN", "CHOWN", "cap_sys_admin"} }), Fail,
			[]string{"container bad: HostConfig.CapAdd adds NET_ADMIN, SYS_ADMIN"}},
		{"5.4", "all", s5HC(func(hc *container.HostConfig) { hc.CapAdd = []string{"ALL"} }), Fail, []string{"container bad: HostConfig.CapAdd adds ALL"}},

		{"5.5", "unprivileged", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.5", "privileged", s5HC(func(hc *container.HostConfig) { hc.Privileged = true }), Fail, []string{"container bad: HostConfig.Privileged=true"}},

		{"5.6", "harmless binds", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.6", "etc ro and root rw", s5With(func(c *container.InspectResponse) {
			c.Mounts = append(c.Mounts,
				container.MountPoint{Type: mount.TypeBind, Source: "/etc", Destination: "/host-etc", RW: false},
				container.MountPoint{Type: mount.TypeBind, Source: "/", Destination: "/host", RW: true},
				container.MountPoint{Type: mount.TypeVolume, Name: "v", Source: "/var/lib/docker/volumes/v/_data", Destination: "/etc", RW: true})
		}), Fail, []string{"container bad: host /etc bind-mounted at /host-etc (read-only)", "container bad: host / bind-mounted at /host (read-write)"}},

		{"5.7", "no sshd", s5Snap(s5Good("good"), s5Good("x")), Warn, []string{
			"no running container is started with sshd as its command (2 checked)",
			"processes inside containers were not listed (bulwark does not exec into containers); confirm with `docker exec <container> ps -el`"}},
		{"5.7", "sshd", s5With(func(c *container.InspectResponse) { c.Path, c.Args = "/usr/sbin/sshd", []string{"-D"} }), Fail,
			[]string{`container bad: runs sshd (command "/usr/sbin/sshd -D")`}},
		{"5.7", "sshd via shell", s5With(func(c *container.InspectResponse) {
			c.Path, c.Args = "/bin/sh", []string{"-c", "/usr/sbin/sshd -D & exec app"}
		}), Fail,
			[]string{`container bad: runs sshd (command "/bin/sh -c /usr/sbin/sshd -D & exec app")`}},
		{"5.7", "sshd-like name", s5With(func(c *container.InspectResponse) { c.Path = "/bin/sshd_exporter" }), Warn, nil},

		{"5.8", "high ports", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.8", "port 80 and 1024", s5With(func(c *container.InspectResponse) {
			c.NetworkSettings.Ports = s5Ports(map[string][]network.PortBinding{
				"8080/tcp": {s5Bind("0.0.0.0", "80"), s5Bind("::", "80")},
				"9000/tcp": {s5Bind("0.0.0.0", "1024")},
				"9001/udp": nil,
			})
		}), Fail, []string{"container bad: 8080/tcp published on privileged host port 0.0.0.0:80, [::]:80"}},

		{"5.9", "ports listed", s5With(func(c *container.InspectResponse) {
			c.NetworkSettings.Ports = s5Ports(map[string][]network.PortBinding{"8080/tcp": {s5Bind("0.0.0.0", "80")}, "9001/udp": nil})
		}), Info, []string{"container bad: ports 8080/tcp -> 0.0.0.0:80; 9001/udp (not published)", "container good: ports 8080/tcp -> 127.0.0.1:8081"}},
		{"5.9", "none", s5With(func(c *container.InspectResponse) { c.NetworkSettings.Ports = network.PortMap{} }), Info,
			[]string{"container good: ports 8080/tcp -> 127.0.0.1:8081"}},

		{"5.10", "bridge", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.10", "host", s5HC(func(hc *container.HostConfig) { hc.NetworkMode = "host" }), Fail, []string{"container bad: HostConfig.NetworkMode=host"}},

		{"5.11", "limited", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.11", "unlimited", s5HC(func(hc *container.HostConfig) { hc.Memory = 0 }), Fail, []string{"container bad: HostConfig.Memory=0 (no memory limit)"}},

		{"5.12", "shares", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.12", "cpus limit", s5HC(func(hc *container.HostConfig) { hc.CPUShares, hc.NanoCPUs = 0, 500_000_000 }), Pass, pass2},
		{"5.12", "quota", s5HC(func(hc *container.HostConfig) { hc.CPUShares, hc.CPUQuota = 0, 50000 }), Pass, pass2},
		{"5.12", "unset", s5HC(func(hc *container.HostConfig) { hc.CPUShares = 0 }), Fail,
			[]string{"container bad: HostConfig.CpuShares=0 (default weight) and no CPU limit (NanoCpus=0, CpuQuota=0)"}},
		{"5.12", "1024", s5HC(func(hc *container.HostConfig) { hc.CPUShares = 1024 }), Fail,
			[]string{"container bad: HostConfig.CpuShares=1024 (default weight) and no CPU limit (NanoCpus=0, CpuQuota=0)"}},

		{"5.13", "read-only", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.13", "writable", s5HC(func(hc *container.HostConfig) { hc.ReadonlyRootfs = false }), Fail, []string{"container bad: HostConfig.ReadonlyRootfs=false"}},

		{"5.14", "loopback", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.14", "wildcards", s5With(func(c *container.InspectResponse) {
			c.NetworkSettings.Ports = s5Ports(map[string][]network.PortBinding{
				"8080/tcp": {s5Bind("0.0.0.0", "8080"), s5Bind("::", "8080")},
				"9000/tcp": {s5Bind("", "9000")},
				"9001/tcp": {s5Bind("10.0.0.5", "9001")},
			})
		}), Fail, []string{"container bad: 8080/tcp published on all host interfaces (0.0.0.0:8080, [::]:8080)", "container bad: 9000/tcp published on all host interfaces (:9000)"}},

		{"5.15", "on-failure:3", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.15", "no", s5HC(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
		}), Pass, pass2},
		{"5.15", "always", s5HC(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyAlways}
		}), Fail,
			[]string{"container bad: HostConfig.RestartPolicy.Name=always (restarts without limit)"}},
		{"5.15", "unless-stopped", s5HC(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
		}), Fail, []string{"container bad: HostConfig.RestartPolicy.Name=unless-stopped (restarts without limit)"}},
		{"5.15", "on-failure:10", s5HC(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 10}
		}), Fail, []string{"container bad: HostConfig.RestartPolicy=on-failure with MaximumRetryCount=10 (more than 5)"}},
		{"5.15", "on-failure unlimited", s5HC(func(hc *container.HostConfig) {
			hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		}), Fail, []string{"container bad: HostConfig.RestartPolicy=on-failure with MaximumRetryCount=0 (unlimited retries)"}},
		{"5.15", "swarm task", func() *Snapshot {
			s := s5With(func(c *container.InspectResponse) {
				c.Config.Labels = map[string]string{"com.docker.swarm.service.id": "svc1"}
				c.HostConfig.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyDisabled}
			})
			svc := swarm.Service{ID: "svc1"}
			svc.Spec.Name = "web"
			svc.Spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}
			s.SwarmServices = []swarm.Service{svc}
			return s
		}(), Fail, []string{"container bad: swarm service web: TaskTemplate.RestartPolicy.MaxAttempts unset (unlimited restarts)"}},
		{"5.15", "swarm task bounded", func() *Snapshot {
			s := s5With(func(c *container.InspectResponse) {
				c.Config.Labels = map[string]string{"com.docker.swarm.service.id": "svc1"}
			})
			svc := swarm.Service{ID: "svc1"}
			svc.Spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: u64(5)}
			s.SwarmServices = []swarm.Service{svc}
			return s
		}(), Pass, pass2},

		{"5.16", "private", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.16", "host", s5HC(func(hc *container.HostConfig) { hc.PidMode = "host" }), Fail, []string{"container bad: HostConfig.PidMode=host"}},
		{"5.17", "private", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.17", "host", s5HC(func(hc *container.HostConfig) { hc.IpcMode = "host" }), Fail, []string{"container bad: HostConfig.IpcMode=host"}},

		{"5.18", "none", s5Snap(s5Good("good"), s5Good("x")), Info, []string{"no running container has host devices mapped (2 running containers)"}},
		{"5.18", "device", s5HC(func(hc *container.HostConfig) {
			hc.Devices = []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}}
			hc.DeviceRequests = []container.DeviceRequest{{Driver: "nvidia", Count: -1}}
		}), Info, []string{`container bad: device /dev/fuse mapped at /dev/fuse (permissions "rwm")`, "container bad: device request nvidia count -1"}},

		{"5.19", "ulimits", s5HC(func(hc *container.HostConfig) {
			hc.Ulimits = []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}
		}), Info,
			[]string{"container bad: HostConfig.Ulimits overrides nofile=1024:2048", "container good: no ulimit override (daemon defaults apply)"}},

		{"5.20", "private", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.20", "rshared", s5With(func(c *container.InspectResponse) {
			c.Mounts = append(c.Mounts, container.MountPoint{Type: mount.TypeBind, Source: "/mnt", Destination: "/mnt", Propagation: mount.PropagationRShared})
		}), Fail, []string{"container bad: mount /mnt at /mnt has Propagation=rshared"}},

		{"5.21", "private", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.21", "host", s5HC(func(hc *container.HostConfig) { hc.UTSMode = "host" }), Fail, []string{"container bad: HostConfig.UTSMode=host"}},

		{"5.22", "default", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.22", "unconfined", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined") }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt has seccomp=unconfined"}},
		{"5.22", "legacy colon", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"seccomp:unconfined"} }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt has seccomp:unconfined"}},
		{"5.22", "custom profile", s5HC(func(hc *container.HostConfig) {
			hc.SecurityOpt = []string{`seccomp={"defaultAction":"SCMP_ACT_ERRNO"}`}
		}), Pass, pass2},

		{"5.23", "undecidable", s5With(func(c *container.InspectResponse) { c.ExecIDs = []string{"e1"} }), Warn, []string{
			"cannot be decided from the engine: it keeps no history of docker exec options; search the audit log, e.g. `ausearch -k docker | grep exec | grep privileged`",
			"container bad: 1 exec session(s) open (ExecIDs)"}},
		{"5.24", "manual", s5Snap(s5Good("good")), Info, []string{"review docker exec calls in the audit log for --user root / --user 0 (the engine keeps no history of exec options)"}},

		{"5.25", "default", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.25", "custom", s5HC(func(hc *container.HostConfig) { hc.CgroupParent = "/custom" }), Fail,
			[]string{`container bad: HostConfig.CgroupParent="/custom" (confirm this cgroup is intended)`}},

		{"5.26", "set", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.26", "missing", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"label=level:s0"} }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt lacks no-new-privileges"}},
		{"5.26", "false", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"no-new-privileges=false"} }), Fail,
			[]string{"container bad: HostConfig.SecurityOpt lacks no-new-privileges"}},
		{"5.26", "colon true", s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = []string{"no-new-privileges:true"} }), Pass, pass2},
		{"5.26", "daemon default", func() *Snapshot {
			s := s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = nil })
			s.Daemon.Options = map[string][]string{"no-new-privileges": {"true"}}
			return s
		}(), Pass, []string{"dockerd: no-new-privileges enabled for all containers"}},
		{"5.26", "daemon unknown", func() *Snapshot {
			s := s5HC(func(hc *container.HostConfig) { hc.SecurityOpt = nil })
			s.Errors = map[string]string{SourceDaemon: "permission denied"}
			return s
		}(), Warn, []string{"container bad: HostConfig.SecurityOpt lacks no-new-privileges",
			"daemon configuration unavailable (permission denied): cannot tell whether dockerd sets no-new-privileges for all containers"}},

		{"5.27", "healthy", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.27", "unhealthy still checked", s5With(func(c *container.InspectResponse) { c.State.Health.Status = container.Unhealthy }), Pass, pass2},
		{"5.27", "none", s5With(func(c *container.InspectResponse) { c.State.Health = nil }), Fail, []string{"container bad: no health check (State.Health absent)"}},

		{"5.28", "refs", s5With(func(c *container.InspectResponse) { c.Config.Image = "registry:5000/app" }), Info, []string{
			"container bad: image registry:5000/app (sha256:abcdef012345) (no tag: implicitly latest)",
			"container good: image app:1.2 (sha256:abcdef012345)"}},

		{"5.29", "limited", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.29", "nil", s5HC(func(hc *container.HostConfig) { hc.PidsLimit = nil }), Fail, []string{"container bad: HostConfig.PidsLimit not set (unlimited)"}},
		{"5.29", "-1", s5HC(func(hc *container.HostConfig) { hc.PidsLimit = i64(-1) }), Fail, []string{"container bad: HostConfig.PidsLimit=-1 (unlimited)"}},
		{"5.29", "0", s5HC(func(hc *container.HostConfig) { hc.PidsLimit = i64(0) }), Fail, []string{"container bad: HostConfig.PidsLimit=0 (unlimited)"}},

		{"5.30", "user network", s5Snap(s5Good("good")), Info, []string{"no running container is on the default bridge network (1 running containers)"}},
		{"5.30", "bridge", s5With(func(c *container.InspectResponse) {
			c.HostConfig.NetworkMode = "bridge"
			c.NetworkSettings.Networks = map[string]*network.EndpointSettings{"bridge": {}}
		}), Info, []string{"container bad: attached to the default bridge network (bridge, docker0)"}},

		{"5.31", "private", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.31", "host", s5HC(func(hc *container.HostConfig) { hc.UsernsMode = "host" }), Fail, []string{"container bad: HostConfig.UsernsMode=host"}},

		{"5.32", "none", s5Snap(s5Good("good"), s5Good("x")), Pass, pass2},
		{"5.32", "socket", s5With(func(c *container.InspectResponse) {
			c.Mounts = append(c.Mounts, container.MountPoint{Type: mount.TypeBind, Source: "/run/docker.sock", Destination: "/var/run/docker.sock", RW: true})
		}), Fail, []string{"container bad: /run/docker.sock mounted at /var/run/docker.sock (read-write)"}},
		{"5.32", "renamed", s5With(func(c *container.InspectResponse) {
			c.Mounts = append(c.Mounts, container.MountPoint{Type: mount.TypeBind, Source: "/var/run/docker.sock", Destination: "/engine", RW: false})
		}), Fail, []string{"container bad: /var/run/docker.sock mounted at /engine (read-only)"}},
	}
	for _, tc := range tests {
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			c := s5Control(t, tc.id)
			got := evaluate(c, tc.snap)
			if got.Status != tc.want {
				t.Errorf("status %s, want %s; evidence %q", got.Status, tc.want, got.Evidence)
			}
			if tc.ev != nil && !reflect.DeepEqual(got.Evidence, tc.ev) {
				t.Errorf("evidence\n got %q\nwant %q", got.Evidence, tc.ev)
			}
		})
	}
}

// Every automated section 5 control has a passing and a failing case above
// (5.7 and 5.23 aside: they cannot pass without exec or the audit log).
func TestSection5Registry(t *testing.T) {
	manual := map[string]bool{"5.9": true, "5.18": true, "5.19": true, "5.24": true, "5.28": true, "5.30": true}
	level2 := map[string]bool{"5.3": true, "5.23": true, "5.24": true, "5.30": true}
	n := 0
	for _, c := range registry {
		if !strings.HasPrefix(c.ID, "5.") {
			continue
		}
		n++
		if c.Section != "Container Runtime" || c.Automated == manual[c.ID] || (c.Level == 2) != level2[c.ID] {
			t.Errorf("control %s: section %q automated %v level %d", c.ID, c.Section, c.Automated, c.Level)
		}
		if !strings.HasPrefix(c.Title, "Ensure ") || c.Remediation == "" {
			t.Errorf("control %s: title %q remediation %q", c.ID, c.Title, c.Remediation)
		}
		if len(c.Needs) == 0 || c.Needs[len(c.Needs)-1] != SourceContainers && c.ID != "5.1" {
			t.Errorf("control %s: needs %v", c.ID, c.Needs)
		}
	}
	if n != 32 {
		t.Errorf("%d section 5 controls, want 32", n)
	}
	if err := validate(registry); err != nil {
		t.Error(err)
	}
}

// With no running container every per-container control is NotApplicable;
// stopped containers are ignored; an empty or half-filled snapshot never
// panics.
func TestSection5NoRunningContainers(t *testing.T) {
	stopped := s5Good("stopped")
	stopped.State.Running = false
	stopped.HostConfig.Privileged = true
	odd := container.InspectResponse{Name: "/odd"} // no state: not running
	for _, snap := range []*Snapshot{s5Snap(), s5Snap(stopped, odd), {}} {
		for _, c := range registry {
			if !strings.HasPrefix(c.ID, "5.") || c.ID == "5.1" {
				continue
			}
			got := evaluate(c, snap)
			if got.Status != NotApplicable || !reflect.DeepEqual(got.Evidence, []string{"no running containers"}) {
				t.Errorf("control %s: %s %q, want not-applicable", c.ID, got.Status, got.Evidence)
			}
		}
	}
}

func TestSection5NilSafe(t *testing.T) {
	bare := container.InspectResponse{Name: "/bare", State: &container.State{Running: true}}
	for _, snap := range []*Snapshot{{Containers: []container.InspectResponse{bare}}, s5Snap(bare)} {
		for _, c := range registry {
			if !strings.HasPrefix(c.ID, "5.") {
				continue
			}
			if got := evaluate(c, snap); got.Status == Error {
				t.Errorf("control %s on a bare container: %s %q", c.ID, got.Status, got.Evidence)
			}
		}
	}
}

func TestSection5NeedsError(t *testing.T) {
	s := s5Snap(s5Good("good"))
	s.Errors = map[string]string{SourceContainers: "permission denied"}
	got := evaluate(s5Control(t, "5.5"), s)
	if got.Status != Error {
		t.Errorf("5.5 with containers uncollected: %s", got.Status)
	}
}
