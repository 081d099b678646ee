package dockerbench

import (
	"strings"
	"testing"
)

// The collector's parsers read files a hostile container or user may
// control on the host (daemon.json, /proc cmdlines, mountinfo, group files,
// audit rules): none may panic or loop on any input.

func FuzzParseDockerdArgs(f *testing.F) {
	for _, s := range []string{
		"-H fd:// --containerd=/run/containerd/containerd.sock",
		"--icc=false --insecure-registry 10.0.0.1:5000 --tlsverify --log-level debug",
		"--default-ulimit nofile=1024:2048 --storage-opt dm.basesize=20G -H tcp://0.0.0.0:2376",
		"--", "=", "--=", "--a=b=c -x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts := collectParseDockerdArgs(strings.Split(s, " "))
		for k := range opts {
			if strings.HasPrefix(k, "-") {
				t.Errorf("option key %q keeps its dashes", k)
			}
		}
	})
}

func FuzzDecodeDaemonJSON(f *testing.F) {
	for _, s := range []string{`{"icc": false, "insecure-registries": ["a"], "log-opts": {"max-size": "10m"}}`, `{`, `[]`, `null`, `{"a": {"b": [1, 2, {"c": null}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := collectDecodeDaemonJSON(b)
		if err == nil {
			for _, v := range m {
				collectJSONValues(v)
			}
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("36 35 98:0 /mnt1 /var/lib/docker rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"))
	f.Add([]byte("1 2 3 4\n\n- - -\n36 35 98:0 / /a\\040b rw - ext4 /dev/x rw\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range collectParseMountinfo(b) {
			_ = m.MountPoint
		}
	})
}

func FuzzParseIDFile(f *testing.F) {
	f.Add([]byte("root:x:0:\ndocker:x:999:alice,bob\n# comment\n"))
	f.Add([]byte(":::\n::\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		collectParseIDFile(b, func(fields []string) {
			if len(fields) < 3 {
				t.Errorf("callback got %d fields", len(fields))
			}
		})
	})
}

func FuzzAuditRule(f *testing.F) {
	for _, s := range []string{
		"-w /usr/bin/dockerd -k docker",
		"-a always,exit -F path=/usr/bin/runc -F perm=war -k docker",
		"-a exit,always -F dir=/etc/docker -k docker",
		"-w", "-a never,exit -F path=/x", "-W /usr/bin/dockerd",
	} {
		f.Add(s, "/usr/bin/dockerd")
	}
	f.Fuzz(func(t *testing.T, rule, p string) {
		hostAuditRuleWatches(rule)
		hostAuditCovering([]string{rule}, p)
	})
}
