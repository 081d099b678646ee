package k8sbench

import (
	"reflect"
	"testing"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want Flags
	}{
		{"equals", []string{"--profiling=false", "--authorization-mode=Node,RBAC"}, Flags{"profiling": {"false"}, "authorization-mode": {"Node,RBAC"}}},
		{"space separated", []string{"--kubeconfig", "/etc/kubernetes/kubelet.conf", "--v", "2"}, Flags{"kubeconfig": {"/etc/kubernetes/kubelet.conf"}, "v": {"2"}}},
		{"bare bool", []string{"--allow-privileged", "--anonymous-auth=false"}, Flags{"allow-privileged": {"true"}, "anonymous-auth": {"false"}}},
		{"bare bool last", []string{"--x=1", "--insecure"}, Flags{"x": {"1"}, "insecure": {"true"}}},
		{"every occurrence kept", []string{"--profiling=false", "--profiling=true"}, Flags{"profiling": {"false", "true"}}},
		{"single dash", []string{"-v=4"}, Flags{"v": {"4"}}},
		{"empty value", []string{"--audit-log-path="}, Flags{"audit-log-path": {""}}},
		{"positional ignored", []string{"server", "--flag=1", "--"}, Flags{"flag": {"1"}}},
		{"stop at --", []string{"--a=1", "--", "--b=2"}, Flags{"a": {"1"}}},
		{"value with equals", []string{"--feature-gates=A=true,B=false"}, Flags{"feature-gates": {"A=true,B=false"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseFlags(tc.args); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFlagOccurrences: a scalar flag's last occurrence wins; a list flag
// appends, as pflag's slice flags do (a test cluster that adds
// --authorization-mode=RBAC to Node,RBAC gets "Node,RBAC,RBAC").
func TestFlagOccurrences(t *testing.T) {
	f := ParseFlags([]string{"--profiling=false", "--enable-admission-plugins=NodeRestriction", "--profiling=true", "--enable-admission-plugins=AlwaysAdmit,EventRateLimit"})
	if v, _ := f.Get("profiling"); v != "true" {
		t.Errorf("profiling %q", v)
	}
	if l, _ := f.List("--enable-admission-plugins"); !reflect.DeepEqual(l, []string{"NodeRestriction", "AlwaysAdmit", "EventRateLimit"}) {
		t.Errorf("plugins %q", l)
	}
	if s := f.Shown("profiling"); s != "--profiling=false --profiling=true" {
		t.Errorf("shown %q", s)
	}
	if on, found := featureGate([]string{"A=false", "A=true"}, "A"); !on || !found {
		t.Error("a later gate setting wins")
	}
}

func TestParseCmdline(t *testing.T) {
	got := ParseCmdline([]byte("kube-apiserver\x00--profiling=false\x00--x\x00y\x00"))
	want := []string{"kube-apiserver", "--profiling=false", "--x", "y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	if ParseCmdline([]byte("\x00")) != nil || ParseCmdline(nil) != nil {
		t.Error("empty cmdline should give nil")
	}
}

func TestComponentOf(t *testing.T) {
	for argv0, want := range map[string]Component{
		"/usr/local/bin/kube-apiserver": APIServer, "kube-controller-manager": ControllerManager, "kube-scheduler": Scheduler,
		"/usr/bin/etcd": Etcd, "/usr/bin/kubelet": Kubelet, "kube-proxy": Proxy, "etcdctl": "", "bash": "",
	} {
		got, ok := componentOf([]string{argv0, "--x=1"})
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q %v", argv0, got, ok)
		}
	}
	if got, _ := componentOf([]string{"/hyperkube", "kubelet"}); got != Kubelet {
		t.Errorf("hyperkube kubelet: %q", got)
	}
}

func TestParseManifestArgs(t *testing.T) {
	m := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command:\n    - kube-apiserver\n    - --profiling=false\n    args: [\"--anonymous-auth=false\"]\n"
	got, err := ParseManifestArgs([]byte(m))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kube-apiserver", "--profiling=false", "--anonymous-auth=false"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	for _, bad := range []string{"spec: [", "kind: Pod\n", "spec:\n  containers: []\n"} {
		if _, err := ParseManifestArgs([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestEffectiveKubelet: flag over config file over default, and the
// default depends on whether a config file is in use.
func TestEffectiveKubelet(t *testing.T) {
	cfg, err := ParseKubeletConfig([]byte(`
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
authorization: {mode: Webhook}
readOnlyPort: 10255
featureGates: {RotateKubeletServerCertificate: true, B: false}
tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]
podPidsLimit: 4096
`))
	if err != nil {
		t.Fatal(err)
	}
	flags := ParseFlags([]string{"--anonymous-auth=false", "--config=/var/lib/kubelet/config.yaml"})
	for _, tc := range []struct {
		name       string
		flags      Flags
		cfg        KubeletConfig
		key, value string
		origin     string
	}{
		{"flag beats config", flags, cfg, "anonymous-auth", "false", "flag --anonymous-auth"},
		{"config beats default", flags, cfg, "authorization-mode", "Webhook", "config /var/lib/kubelet/config.yaml field authorization.mode"},
		{"config int", flags, cfg, "read-only-port", "10255", "config /var/lib/kubelet/config.yaml field readOnlyPort"},
		{"config list", flags, cfg, "tls-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA", "config /var/lib/kubelet/config.yaml field tlsCipherSuites"},
		{"config map", flags, cfg, "feature-gates", "B=false,RotateKubeletServerCertificate=true", "config /var/lib/kubelet/config.yaml field featureGates"},
		{"config default", flags, cfg, "streaming-connection-idle-timeout", "4h0m0s", "KubeletConfiguration default"},
		{"flag default without config", Flags{}, nil, "anonymous-auth", "true", "kubelet default without a config file"},
		{"flag default authz", Flags{}, nil, "authorization-mode", "AlwaysAllow", "kubelet default without a config file"},
		{"config default authz", Flags{}, KubeletConfig{}, "authorization-mode", "Webhook", "KubeletConfiguration default"},
		{"config default read-only port", Flags{}, KubeletConfig{}, "read-only-port", "0", "KubeletConfiguration default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := effectiveKubelet(tc.flags, tc.cfg, "/var/lib/kubelet/config.yaml")[tc.key]
			if got.Value != tc.value || got.Origin != tc.origin {
				t.Errorf("got %q from %q, want %q from %q", got.Value, got.Origin, tc.value, tc.origin)
			}
		})
	}
	if _, err := ParseKubeletConfig([]byte("readOnlyPort: [")); err == nil {
		t.Error("bad YAML accepted")
	}
}

func TestReleaseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.29.3-eks-adc7111": "v1.29.3", "v1.30.2+k3s1": "v1.30.2", "1.27.1": "v1.27.1", "v1.31.0-rc.1": "v1.31.0-rc.1", "garbage": "", "": "",
	} {
		if got := releaseVersion(in); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add([]byte("kube-apiserver\x00--profiling=false\x00--x\x00y\x00"))
	f.Add([]byte("kubelet\x00--config\x00/var/lib/kubelet/config.yaml\x00--\x00--z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		argv := ParseCmdline(b)
		if len(argv) == 0 {
			return
		}
		fl := ParseFlags(argv[1:])
		for k := range fl {
			if k == "" || k[0] == '-' {
				t.Fatalf("bad flag name %q", k)
			}
		}
		componentOf(argv)
	})
}

func FuzzParseKubeletConfig(f *testing.F) {
	f.Add([]byte("authentication:\n  anonymous: {enabled: false}\nreadOnlyPort: 0\nfeatureGates: {A: true}\n"))
	f.Add([]byte(`{"authorization":{"mode":"Webhook"},"tlsCipherSuites":["X"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseKubeletConfig(b)
		if err != nil {
			return
		}
		// Every setting must be readable whatever types the file holds.
		effectiveKubelet(Flags{}, cfg, "/c")
	})
}

func FuzzParseManifestArgs(f *testing.F) {
	f.Add([]byte("spec:\n  containers:\n  - command: [kube-apiserver, --profiling=false]\n    args: [--x=1]\n"))
	f.Add([]byte("spec: {containers: [{}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		args, err := ParseManifestArgs(b)
		if err == nil && len(args) > 0 {
			ParseFlags(args[1:])
		}
	})
}
