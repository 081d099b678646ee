package k8sbench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCollectProcs: hyperkube subcommands, the lowest pid when a component
// runs twice, etcd's ETCD_* environment (a flag wins over it), and
// processes that are not Kubernetes components left alone.
func TestCollectProcs(t *testing.T) {
	root := t.TempDir()
	proc := filepath.Join(root, "proc")
	write := func(pid, file, data string) {
		t.Helper()
		p := filepath.Join(proc, pid, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("50", "cmdline", "/hyperkube\x00kubelet\x00--read-only-port=0\x00")
	write("20", "cmdline", "etcd\x00--cert-file=/flag.crt\x00")
	write("20", "environ", "ETCD_CERT_FILE=/env.crt\x00ETCD_CLIENT_CERT_AUTH=true\x00PATH=/bin\x00")
	write("900", "cmdline", "kube-apiserver\x00--profiling=true\x00")
	write("300", "cmdline", "kube-apiserver\x00--profiling=false\x00")
	write("7", "cmdline", "bash\x00-c\x00kube-apiserver --profiling=true\x00")
	write("self", "cmdline", "x")
	n, err := CollectNode(context.Background(), NodeOptions{Root: root, Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if p := n.Procs[Kubelet]; p == nil || p.PID != 50 || n.Kubelet["read-only-port"].Value != "0" {
		t.Errorf("hyperkube kubelet: %+v", p)
	}
	if p := n.Procs[APIServer]; p == nil || p.PID != 300 {
		t.Errorf("kube-apiserver: want pid 300, got %+v", p)
	}
	e := n.Procs[Etcd]
	if e == nil {
		t.Fatal("etcd not found")
	}
	if v, _ := e.Flags.Get("cert-file"); v != "/flag.crt" {
		t.Errorf("flag should beat ETCD_CERT_FILE: %q", v)
	}
	if v, _ := e.Flags.Get("client-cert-auth"); v != "true" {
		t.Errorf("ETCD_CLIENT_CERT_AUTH: %q", v)
	}
	if len(n.Procs) != 3 || n.ProcError != "" {
		t.Errorf("procs %v, error %q", n.Procs, n.ProcError)
	}
}
