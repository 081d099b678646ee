package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const privilegedPod = `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: team-a
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
`

// runK8s runs the k8s commands wired as the lead will wire them.
func runK8s(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	g := &globalFlags{}
	root := &cobra.Command{Use: "bulwark", SilenceUsage: true, SilenceErrors: true}
	scan := &cobra.Command{Use: "scan"}
	sk, adm := newK8sCmds(g)
	scan.AddCommand(sk)
	root.AddCommand(scan, adm, newAuditCmd(g))
	wrapArgErrors(root) // as newRootCmd does
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writeManifest(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tunedPod sets a sysctl safe from Pod Security Standards v1.32 on.
const tunedPod = `apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: shop}
spec:
  securityContext: {sysctls: [{name: net.ipv4.tcp_rmem, value: "4096 87380 6291456"}]}
  containers: [{name: app, image: app:1}]
`

func TestScanK8s(t *testing.T) {
	pod := writeManifest(t, "pod.yaml", privilegedPod)
	tuned := writeManifest(t, "tuned.yaml", tunedPod)
	broken := writeManifest(t, "broken.yaml", privilegedPod+"---\nkind: [\n")
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantOut  []string
		wantNot  []string
		wantCode int // 0: no error; -1: any non-exit error; -2: usage error
	}{
		{name: "table", args: []string{"scan", "k8s", pod}, wantOut: []string{"BW-PSS-PRIVILEGED", "Pod team-a/debug", pod + ":doc1"}},
		{name: "gate", args: []string{"scan", "k8s", "--exit-code", "3", pod}, wantOut: []string{"BW-PSS-PRIVILEGED"}, wantCode: 3},
		{name: "stdin json", stdin: privilegedPod, args: []string{"scan", "k8s", "-f", "json", "-"}, wantOut: []string{`"policy_id": "BW-PSS-PRIVILEGED"`, `"source": "-:doc1"`}},
		{name: "ids select", args: []string{"scan", "k8s", "--policies", "BW-K8S-IMAGE-TAG", "-f", "json", pod}, wantNot: []string{`"policy_id": "BW-PSS-PRIVILEGED"`}},
		{name: "set select", args: []string{"scan", "k8s", "--policies", "pss-baseline", pod}, wantOut: []string{"BW-PSS-PRIVILEGED"}, wantNot: []string{"BW-K8S-RESOURCE-LIMITS"}},
		{name: "unknown id", args: []string{"scan", "k8s", "--policies", "NOPE", pod}, wantCode: -2},
		{name: "bad format", args: []string{"scan", "k8s", "-f", "xml", pod}, wantCode: -2},
		{name: "pss version", args: []string{"scan", "k8s", "--pss-version", "v1.31", "-f", "json", tuned}, wantOut: []string{`"pss_version": "v1.31"`, `"policy_id": "BW-PSS-SYSCTLS"`}},
		{name: "pss latest", args: []string{"scan", "k8s", "-f", "json", tuned}, wantOut: []string{`"pss_version": "v1.3`}, wantNot: []string{`"policy_id": "BW-PSS-SYSCTLS"`}},
		{name: "compare", args: []string{"scan", "k8s", "--pss-version", "v1.30", "--compare", "latest", tuned}, wantOut: []string{"- at v1.3", "BW-PSS-SYSCTLS", "1 no longer violate"}},
		{name: "compare json", args: []string{"scan", "k8s", "--pss-version", "v1.30", "--compare", "v1.32", "-f", "json", tuned}, wantOut: []string{`"to": "v1.32"`, `"removed": [`}},
		{name: "compare sarif", args: []string{"scan", "k8s", "--compare", "v1.30", "-f", "sarif", tuned}, wantCode: -2},
		{name: "bad pss version", args: []string{"scan", "k8s", "--pss-version", "1.30", tuned}, wantCode: -2},
		{name: "broken document still reports the rest", args: []string{"scan", "k8s", broken}, wantOut: []string{"BW-PSS-PRIVILEGED"}, wantCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runK8s(t, tt.stdin, tt.args...)
			t.Logf("output:\n%s", out)
			var ee *exitError
			var ue *usageError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("error: %v\n%s", err, out)
			case tt.wantCode > 0 && (!errors.As(err, &ee) || ee.code != tt.wantCode):
				t.Fatalf("err = %v, want exit code %d", err, tt.wantCode)
			case tt.wantCode == -1 && (err == nil || errors.As(err, &ee) || errors.As(err, &ue)):
				t.Fatalf("err = %v, want a plain error", err)
			case tt.wantCode == -2 && !errors.As(err, &ue):
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestScanK8sSARIF(t *testing.T) {
	pod := writeManifest(t, "pod.yaml", privilegedPod)
	out, err := runK8s(t, "", "scan", "k8s", "-f", "sarif", pod)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	run := log.Runs[0]
	found := false
	for _, r := range run.Results {
		if r.RuleID == "BW-PSS-PRIVILEGED" {
			found = true
			if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
				t.Errorf("ruleIndex %d points at %s", r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
			}
			if r.Locations[0].PhysicalLocation.ArtifactLocation.URI != pod || r.Level != "error" {
				t.Errorf("result = %+v", r)
			}
		}
	}
	if log.Version != "2.1.0" || !found {
		t.Errorf("version %s, privileged found %v", log.Version, found)
	}
}

func TestAdmissionManifestsCmd(t *testing.T) {
	ca := writeManifest(t, "ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	out, err := runK8s(t, "", "admission", "manifests", "--namespace", "sec", "--failure-policy", "Ignore", "--image", "r.example/b@sha256:00", "--ca-bundle", ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"failurePolicy: Ignore", "namespace: sec", "image: r.example/b@sha256:00", "caBundle: LS0t"} {
		if !strings.Contains(out, w) {
			t.Errorf("manifests lack %q", w)
		}
	}
	var ue *usageError
	if _, err := runK8s(t, "", "admission", "manifests", "--failure-policy", "Open"); !errors.As(err, &ue) {
		t.Errorf("--failure-policy Open: err = %v, want a usage error", err)
	}
	// Wired to the server: the URL, the token from a Secret, the CA.
	out, err = runK8s(t, "", "admission", "manifests", "--server", "https://bulwark.example:8443", "--token-secret", "hook-token", "--server-ca-configmap", "bulwark-ca")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"- --server=https://bulwark.example:8443", "- --token-file=/etc/bulwark/server-token/token", "secretName: hook-token",
		"- --server-ca=/etc/bulwark/server-ca/ca.crt", "name: bulwark-ca", "- --cache-dir=/var/cache/bulwark"} {
		if !strings.Contains(out, w) {
			t.Errorf("manifests with --server lack %q", w)
		}
	}
	for _, bad := range [][]string{{"--server", "http://bulwark.example"}, {"--server", "https://u:p@bulwark.example"}, {"--server", "https://b.example", "--token-secret", "Bad_Name"},
		{"--server", "https://b.example/x\n- --evil"}} {
		if _, err := runK8s(t, "", append([]string{"admission", "manifests"}, bad...)...); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", bad, err)
		}
	}
	if _, err := runK8s(t, "", "admission", "serve"); !errors.As(err, &ue) {
		t.Errorf("serve without --cert: err = %v, want a usage error", err)
	}
}
