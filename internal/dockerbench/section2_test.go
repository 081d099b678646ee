package dockerbench

import (
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/network"
	regtypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

const s2File = "/etc/docker/daemon.json"

// s2Good is a host that passes every automated section 2 control: a
// hardened daemon.json, dockerd started with no flags but -H fd://.
func s2Good() *Snapshot {
	s := &Snapshot{
		Info: &system.Info{
			Driver:             "overlay2",
			LoggingDriver:      "syslog",
			CgroupDriver:       "systemd",
			LiveRestoreEnabled: true,
			SecurityOptions:    []string{"name=apparmor", "name=seccomp,profile=builtin", "name=userns", "name=cgroupns"},
			Plugins:            system.PluginsInfo{Authorization: []string{"authz-broker"}},
			RegistryConfig: &regtypes.ServiceConfig{
				InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
				IndexConfigs:          map[string]*regtypes.IndexInfo{"docker.io": {Name: "docker.io", Secure: true, Official: true}},
			},
		},
		Networks: []network.Inspect{{Network: network.Network{Name: "bridge", Driver: "bridge", Options: map[string]string{
			"com.docker.network.bridge.default_bridge": "true", hostICCOption: "false",
		}}}},
		Daemon: DaemonConfig{Found: true, File: s2File, JSON: map[string]any{}, Args: []string{"-H", "fd://"},
			Options: map[string][]string{"hosts": {"fd://"}}},
	}
	s2JSON(s, "icc", false)
	s2JSON(s, "log-level", "info")
	s2JSON(s, "no-new-privileges", true)
	s2JSON(s, "userland-proxy", false)
	s2JSON(s, "live-restore", true)
	s2JSON(s, "userns-remap", "default")
	s2JSON(s, "authorization-plugins", []any{"authz-broker"})
	s2JSON(s, "log-driver", "syslog")
	return s
}

// s2JSON sets a daemon.json key and the merged option the collector
// derives from it.
func s2JSON(s *Snapshot, key string, v any) {
	s.Daemon.JSON[key] = v
	switch t := v.(type) {
	case bool:
		s.Daemon.Options[key] = []string{map[bool]string{true: "true", false: "false"}[t]}
	case string:
		s.Daemon.Options[key] = []string{t}
	case []any:
		var vals []string
		for _, e := range t {
			vals = append(vals, e.(string))
		}
		s.Daemon.Options[key] = vals
	}
}

// s2Flag adds a dockerd flag "--key=value" and its merged option.
func s2Flag(s *Snapshot, key string, vals ...string) {
	for _, v := range vals {
		s.Daemon.Args = append(s.Daemon.Args, "--"+key+"="+v)
	}
	delete(s.Daemon.JSON, key)
	s.Daemon.Options[key] = vals
}

func s2Unset(s *Snapshot, key string) {
	delete(s.Daemon.JSON, key)
	delete(s.Daemon.Options, key)
}

// s2OptionControls read Daemon.Options and so stop on an invalid daemon.json.
var s2OptionControls = []string{"2.3", "2.4", "2.7", "2.8", "2.10", "2.11", "2.14", "2.16", "2.17"}

func TestSection2DaemonGate(t *testing.T) {
	for _, id := range append(s2OptionControls, "2.2") {
		s1Run(t, id, s2Good, []s1Case{
			{name: "invalid daemon.json", edit: func(s *Snapshot) {
				s.Networks = nil
				s.Daemon.JSON, s.Daemon.Options = nil, map[string][]string{}
				s.Daemon.JSONError = s2File + ": invalid character '}' looking for beginning of object key string"
			}, status: Warn, ev: []string{s2File + " is not valid JSON: invalid character '}' looking for beginning of object key string"}},
			{name: "no configuration", edit: func(s *Snapshot) {
				s.Networks = nil
				s.Daemon = DaemonConfig{}
			}, status: Warn, ev: []string{"dockerd configuration not found: no daemon.json and no dockerd command line visible"}},
		})
	}
}

func TestCheck2_1(t *testing.T) {
	s1Run(t, "2.1", s2Good, []s1Case{
		{name: "root", status: Info, ev: []string{"daemon runs as root (no name=rootless in Info.SecurityOptions)"}},
		{name: "rootless", edit: func(s *Snapshot) { s.Info.SecurityOptions = []string{"name=seccomp,profile=builtin", "name=rootless"} },
			status: Info, ev: []string{"daemon runs rootless (Info.SecurityOptions: name=rootless)"}},
	})
}

func TestCheck2_2(t *testing.T) {
	noNetworks := func(s *Snapshot) { s.Networks = nil; s.Errors = map[string]string{SourceNetworks: "permission denied"} }
	s1Run(t, "2.2", s2Good, []s1Case{
		{name: "bridge icc off", status: Pass, ev: []string{"network bridge: com.docker.network.bridge.enable_icc=false"}},
		{name: "bridge icc on", edit: func(s *Snapshot) { s.Networks[0].Options[hostICCOption] = "true" }, status: Fail,
			ev: []string{"network bridge: com.docker.network.bridge.enable_icc=true"}},
		{name: "bridge icc option missing", edit: func(s *Snapshot) { delete(s.Networks[0].Options, hostICCOption) }, status: Fail,
			ev: []string{"network bridge: com.docker.network.bridge.enable_icc not set (default true)"}},
		{name: "no bridge network, bridge none", edit: func(s *Snapshot) {
			s.Networks = []network.Inspect{{Network: network.Network{Name: "host", Driver: "host"}}}
			s2JSON(s, "bridge", "none")
		}, status: NotApplicable, ev: []string{`default bridge disabled: /etc/docker/daemon.json: "bridge": "none"`}},
		{name: "networks missing, daemon.json icc false", edit: noNetworks, status: Pass, ev: []string{`/etc/docker/daemon.json: "icc": false`}},
		{name: "networks missing, icc unset", edit: func(s *Snapshot) { noNetworks(s); s2Unset(s, "icc") }, status: Fail,
			ev: []string{`/etc/docker/daemon.json: "icc" not set, nor --icc on the dockerd command line (default true)`}},
		{name: "networks missing, --icc=true", edit: func(s *Snapshot) { noNetworks(s); s2Flag(s, "icc", "true") }, status: Fail,
			ev: []string{"dockerd --icc=true"}},
		{name: "nothing collected", edit: func(s *Snapshot) {
			noNetworks(s)
			s.Errors[SourceDaemon] = "no dockerd"
		}, status: Error, ev: []string{"could not evaluate: networks: permission denied", "could not evaluate: daemon-config: no dockerd"}},
	})
}

func TestCheck2_3(t *testing.T) {
	s1Run(t, "2.3", s2Good, []s1Case{
		{name: "info", status: Pass, ev: []string{`/etc/docker/daemon.json: "log-level": "info"`}},
		{name: "unset", edit: func(s *Snapshot) { s2Unset(s, "log-level") }, status: Pass,
			ev: []string{`/etc/docker/daemon.json: "log-level" not set, nor --log-level on the dockerd command line (default info)`}},
		{name: "debug level", edit: func(s *Snapshot) { s2JSON(s, "log-level", "debug") }, status: Fail,
			ev: []string{`/etc/docker/daemon.json: "log-level": "debug"`}},
		{name: "-l warn flag", edit: func(s *Snapshot) {
			s2Unset(s, "log-level")
			s.Daemon.Args = append(s.Daemon.Args, "-l", "warn")
			s.Daemon.Options["log-level"] = []string{"warn"}
		}, status: Fail, ev: []string{"dockerd --log-level=warn"}},
		{name: "debug mode", edit: func(s *Snapshot) { s2JSON(s, "debug", true) }, status: Fail,
			ev: []string{`/etc/docker/daemon.json: "debug": true (debug mode logs at debug level)`}},
		{name: "engine in debug mode", edit: func(s *Snapshot) { s.Info.Debug = true }, status: Fail,
			ev: []string{"Info.Debug=true (daemon runs in debug mode)"}},
	})
}

func TestCheck2_4(t *testing.T) {
	s1Run(t, "2.4", s2Good, []s1Case{
		{name: "unset", status: Pass, ev: []string{`/etc/docker/daemon.json: "iptables" not set, nor --iptables on the dockerd command line (default true)`}},
		{name: "false", edit: func(s *Snapshot) { s2JSON(s, "iptables", false) }, status: Fail, ev: []string{`/etc/docker/daemon.json: "iptables": false`}},
		{name: "flag false", edit: func(s *Snapshot) { s2Flag(s, "iptables", "false") }, status: Fail, ev: []string{"dockerd --iptables=false"}},
	})
}

func TestCheck2_5(t *testing.T) {
	s1Run(t, "2.5", s2Good, []s1Case{
		{name: "loopback only", status: Pass, ev: []string{"no insecure registries besides loopback (Info.RegistryConfig)"}},
		{name: "insecure", edit: func(s *Snapshot) {
			rc := s.Info.RegistryConfig
			rc.InsecureRegistryCIDRs = append(rc.InsecureRegistryCIDRs, netip.MustParsePrefix("10.0.0.0/8"))
			rc.IndexConfigs["registry.local:5000"] = &regtypes.IndexInfo{Name: "registry.local:5000"}
		}, status: Fail, ev: []string{
			"Info.RegistryConfig.InsecureRegistryCIDRs: 10.0.0.0/8",
			`Info.RegistryConfig.IndexConfigs["registry.local:5000"].Secure=false`,
		}},
		{name: "no engine, daemon.json", edit: func(s *Snapshot) {
			s.Info = nil
			s2JSON(s, "insecure-registries", []any{"127.0.0.0/8", "registry.local:5000"})
		}, status: Fail, ev: []string{`/etc/docker/daemon.json: "insecure-registries" includes "registry.local:5000"`}},
		{name: "no engine, none set", edit: func(s *Snapshot) { s.Info = nil }, status: Pass},
	})
}

func TestCheck2_6(t *testing.T) {
	s1Run(t, "2.6", s2Good, []s1Case{
		{name: "overlay2", status: Pass, ev: []string{"Info.Driver=overlay2"}},
		{name: "aufs", edit: func(s *Snapshot) { s.Info.Driver = "aufs" }, status: Fail, ev: []string{"Info.Driver=aufs"}},
	})
}

func TestCheck2_7(t *testing.T) {
	tcp := func(s *Snapshot) {
		s.Daemon.Args = append(s.Daemon.Args, "-H", "tcp://0.0.0.0:2376")
		s.Daemon.Options["hosts"] = []string{"fd://", "tcp://0.0.0.0:2376"}
	}
	certs := func(s *Snapshot) {
		s2JSON(s, "tlscacert", "/etc/docker/tls/ca.pem")
		s2JSON(s, "tlscert", "/etc/docker/tls/cert.pem")
		s2JSON(s, "tlskey", "/etc/docker/tls/key.pem")
	}
	s1Run(t, "2.7", s2Good, []s1Case{
		{name: "unix only", status: NotApplicable, ev: []string{"dockerd does not listen on TCP (hosts: fd://)"}},
		{name: "tlsverify with certs", edit: func(s *Snapshot) { tcp(s); certs(s); s2JSON(s, "tlsverify", true) }, status: Pass,
			ev: []string{"dockerd listens on tcp://0.0.0.0:2376 with tlsverify (tlscacert=/etc/docker/tls/ca.pem, tlscert=/etc/docker/tls/cert.pem, tlskey=/etc/docker/tls/key.pem)"}},
		{name: "no TLS", edit: tcp, status: Fail, ev: []string{"dockerd listens on tcp://0.0.0.0:2376 without TLS"}},
		{name: "bare host:port", edit: func(s *Snapshot) { s.Daemon.Options["hosts"] = []string{"0.0.0.0:2375"} }, status: Fail,
			ev: []string{"dockerd listens on 0.0.0.0:2375 without TLS"}},
		{name: "TLS without verify", edit: func(s *Snapshot) { tcp(s); certs(s); s2Flag(s, "tls", "true") }, status: Fail,
			ev: []string{"dockerd listens on tcp://0.0.0.0:2376 with TLS but without client certificate verification (tlsverify not set)"}},
		{name: "tlsverify false", edit: func(s *Snapshot) { tcp(s); certs(s); s2JSON(s, "tlsverify", false) }, status: Fail},
		{name: "tlsverify, default cert paths", edit: func(s *Snapshot) {
			tcp(s)
			s2Flag(s, "tlsverify", "true")
			s2JSON(s, "tlscacert", "/etc/docker/tls/ca.pem")
		}, status: Warn,
			ev: []string{
				`"tlscert" not set: dockerd falls back to /root/.docker/cert.pem; set it explicitly`,
				`"tlskey" not set: dockerd falls back to /root/.docker/key.pem; set it explicitly`,
			}},
	})
}

func TestCheck2_8(t *testing.T) {
	s1Run(t, "2.8", s2Good, []s1Case{
		{name: "unset", status: Info, ev: []string{`/etc/docker/daemon.json: "default-ulimits" not set, nor --default-ulimit on the dockerd command line: containers inherit dockerd's own limits`}},
		{name: "set", edit: func(s *Snapshot) {
			s.Daemon.JSON["default-ulimits"] = map[string]any{"nofile": map[string]any{"Name": "nofile", "Soft": 1024, "Hard": 4096}}
			s.Daemon.Options["default-ulimits"] = []string{"nofile=1024:4096"}
		}, status: Info, ev: []string{`/etc/docker/daemon.json: "default-ulimits" includes "nofile=1024:4096"`}},
	})
}

func TestCheck2_9(t *testing.T) {
	s1Run(t, "2.9", s2Good, []s1Case{
		{name: "userns", status: Pass, ev: []string{"Info.SecurityOptions: name=userns"}},
		{name: "off", edit: func(s *Snapshot) {
			s.Info.SecurityOptions = []string{"name=seccomp,profile=builtin"}
			s2Unset(s, "userns-remap")
		}, status: Fail,
			ev: []string{"Info.SecurityOptions has no name=userns: user namespace remapping is off"}},
		{name: "rootless", edit: func(s *Snapshot) { s.Info.SecurityOptions = []string{"name=seccomp,profile=builtin", "name=rootless"} }, status: Pass,
			ev: []string{"daemon runs rootless (Info.SecurityOptions: name=rootless)"}},
		{name: "no engine, userns-remap set", edit: func(s *Snapshot) { s.Info = nil }, status: Pass, ev: []string{`/etc/docker/daemon.json: "userns-remap": "default"`}},
		{name: "no engine, unset", edit: func(s *Snapshot) { s.Info = nil; s2Unset(s, "userns-remap") }, status: Fail},
	})
}

func TestCheck2_10(t *testing.T) {
	s1Run(t, "2.10", s2Good, []s1Case{
		{name: "default", status: Pass, ev: []string{`/etc/docker/daemon.json: "cgroup-parent" not set, nor --cgroup-parent on the dockerd command line (default system.slice)`}},
		{name: "custom", edit: func(s *Snapshot) { s2JSON(s, "cgroup-parent", "/batch") }, status: Warn,
			ev: []string{`/etc/docker/daemon.json: "cgroup-parent": "/batch": confirm this cgroup is intended`}},
	})
}

func TestCheck2_11(t *testing.T) {
	s1Run(t, "2.11", s2Good, []s1Case{
		{name: "unset", status: Pass},
		{name: "other opts", edit: func(s *Snapshot) { s2JSON(s, "storage-opts", []any{"overlay2.size=10G"}) }, status: Pass,
			ev: []string{"no dm.basesize in storage-opts (overlay2.size=10G)"}},
		{name: "basesize", edit: func(s *Snapshot) {
			s.Daemon.Args = append(s.Daemon.Args, "--storage-opt", "dm.basesize=50G")
			s.Daemon.Options["storage-opts"] = []string{"dm.basesize=50G"}
		}, status: Fail,
			ev: []string{"dockerd --storage-opt=dm.basesize=50G"}},
	})
}

func TestCheck2_12(t *testing.T) {
	s1Run(t, "2.12", s2Good, []s1Case{
		{name: "plugin", status: Pass, ev: []string{"Info.Plugins.Authorization: authz-broker"}},
		{name: "none", edit: func(s *Snapshot) { s.Info.Plugins.Authorization = nil }, status: Fail,
			ev: []string{"Info.Plugins.Authorization is empty: no authorization plugin is enabled"}},
		{name: "no engine", edit: func(s *Snapshot) { s.Info = nil }, status: Pass,
			ev: []string{`/etc/docker/daemon.json: "authorization-plugins" includes "authz-broker"`}},
	})
}

func TestCheck2_13(t *testing.T) {
	s1Run(t, "2.13", s2Good, []s1Case{
		{name: "syslog", status: Pass, ev: []string{"Info.LoggingDriver=syslog"}},
		{name: "json-file", edit: func(s *Snapshot) { s.Info.LoggingDriver = "json-file" }, status: Fail,
			ev: []string{"Info.LoggingDriver=json-file (logs stay in files on this host)"}},
		{name: "local", edit: func(s *Snapshot) { s.Info.LoggingDriver = "local" }, status: Fail},
	})
}

func TestCheck2_14(t *testing.T) {
	s1Run(t, "2.14", s2Good, []s1Case{
		{name: "on", status: Pass, ev: []string{`/etc/docker/daemon.json: "no-new-privileges": true`}},
		{name: "flag", edit: func(s *Snapshot) {
			s2Unset(s, "no-new-privileges")
			s.Daemon.Args = append(s.Daemon.Args, "--no-new-privileges")
			s.Daemon.Options["no-new-privileges"] = []string{"true"}
		}, status: Pass, ev: []string{"dockerd --no-new-privileges=true"}},
		{name: "unset", edit: func(s *Snapshot) { s2Unset(s, "no-new-privileges") }, status: Fail,
			ev: []string{`/etc/docker/daemon.json: "no-new-privileges" not set, nor --no-new-privileges on the dockerd command line (default false)`}},
	})
}

func TestCheck2_15(t *testing.T) {
	s1Run(t, "2.15", s2Good, []s1Case{
		{name: "on", status: Pass, ev: []string{"Info.LiveRestoreEnabled=true"}},
		{name: "off", edit: func(s *Snapshot) { s.Info.LiveRestoreEnabled = false }, status: Fail, ev: []string{"Info.LiveRestoreEnabled=false"}},
		{name: "swarm", edit: func(s *Snapshot) {
			s.Info.LiveRestoreEnabled = false
			s.Info.Swarm.LocalNodeState = swarm.LocalNodeStateActive
		}, status: NotApplicable},
	})
}

func TestCheck2_16(t *testing.T) {
	s1Run(t, "2.16", s2Good, []s1Case{
		{name: "off", status: Pass, ev: []string{`/etc/docker/daemon.json: "userland-proxy": false`}},
		{name: "unset", edit: func(s *Snapshot) { s2Unset(s, "userland-proxy") }, status: Fail,
			ev: []string{`/etc/docker/daemon.json: "userland-proxy" not set, nor --userland-proxy on the dockerd command line (default true)`}},
		{name: "no daemon.json", edit: func(s *Snapshot) {
			s.Daemon.File, s.Daemon.JSON = "", nil
			delete(s.Daemon.Options, "userland-proxy")
		}, status: Fail, ev: []string{`"userland-proxy" not set: no daemon.json and no --userland-proxy on the dockerd command line (default true)`}},
	})
}

func TestCheck2_17(t *testing.T) {
	s1Run(t, "2.17", s2Good, []s1Case{
		{name: "builtin", status: Info, ev: []string{
			"Info.SecurityOptions: name=seccomp,profile=builtin",
			`/etc/docker/daemon.json: "seccomp-profile" not set, nor --seccomp-profile on the dockerd command line (default Docker's built-in profile)`,
		}},
		{name: "custom", edit: func(s *Snapshot) { s2JSON(s, "seccomp-profile", "/etc/docker/seccomp.json") }, status: Info,
			has: `"seccomp-profile": "/etc/docker/seccomp.json"`},
	})
}

func TestCheck2_18(t *testing.T) {
	s1Run(t, "2.18", s2Good, []s1Case{
		{name: "stable", status: Pass, ev: []string{"Info.ExperimentalBuild=false"}},
		{name: "experimental", edit: func(s *Snapshot) { s.Info.ExperimentalBuild = true }, status: Fail, ev: []string{"Info.ExperimentalBuild=true"}},
	})
}
