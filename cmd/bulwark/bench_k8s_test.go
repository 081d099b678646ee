package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchK8sUsage: bad flags are usage errors (exit 2) before anything
// is read.
func TestBenchK8sUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--format", "yaml"},
		{"--profile", "openshift"},
		{"--targets", "master,workers"},
		{"--allowed-ports", "80,http"},
		{"--kubeconfig", "/nonexistent/kubeconfig"},
	} {
		if out, code := run(t, append([]string{"bench", "k8s"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, out)
		}
	}
}

// TestBenchK8sNodeOnly: node checks over a crafted root with a kube-apiserver
// manifest and no API: the node's verdicts, the cluster not assessed, and
// --exit-code on a failure.
func TestBenchK8sNodeOnly(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "etc", "kubernetes", "manifests", "kube-apiserver.yaml"),
		"spec:\n  containers:\n  - name: a\n    command: [kube-apiserver, --profiling=true, --anonymous-auth=false]\n")
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, "bench", "k8s", "--node", "--root", root, "--node-name", "cp-1", "--checks", "1.2.1,1.2.15", "-f", "json", "--exit-code", "5")
	if code != 5 {
		t.Errorf("exit %d, want 5 (1.2.15 fails)", code)
	}
	var rep struct {
		Resource struct{ Kind, ID, Name string }
		Targets  []string
		Results  []struct {
			Resource    struct{ Kind, ID, Name string }
			Assessments []struct{ Rule, Status string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Resource.Kind != "cluster" || rep.Resource.ID != "" || strings.Join(rep.Targets, ",") != "master,etcd,controlplane,node" {
		t.Errorf("header %+v %v", rep.Resource, rep.Targets)
	}
	got := map[string]string{}
	for _, rr := range rep.Results {
		if rr.Resource.Kind == "node" && rr.Resource.Name != "cp-1" {
			t.Errorf("node resource %+v", rr.Resource)
		}
		for _, a := range rr.Assessments {
			got[a.Rule] = a.Status
		}
	}
	if got["CIS-K8S-1.2.1"] != "healthy" || got["CIS-K8S-1.2.15"] != "unhealthy" || len(got) != 2 {
		t.Errorf("assessments %v", got)
	}
}
