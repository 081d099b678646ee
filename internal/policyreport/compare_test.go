package policyreport

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/policy"
)

// upgradePods change verdicts between v1.30 and latest: a sysctl safe from
// 1.32, an SELinux type allowed from 1.31, a probe host forbidden from 1.34
// and an unmasked /proc allowed in a user namespace at baseline from 1.35.
const upgradePods = `
apiVersion: v1
kind: Pod
metadata: {name: tuned, namespace: shop}
spec:
  securityContext: {sysctls: [{name: net.ipv4.tcp_rmem, value: "4096 87380 6291456"}]}
  containers: [{name: app, image: app:1, securityContext: {seLinuxOptions: {type: container_engine_t}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: prober, namespace: shop}
spec:
  containers: [{name: app, image: app:1, livenessProbe: {httpGet: {host: 10.0.0.1, port: 80}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: userns, namespace: shop}
spec:
  hostUsers: false
  containers: [{name: app, image: app:1, securityContext: {procMount: Unmasked}}]
---
apiVersion: v1
kind: Pod
metadata: {name: same, namespace: shop}
spec:
  hostNetwork: true
  containers: [{name: app, image: app:1}]
`

func testComparison(t *testing.T) *Comparison {
	t.Helper()
	ctx := context.Background()
	eng, err := policy.New(ctx, &policy.Config{Sets: []string{policy.SetPSSBaseline}})
	if err != nil {
		t.Fatal(err)
	}
	var pols []policy.Policy
	for _, p := range eng.Policies() {
		if p.Mode != policy.ModeDisabled {
			pols = append(pols, p)
		}
	}
	c := NewComparison("1.2.3", time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), 30, policy.PSSLatest, pols)
	dec := yaml.NewDecoder(bytes.NewReader([]byte(upgradePods)))
	for i := 1; ; i++ {
		var obj map[string]any
		if dec.Decode(&obj) != nil {
			break
		}
		from, err := eng.EvaluateAt(ctx, obj, 30)
		if err != nil {
			t.Fatal(err)
		}
		to, err := eng.EvaluateAt(ctx, obj, policy.PSSLatest)
		if err != nil {
			t.Fatal(err)
		}
		from.Source = "pods.yaml:doc" + string(rune('0'+i))
		c.Add(from, to)
	}
	return c
}

func TestComparisonGolden(t *testing.T) {
	c := testComparison(t)
	if c.Summary != (CompareSummary{Objects: 4, Changed: 3, Added: 1, Removed: 2, Violated: 2}) {
		t.Errorf("summary %+v", c.Summary)
	}
	for _, format := range CompareFormats() {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteComparison(&buf, c, format); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "compare-"+format+".golden"), format, buf.Bytes())
			if format == "json" && !json.Valid(buf.Bytes()) {
				t.Error("not JSON")
			}
		})
	}
	if err := WriteComparison(&bytes.Buffer{}, c, "sarif"); err == nil {
		t.Error("sarif comparison: no error")
	}
}
